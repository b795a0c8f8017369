//! Chapter 8 · IPC, cgroup and time namespaces (reference solution)
//!
//! ```text
//!   ch08_more_namespaces --cgroup-parent CG --offset SECONDS -- CMD [ARGS]...
//! ```
//!
//! `run_in_new_namespaces`: the time namespace first, in this process:
//! unshare(CLONE_NEWTIME) and the offsets, written while nobody is in it; then fork. The
//! child is born in the new time namespace; it joins the cgroup (chapter 4's `join`), then
//! unshares IPC and cgroup, so the cgroup namespace is rooted where it now is, and execs
//! CMD. The parent waits. `set_time_offsets`: both clocks, in one write.

use std::path::Path;

use nix::errno::Errno;
use nix::sched::{CloneFlags, unshare};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

use crate::cgroup_cpu;
use crate::pid_namespace::{child_failed, exec, exit_code};

/// `CLONE_NEWTIME`, which nix's `CloneFlags` does not name yet: libc's bit, as it is.
/// Combine it with the others as usual: `CloneFlags::CLONE_NEWIPC | CLONE_NEWTIME`.
pub const CLONE_NEWTIME: CloneFlags = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);

// ANCHOR: run_in_new_namespaces
/// Runs CMD in `cgroup` and in new IPC, cgroup and time namespaces, the cgroup namespace
/// rooted at `cgroup` and both clocks ahead by `offset` seconds; waits for it and returns
/// its exit code. This process, the program, stays where it was started. Call it from a
/// program with a single thread.
pub fn run_in_new_namespaces(cgroup: &Path, offset: i64, cmd: &[String]) -> Result<i32, String> {
    // This process stays where it is: the new time namespace is only the one its next
    // child is born into. Nobody is in it yet, so its offsets can still be written; the
    // fork below freezes them.
    unshare(CLONE_NEWTIME).map_err(|e| format!("unshare(CLONE_NEWTIME): {e}"))?;
    set_time_offsets(offset)?;
    // SAFETY: only programs with a single thread call this, and in their forked child
    // anything the parent could do is safe.
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            // Join first: a cgroup namespace is rooted at the cgroup its creator is in.
            // Made before the join, its root would be the cgroup we came from, and CMD
            // would see the way from there to CG/ch08-PID.
            if let Err(e) = cgroup_cpu::join(cgroup) {
                child_failed(&e);
            }
            let flags = CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_NEWCGROUP;
            if let Err(e) = unshare(flags) {
                child_failed(&format!("unshare(CLONE_NEWIPC | CLONE_NEWCGROUP): {e}"));
            }
            child_failed(&exec(cmd))
        }
        ForkResult::Parent { child } => wait_for(child),
    }
}
// ANCHOR_END: run_in_new_namespaces

// ANCHOR: set_time_offsets
/// Writes `offset` seconds for CLOCK_MONOTONIC and CLOCK_BOOTTIME into
/// /proc/self/timens_offsets: the offsets of the time namespace this process's children
/// will be in. Only before any process has entered it (the kernel says EACCES after).
pub fn set_time_offsets(offset: i64) -> Result<(), String> {
    // Both clocks: /proc/uptime counts CLOCK_BOOTTIME, most timers CLOCK_MONOTONIC.
    let text = format!("monotonic {offset} 0\nboottime {offset} 0\n");
    std::fs::write("/proc/self/timens_offsets", &text)
        .map_err(|e| format!("writing {text:?} to /proc/self/timens_offsets: {e}"))
}
// ANCHOR_END: set_time_offsets

/// Waits for `child` and returns its exit code as a shell reports it (128+N for signal
/// N). Given.
pub fn wait_for(child: Pid) -> Result<i32, String> {
    loop {
        match waitpid(child, None) {
            Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                return Ok(exit_code(status));
            }
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(e) => return Err(format!("waitpid: {e}")),
        }
    }
}
