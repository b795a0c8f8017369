//! Removing a cgroup this tool made: kill what is in it, remove its children depth first,
//! then rmdir. Refuses any path that is not under a `learn-containers/` directory.

use std::fs;
use std::io;
use std::path::{Component, Path};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::error::{CgroupError, io_err};
use super::files::{read_pids, write_file};
use super::group::Cgroup;
use super::mode::{FsKind, OURS, Version, statfs_kind};

/// How long [`Cgroup::remove`] keeps killing members and retrying rmdir before giving up.
pub(super) const REMOVE_DEADLINE: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(10);

impl Cgroup {
    /// Kills every process in the cgroup and its children, removes the children depth
    /// first, then the cgroup itself. Refuses any path without a `learn-containers`
    /// component, or with `..`. A cgroup that is already gone is fine.
    ///
    /// Processes are only signalled when the directory is on a cgroup filesystem: a pid
    /// listed in some other directory's `cgroup.procs` file is nothing this tool started.
    pub fn remove(&self) -> Result<(), CgroupError> {
        check_removable(&self.path)?;
        match fs::symlink_metadata(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("inspect", &self.path, e)),
            Ok(m) if !m.is_dir() => {
                return Err(CgroupError::Refused {
                    path: self.path.clone(),
                    reason: "it is not a directory (a symlink?)",
                });
            }
            Ok(_) => {}
        }
        // A frozen v1 task keeps a SIGKILL pending until it is thawed.
        self.thaw_for_removal();
        self.kill_members()?;
        let children = match fs::read_dir(&self.path) {
            Ok(c) => c,
            // Removed meanwhile by another thread of ours (the main thread's guard and an
            // interrupt's undo can race): what was asked is done.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("list", &self.path, e)),
        };
        for child in children {
            let child = child.map_err(|e| io_err("list", &self.path, e))?;
            // file_type() does not follow symlinks, so a link never leads out of the tree.
            if child.file_type().is_ok_and(|t| t.is_dir()) {
                Cgroup::open(&child.path(), self.version).remove()?;
            }
        }
        // A killed process can keep its cgroup busy for a moment while it exits.
        let deadline = Instant::now() + REMOVE_DEADLINE;
        loop {
            match fs::remove_dir(&self.path) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                    std::thread::sleep(POLL);
                }
                Err(e) => return Err(io_err("remove", &self.path, e)),
            }
        }
    }

    fn kill_members(&self) -> Result<(), CgroupError> {
        let procs = self.file("cgroup.procs");
        let on_cgroupfs = matches!(
            statfs_kind(&self.path),
            Some(FsKind::Cgroup1 | FsKind::Cgroup2)
        );
        if !on_cgroupfs {
            let listed = read_pids(&procs).unwrap_or_default();
            return if listed.is_empty() {
                Ok(())
            } else {
                Err(CgroupError::Refused {
                    path: self.path.clone(),
                    reason: "it is not on a cgroup filesystem, so the processes its \
                             cgroup.procs lists are not signalled",
                })
            };
        }
        let kill_file = self.file("cgroup.kill");
        if self.version == Version::V2 && kill_file.exists() {
            // cgroup.kill (Linux 5.14+) kills the whole subtree at once, with no race
            // against forks; the loop below then only waits for the members to go.
            write_file(&kill_file, "1")?;
        }
        empty_by_sigkill(
            &self.path,
            || read_pids(&procs),
            |pid| kill(Pid::from_raw(pid), Signal::SIGKILL),
            REMOVE_DEADLINE,
        )
    }
}

/// SIGKILLs every pid `read_procs` lists, until it lists none or `limit` runs out.
/// Never signals pid 0 (a process outside our pid namespace: kill(0) would hit our own
/// process group) or this process.
fn empty_by_sigkill(
    path: &Path,
    mut read_procs: impl FnMut() -> io::Result<Vec<i32>>,
    mut signal: impl FnMut(i32) -> nix::Result<()>,
    limit: Duration,
) -> Result<(), CgroupError> {
    let me = std::process::id() as i32;
    let deadline = Instant::now() + limit;
    loop {
        let pids = match read_procs() {
            Ok(p) => p,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("read", &path.join("cgroup.procs"), e)),
        };
        if pids.is_empty() {
            return Ok(());
        }
        if pids.contains(&me) {
            return Err(CgroupError::Refused {
                path: path.to_path_buf(),
                reason: "this process is itself a member and will not kill itself",
            });
        }
        if Instant::now() >= deadline {
            return Err(CgroupError::NotEmpty {
                path: path.to_path_buf(),
                pids,
                after: limit,
            });
        }
        for &pid in pids.iter().filter(|&&p| p > 0) {
            match signal(pid) {
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(errno) => return Err(CgroupError::Signal { pid, errno }),
            }
        }
        std::thread::sleep(POLL);
    }
}

fn check_removable(path: &Path) -> Result<(), CgroupError> {
    let refuse = |reason| {
        Err(CgroupError::Refused {
            path: path.to_path_buf(),
            reason,
        })
    };
    if path.components().any(|c| c == Component::ParentDir) {
        return refuse("it contains `..`");
    }
    if !path.components().any(|c| c.as_os_str() == OURS) {
        return refuse(
            "it is not under a learn-containers/ directory, so this tool did not create it",
        );
    }
    Ok(())
}

/// After removing `cgroup`, removes its parent too when that is a `learn-containers/`
/// directory left empty. rmdir itself is the test: the kernel refuses (EBUSY) while
/// another run still has cgroups in it, and nothing is ever killed for it.
pub fn remove_base_if_empty(cgroup: &Path) {
    if let Some(base) = cgroup.parent()
        && base.file_name().is_some_and(|n| n == OURS)
        && !cgroup.components().any(|c| c == Component::ParentDir)
    {
        let _ = fs::remove_dir(base);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn sigkill_loop_kills_until_empty_and_skips_pid_zero() {
        let rounds = RefCell::new(vec![vec![], vec![42, 0], vec![42, 0, 43]]);
        let killed = RefCell::new(Vec::new());
        empty_by_sigkill(
            Path::new("/x/learn-containers/a"),
            || Ok(rounds.borrow_mut().pop().unwrap_or_default()),
            |pid| {
                killed.borrow_mut().push(pid);
                Ok(())
            },
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(*killed.borrow(), vec![42, 43, 42]);
    }

    #[test]
    fn sigkill_loop_is_bounded() {
        let start = Instant::now();
        let err = empty_by_sigkill(
            Path::new("/x/learn-containers/a"),
            || Ok(vec![7]),
            |_| Err(Errno::ESRCH),
            Duration::from_millis(100),
        )
        .unwrap_err();
        assert!(matches!(err, CgroupError::NotEmpty { ref pids, .. } if pids == &[7]));
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn sigkill_loop_never_kills_itself() {
        let me = std::process::id() as i32;
        let err = empty_by_sigkill(
            Path::new("/x/learn-containers/a"),
            || Ok(vec![me]),
            |pid| panic!("signalled {pid}"),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(matches!(err, CgroupError::Refused { .. }));
    }

    #[test]
    fn sigkill_loop_reports_permission_errors() {
        let err = empty_by_sigkill(
            Path::new("/x/learn-containers/a"),
            || Ok(vec![9]),
            |_| Err(Errno::EPERM),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(matches!(err, CgroupError::Signal { pid: 9, .. }));
    }
}
