//! Everything that can go wrong with cgroups, each message ending with what to do next.

use std::io;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::mode::{Mode, NotMounted};
use crate::kernel::mountinfo::MountinfoError;

/// Everything that can go wrong with cgroups; each message ends with what to do.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error(transparent)]
    NotMounted(#[from] NotMounted),
    #[error(
        "no {controller} controller is mounted on this host ({mode}): run `learn-containers doctor`"
    )]
    MissingController { controller: String, mode: Mode },
    #[error("`{name}` cannot be a cgroup name: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error(
        "{cpus} is not a usable CPU limit: {reason}\n  give a number of CPUs such as 0.5 or 1.5"
    )]
    InvalidCpus { cpus: f64, reason: String },
    #[error("{pid} is not a process id that can be moved into a cgroup")]
    InvalidPid { pid: i32 },
    #[error("cannot understand {what} ({reason}): {text:?}")]
    Parse {
        what: String,
        text: String,
        reason: String,
    },
    #[error("cannot {action} {}: {source}\n  {hint}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
        hint: &'static str,
    },
    #[error("cannot write `{value}` to {}: {source}\n  {hint}", path.display())]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
        hint: &'static str,
    },
    #[error("cgroup {} already exists, left over from an interrupted run?\n  run `learn-containers clean`", path.display())]
    Exists { path: PathBuf },
    #[error("refusing to touch {}: {reason}", path.display())]
    Refused { path: PathBuf, reason: &'static str },
    #[error("{} still has processes {pids:?} after {}s of SIGKILL\n  they may be stuck in the kernel (D state) or outside this pid namespace; look at `ps -o pid,stat,cmd -p <pid>`, then run `learn-containers clean`", path.display(), after.as_secs())]
    NotEmpty {
        path: PathBuf,
        pids: Vec<i32>,
        after: std::time::Duration,
    },
    #[error(
        "cannot SIGKILL process {pid}: {errno}\n  run it as root, or run `learn-containers clean`"
    )]
    Signal { pid: i32, errno: Errno },
    #[error("{} has no {file}: it exists on cgroup v2 only\n  run this part on a cgroup v2 host, or skip it here", path.display())]
    V2Only { file: &'static str, path: PathBuf },
    #[error(
        "{controllers:?} are in different hierarchies on this host ({mode}): make one cgroup in each"
    )]
    NotTogether {
        controllers: Vec<String>,
        mode: Mode,
    },
    #[error(transparent)]
    Mountinfo(#[from] MountinfoError),
}

/// An I/O error on a cgroup path, with the next step for it.
pub(super) fn io_err(action: &'static str, path: &Path, source: io::Error) -> CgroupError {
    CgroupError::Io {
        action,
        path: path.to_path_buf(),
        hint: hint_for(&source),
        source,
    }
}

/// The next step for the errors cgroupfs gives.
pub(super) fn hint_for(e: &io::Error) -> &'static str {
    match e.raw_os_error().map(Errno::from_raw) {
        Some(Errno::EACCES | Errno::EPERM) => {
            "cgroups need root here: run it again with sudo (rootless needs a delegated cgroup v2)"
        }
        Some(Errno::EROFS) => {
            "the cgroup filesystem is read-only (inside a container?): run on the host or in a VM"
        }
        Some(Errno::EBUSY) => {
            "the cgroup is busy: v2 refuses to enable controllers below a cgroup that holds \
             processes, and a cgroup with members or children cannot be removed; \
             run `learn-containers clean`"
        }
        Some(Errno::ENOENT) => {
            "the file is missing: is the controller mounted here? run `learn-containers doctor`"
        }
        Some(Errno::EINVAL) => {
            "the kernel rejected the value: a v1 child's quota may not exceed its parent's, \
             and the cpu controller cannot be enabled while realtime processes run outside \
             the root cgroup"
        }
        Some(Errno::ESRCH) => "that process no longer exists",
        _ => "run `learn-containers doctor` to check this host",
    }
}
