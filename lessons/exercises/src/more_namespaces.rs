//! Chapter 8 · IPC, cgroup and time namespaces
//!
//! Read the chapter first: book/src/ch08-ipc-cgroup-time.md, or watch `learn-containers lesson 8`.
//!
//! This file is where you work in chapter 8. The program, src/bin/ch08_more_namespaces.rs
//! (given, nothing to change there), checks its arguments, makes the cgroup
//! CG/ch08-<its pid>, calls `run_in_new_namespaces`, removes the cgroup once CMD has ended
//! and exits with CMD's status:
//!
//! ```text
//!   ch08_more_namespaces --cgroup-parent CG --offset SECONDS -- CMD [ARGS]...
//!       Run CMD in the cgroup CG/ch08-<pid>, and in new IPC, cgroup and time namespaces:
//!         IPC      CMD sees none of the System V queues (nor semaphores, shared memory,
//!                  POSIX queues) of the namespace the program was started in, and what
//!                  it makes there is seen nowhere else;
//!         cgroup   rooted at CG/ch08-<pid>: CMD's /proc/self/cgroup says `/` (`0::/` on
//!                  cgroup v2, `/` on every line on v1), while the host sees the real path;
//!         time     CLOCK_MONOTONIC and CLOCK_BOOTTIME ahead by SECONDS: CMD's /proc/uptime
//!                  is the host's plus SECONDS, and /proc/PID/timens_offsets says so.
//!       The program itself stays in the namespaces it was started in, and passes CMD's
//!       exit status on (128+N if signal N killed it).
//!
//!   Example, as root, on a cgroup v2 host:
//!       mkdir /sys/fs/cgroup/demo
//!       ch08_more_namespaces --cgroup-parent /sys/fs/cgroup/demo --offset 86400 -- \
//!           bash -c 'cat /proc/self/cgroup /proc/uptime'
//!   prints `0::/`, then an uptime one day longer than the host's.
//! ```
//!
//! Who joins the cgroup, and who unshares what, is yours to work out. Two rules of the
//! kernel decide it:
//!   - a cgroup namespace is rooted at the cgroup its creator is in when it calls
//!     unshare(CLONE_NEWCGROUP);
//!   - unshare(CLONE_NEWTIME) does not move the caller: the new namespace is the one its
//!     next child is born into (and, on Linux 6.0 and later, the one the caller enters at
//!     its next execve), and its offsets can be written only until a process has entered
//!     it.
//!
//! You write `run_in_new_namespaces` and `set_time_offsets`. Chapter 4's `join`
//! (src/cgroup_cpu.rs) moves the calling process into a cgroup; chapter 2's `exec` and
//! `child_failed` (src/pid_namespace.rs) and `wait_for` below are given.
//!
//! The book's sections "The cgroup namespace: join first, then unshare" and "The time
//! namespace: offsets before anyone enters" explain each step; man 7 ipc_namespaces,
//! man 7 cgroup_namespaces, man 7 time_namespaces ("Clock offsets":
//! /proc/PID/timens_offsets), man 2 unshare.
//!
//! Work where you see todo!(). Check your work with `learn-containers verify 8`;
//! stuck? `learn-containers hint 8`.

use std::path::Path;

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::pid_namespace::exit_code;

/// `CLONE_NEWTIME`, which nix's `CloneFlags` does not name yet: libc's bit, as it is.
/// Combine it with the others as usual: `CloneFlags::CLONE_NEWIPC | CLONE_NEWTIME`.
pub const CLONE_NEWTIME: CloneFlags = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);

// ANCHOR: run_in_new_namespaces
/// Runs CMD in `cgroup` and in new IPC, cgroup and time namespaces, the cgroup namespace
/// rooted at `cgroup` and both clocks ahead by `offset` seconds; waits for it and returns
/// its exit code. This process, the program, stays where it was started. Call it from a
/// program with a single thread.
pub fn run_in_new_namespaces(cgroup: &Path, offset: i64, cmd: &[String]) -> Result<i32, String> {
    // The pieces: a fork; joining `cgroup` (chapter 4's cgroup_cpu::join);
    // unshare(CLONE_NEWIPC), unshare(CLONE_NEWCGROUP) and unshare(CLONE_NEWTIME) (one call
    // or several); the offsets (set_time_offsets); exec (chapter 2's exec, child_failed
    // for an error in the child); the parent waits (wait_for). In which order, and each in
    // which process? The header's two rules decide it.
    let _ = (cgroup, offset, cmd, CLONE_NEWTIME, wait_for);
    todo!("fork; CMD's cgroup and its three namespaces, in the right order; the parent waits")
}
// ANCHOR_END: run_in_new_namespaces

// ANCHOR: set_time_offsets
/// Writes `offset` seconds for CLOCK_MONOTONIC and CLOCK_BOOTTIME into
/// /proc/self/timens_offsets: the offsets of the time namespace this process's children
/// will be in. Only before any process has entered it (the kernel says EACCES after).
pub fn set_time_offsets(offset: i64) -> Result<(), String> {
    // One line per clock, `<clock> <seconds> <nanoseconds>`, the clock by name
    // (monotonic, boottime) or by id; both lines in one write(2). man 7 time_namespaces,
    // "Clock offsets". /proc/uptime counts CLOCK_BOOTTIME.
    let _ = offset;
    todo!("write both clocks' offsets to /proc/self/timens_offsets")
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
