//! What `learn-containers clean` finds and removes: the leftovers of runs that were
//! killed before they could undo what they made (see [`super::undo`] for runs that end
//! normally or by a signal).
//!
//! Nothing is ever touched unless it carries the `learn-containers` name or lives under a
//! `learn-containers-*` scratch dir whose owner is gone.

use std::path::{Path, PathBuf};

use crate::error::{Context, Result};
use nix::mount::{MntFlags, umount2};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::cgroup::{Cgroup, CgroupFs, Version};
use super::{mountinfo, procfs, scratch};

/// Something an interrupted run left on the host.
#[derive(Debug, Clone)]
pub enum Leftover {
    Process { pid: i32, why: String },
    Mount(PathBuf),
    Cgroup(PathBuf, Version),
    TempDir(PathBuf),
}

impl std::fmt::Display for Leftover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Leftover::Process { pid, why } => write!(f, "process {pid} ({why})"),
            Leftover::Mount(p) => write!(f, "mount {}", p.display()),
            Leftover::Cgroup(p, _) => write!(f, "cgroup {}", p.display()),
            Leftover::TempDir(p) => write!(f, "temp dir {}", p.display()),
        }
    }
}

/// Scratch dirs whose maker is gone, in every temp dir this tool may have used.
fn stale_dirs() -> Vec<PathBuf> {
    let mut bases = vec![
        std::env::temp_dir(),
        PathBuf::from("/tmp"),
        PathBuf::from("/var/tmp"),
    ];
    bases.dedup();
    let me = nix::unistd::geteuid().as_raw();
    let mut out = Vec::new();
    for base in bases {
        let Ok(rd) = std::fs::read_dir(&base) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            if !name.to_string_lossy().starts_with(scratch::PREFIX) {
                continue;
            }
            let Ok(md) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            use std::os::unix::fs::MetadataExt;
            // Only real dirs we own: a planted symlink or someone else's dir is not ours.
            if !md.is_dir() || md.uid() != me {
                continue;
            }
            let p = e.path();
            if scratch::abandoned(&p) && !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

fn under_any(p: &Path, dirs: &[PathBuf]) -> bool {
    dirs.iter().any(|d| p.starts_with(d))
}

/// Finds everything interrupted runs left behind, in the order it must be removed.
pub fn find_leftovers() -> Vec<Leftover> {
    let dirs = stale_dirs();
    let mut out = Vec::new();
    let me = std::process::id() as i32;
    // Processes whose root, cwd or executable lies in a stale scratch dir.
    for pid in procfs::pids() {
        if pid == me {
            continue;
        }
        let root = procfs::root(pid).ok();
        let cwd = procfs::cwd(pid).ok();
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        let hit = [("root", root), ("cwd", cwd), ("exe", exe)]
            .into_iter()
            .find_map(|(what, p)| p.filter(|p| under_any(p, &dirs)).map(|p| (what, p)));
        if let Some((what, p)) = hit {
            let comm = procfs::comm(pid).unwrap_or_default();
            out.push(Leftover::Process {
                pid,
                why: format!("{comm}, {what} in {}", p.display()),
            });
        }
    }
    // Mounts in this mount namespace named for the project or inside a stale dir.
    if let Ok(mounts) = mountinfo::read(None) {
        let mut ms: Vec<PathBuf> = mounts
            .iter()
            .filter(|m| {
                m.source == "learn-containers"
                    || under_any(&m.mount_point, &dirs)
                    || m.mount_point
                        .to_string_lossy()
                        .contains("/learn-containers-")
            })
            .map(|m| m.mount_point.clone())
            .collect();
        ms.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        ms.dedup();
        out.extend(ms.into_iter().map(Leftover::Mount));
    }
    // cgroups under every hierarchy's learn-containers/, children before parents.
    if let Ok(fs) = CgroupFs::detect() {
        for top in fs.learn_containers_dirs() {
            let version = if fs.v2_root().is_some_and(|r| top.starts_with(r)) {
                Version::V2
            } else {
                Version::V1
            };
            let mut found = Vec::new();
            collect_cgroups(&top, &mut found);
            found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
            for p in found {
                // A learner's program may name its own cgroups anything: what lies under
                // a live run's cgroup belongs to that run.
                let in_use = if p == top {
                    cgroup_in_use(&top)
                } else {
                    p.ancestors().take_while(|a| *a != top).any(cgroup_in_use)
                };
                if !in_use {
                    out.push(Leftover::Cgroup(p, version));
                }
            }
        }
    }
    out.extend(dirs.into_iter().map(Leftover::TempDir));
    out
}

fn collect_cgroups(dir: &Path, out: &mut Vec<PathBuf>) {
    out.push(dir.to_owned());
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                collect_cgroups(&e.path(), out);
            }
        }
    }
}

/// cgroups are named `<purpose>-<pid>` after the run that made them: a live run's cgroup
/// is not a leftover. The learn-containers/ parent itself is removed only when empty.
fn cgroup_in_use(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name == "learn-containers" {
        // Removable only if it has no child cgroups left that are in use.
        return std::fs::read_dir(p)
            .map(|rd| {
                rd.flatten().any(|e| {
                    e.file_type().map(|t| t.is_dir()).unwrap_or(false) && cgroup_in_use(&e.path())
                })
            })
            .unwrap_or(false);
    }
    name.rsplit('-')
        .next()
        .and_then(|pid| pid.parse::<i32>().ok())
        .map(|pid| pid != std::process::id() as i32 && procfs::alive(pid))
        .unwrap_or(false)
}

/// Removes one leftover.
pub fn remove(l: &Leftover) -> Result<()> {
    match l {
        Leftover::Process { pid, .. } => {
            match kill(Pid::from_raw(*pid), Signal::SIGKILL) {
                // Gone already: it died with a process killed before it (runc's children
                // go with runc), which is what clean wants.
                Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                Err(e) => return Err(e).with_context(|| format!("kill {pid}")),
            }
            // Gone before clean says so (a PID 1 takes a moment to tear its namespace down).
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
            while procfs::alive(*pid) && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Ok(())
        }
        Leftover::Mount(p) => {
            umount2(p, MntFlags::MNT_DETACH).with_context(|| format!("umount {}", p.display()))
        }
        Leftover::Cgroup(p, v) => Cgroup::open(p, *v).remove().map_err(Into::into),
        Leftover::TempDir(p) => scratch::remove_tree(p),
    }
}

/// Thaws every frozen cgroup among `leftovers`, before anything is killed: a frozen
/// process keeps a SIGKILL pending until it is thawed (on v1), so it could neither die of
/// the process kills nor leave the cgroups of other hierarchies it is also in.
pub fn thaw_frozen(leftovers: &[Leftover]) {
    for l in leftovers {
        if let Leftover::Cgroup(p, v) = l {
            Cgroup::open(p, *v).thaw_for_removal();
        }
    }
}
