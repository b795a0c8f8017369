//! Limits on a learner's program while it is verified. A pids cgroup caps how many
//! processes it may have, so a fork bomb stops at the cap instead of taking the host
//! down; the verdict then names the limit.

use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};

use crate::kernel::cgroup::{CgroupFs, OwnedCgroup};

/// How many processes a candidate and everything it starts may have at once. The
/// chapters need a handful; a fork bomb reaches it in milliseconds.
pub const MAX_PIDS: u32 = 256;

/// A pids cgroup for this verification run, removed (members killed) when dropped.
/// Candidates join it before exec ([`join`]).
pub struct PidsLimit {
    cgroup: OwnedCgroup,
    procs: CString,
    events: PathBuf,
    pub max: u32,
}

impl PidsLimit {
    /// Creates `learn-containers/verify-<pid>` in the pids hierarchy with pids.max set.
    /// Returns why not when this host has no usable pids controller.
    pub fn install(max: u32) -> Result<PidsLimit, String> {
        let fs = CgroupFs::detect().map_err(|e| e.to_string())?;
        let cgroup = fs
            .create_owned("pids", "verify")
            .map_err(|e| e.to_string())?;
        std::fs::write(cgroup.file("pids.max"), max.to_string())
            .map_err(|e| format!("writing pids.max: {e}"))?;
        let procs = CString::new(cgroup.file("cgroup.procs").as_os_str().as_encoded_bytes())
            .map_err(|e| e.to_string())?;
        let events = cgroup.file("pids.events");
        Ok(PidsLimit {
            cgroup,
            procs,
            events,
            max,
        })
    }

    pub fn path(&self) -> &Path {
        &self.cgroup.path
    }

    /// The `cgroup.procs` a new candidate writes "0" to, to join.
    pub fn procs(&self) -> &CStr {
        &self.procs
    }

    /// The limit, if a candidate has run into it: a fork failed for want of pids
    /// (pids.events counts those as `max N`).
    pub fn hit(&self) -> Option<u32> {
        let text = std::fs::read_to_string(&self.events).ok()?;
        let n: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("max ")?.trim().parse().ok())?;
        (n > 0).then_some(self.max)
    }
}

/// Moves the calling process into the cgroup whose `cgroup.procs` is `procs`. For use
/// between fork and exec: open, write and close, no allocation. Writing "0" moves the
/// writer.
pub fn join(procs: &CStr) -> std::io::Result<()> {
    use nix::fcntl::{OFlag, open};
    use nix::sys::stat::Mode;
    let fd = open(procs, OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty())?;
    match nix::unistd::write(&fd, b"0")? {
        1 => Ok(()),
        _ => Err(std::io::Error::from(std::io::ErrorKind::WriteZero)),
    }
}
