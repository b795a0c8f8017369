//! A process's cgroups as its own cgroup namespace shows them. /proc/PID/cgroup is
//! written for whoever reads it: each path is relative to the *reader's* cgroup namespace
//! root. So the host reads where the process really is, and a child that joins the
//! process's cgroup namespace (`nsenter --cgroup --target PID cat /proc/PID/cgroup`)
//! reads what the process itself would, at that moment.

use std::time::Duration;

use nix::sched::CloneFlags;

use crate::bail;
use crate::error::Result;
use crate::kernel::child::{Exit, emit, run_captured};
use crate::kernel::ns::Entry;

/// The text of /proc/PID/cgroup, read from inside PID's cgroup namespace.
pub fn view_from_inside(pid: i32) -> Result<String> {
    let entry = Entry::of(pid, "cgroup", CloneFlags::CLONE_NEWCGROUP);
    let out = run_captured(Duration::from_secs(5), move || {
        if let Err(e) = entry.enter() {
            emit(&format!("setns(CLONE_NEWCGROUP) failed: {e}"));
            return 1;
        }
        match std::fs::read_to_string(format!("/proc/{pid}/cgroup")) {
            Ok(text) => {
                emit(text.trim_end());
                0
            }
            Err(e) => {
                emit(&format!("reading /proc/{pid}/cgroup: {e}"));
                1
            }
        }
    })?;
    if out.exit != Exit::Code(0) {
        bail!(
            "reading /proc/{pid}/cgroup from its cgroup namespace: {}",
            out.output.trim()
        );
    }
    Ok(out.output)
}
