//! One cgroup directory, in one hierarchy: its files, its members and its children.
//! Controller-specific files (limits, counters) have a module each: [`super::cpu`],
//! [`super::memory`], [`super::pids`].

use std::fs;
use std::path::{Path, PathBuf};

use super::error::CgroupError;
use super::files::{check_name, enable_controller, mkdir_ours, parse_pids, read_file, write_file};
use super::mode::Version;

/// One cgroup directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    pub path: PathBuf,
    pub version: Version,
}

impl Cgroup {
    /// Adopts an existing cgroup directory (for `clean`, or one a verifier prepared).
    pub fn open(path: &Path, version: Version) -> Cgroup {
        Cgroup {
            path: path.to_path_buf(),
            version,
        }
    }

    /// The path of one interface file, e.g. `cpu.max`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// On v2, lets this cgroup's children use `controller` (`+cpu` in its
    /// `cgroup.subtree_control`); from then on no process may live in this cgroup itself.
    /// v1 needs nothing: every cgroup of a hierarchy has its controllers.
    pub fn enable_for_children(&self, controller: &str) -> Result<(), CgroupError> {
        match self.version {
            Version::V1 => Ok(()),
            Version::V2 => enable_controller(&self.path, controller).map(|_| ()),
        }
    }

    /// Makes the child cgroup `name` (an existing one is fine; a symlink is refused). It
    /// goes when this cgroup is removed ([`Cgroup::remove`] works depth first).
    pub fn make_child(&self, name: &str) -> Result<Cgroup, CgroupError> {
        check_name(name)?;
        let path = self.path.join(name);
        mkdir_ours(&path)?;
        Ok(Cgroup {
            path,
            version: self.version,
        })
    }

    /// The subdirectories of this cgroup, which are its child cgroups.
    pub fn children(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = fs::read_dir(&self.path)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// The file a single-threaded process writes "0" to in order to move itself in (for
    /// example a container's PID 1, just before it execs): `tasks` on v1, which moves only
    /// the writing thread and so skips the global lock that moving a whole process takes
    /// (a write of cgroup.procs waits for an RCU grace period, milliseconds on a busy
    /// machine); `cgroup.procs` on v2, where ordinary cgroups have no per-thread file.
    pub fn self_join_file(&self) -> PathBuf {
        match self.version {
            Version::V1 => self.file("tasks"),
            Version::V2 => self.file("cgroup.procs"),
        }
    }

    /// Moves a process (all its threads) into this cgroup.
    pub fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        // Writing 0 would move the writer itself.
        if pid <= 0 {
            return Err(CgroupError::InvalidPid { pid });
        }
        write_file(&self.file("cgroup.procs"), &pid.to_string())
    }

    /// The processes in this cgroup (not in its children), as the caller's pid namespace
    /// numbers them; 0 stands for a process outside it.
    pub fn procs(&self) -> Result<Vec<i32>, CgroupError> {
        let file = self.file("cgroup.procs");
        let text = read_file(&file)?;
        parse_pids(&text).map_err(|reason| CgroupError::Parse {
            what: file.display().to_string(),
            text,
            reason,
        })
    }
}
