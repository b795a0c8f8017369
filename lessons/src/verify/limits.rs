//! Limits on a learner's program while it is verified. A pids cgroup caps how many
//! processes it may have, so a fork bomb stops at the cap instead of taking the host
//! down; the verdict then names the limit.

use std::ffi::CString;
use std::sync::Mutex;

use crate::kernel::cgroup::{CgroupFs, OwnedCgroup};

/// How many processes a candidate and everything it starts may have at once. The
/// chapters need a handful; a fork bomb reaches it in milliseconds.
pub const MAX_PIDS: u32 = 256;

/// The limit in force: candidates join its cgroup.procs, verdicts read its pids.events.
static ACTIVE: Mutex<Option<Active>> = Mutex::new(None);

#[derive(Clone)]
struct Active {
    procs: CString,
    events: std::path::PathBuf,
    max: u32,
}

/// A pids cgroup for this verification run, removed (members killed) when dropped.
pub struct PidsLimit {
    cgroup: OwnedCgroup,
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
        *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Some(Active { procs, events, max });
        Ok(PidsLimit { cgroup, max })
    }

    pub fn path(&self) -> &std::path::Path {
        &self.cgroup.path
    }
}

impl Drop for PidsLimit {
    fn drop(&mut self) {
        *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// The cgroup.procs path a new candidate must join, if a limit is installed.
pub fn active() -> Option<CString> {
    ACTIVE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(|a| a.procs.clone())
}

/// The limit, if a candidate has run into it: a fork failed for want of pids
/// (pids.events counts those as `max N`).
pub fn hit() -> Option<u32> {
    let active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone()?;
    let text = std::fs::read_to_string(&active.events).ok()?;
    let n: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("max ")?.trim().parse().ok())?;
    (n > 0).then_some(active.max)
}

/// Moves the calling process into the limit's cgroup. For use between fork and exec:
/// only open/write/close, no allocation. Writing "0" to cgroup.procs moves the writer.
pub fn join(procs: &CString) -> std::io::Result<()> {
    // SAFETY: plain syscalls on a NUL-terminated path and a static buffer.
    unsafe {
        let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let n = libc::write(fd, b"0".as_ptr().cast(), 1);
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        if n != 1 {
            return Err(err);
        }
    }
    Ok(())
}
