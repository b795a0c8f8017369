//! Forked children: the only place namespace and mount work happens (never in the CLI
//! process itself, which may have threads). Every child leads its own process group, so
//! a deadline or Ctrl-C can end it and everything it started, is registered with the
//! undo registry until it has been reaped, and dies with its parent.
//!
//! - [`guard`]: fork, the group and its guard;
//! - [`supervised`]: the one type for a child whose output is watched line by line;
//! - [`host_tool`]: host programs run on the way (cargo, ldd);
//! - [`crate::kernel::wire`]: the typed messages a child sends its parent.

pub mod guard;
pub mod host_tool;
pub mod lines;
pub mod supervised;

use std::ffi::CString;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

pub use super::sys::{SysError, failed};
pub use guard::{ChildGuard, die_with_parent, exit_now, fork_guarded, kill_group};
pub use host_tool::{output, spawn_command};
pub use supervised::{Captured, Finished, Supervised, run_captured};

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(Signal),
    /// Still running when the deadline passed; it was killed.
    TimedOut,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit status {c}"),
            Exit::Signal(s) => write!(f, "killed by {}", s.as_str()),
            Exit::TimedOut => write!(f, "timed out"),
        }
    }
}

impl Exit {
    /// The status a shell would report: the exit code, or 128 + the signal (a child that
    /// timed out was killed with SIGKILL).
    pub fn status(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s as i32,
            Exit::TimedOut => 128 + Signal::SIGKILL as i32,
        }
    }

    pub fn from_wait(status: WaitStatus) -> Option<Exit> {
        match status {
            WaitStatus::Exited(_, code) => Some(Exit::Code(code)),
            WaitStatus::Signaled(_, sig, _) => Some(Exit::Signal(sig)),
            _ => None,
        }
    }
}

/// The environment children exec with: predictable, and valid inside a minimal rootfs.
pub const CHILD_ENV: &[&str] = &[
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/",
    "LC_ALL=C",
    "TERM=dumb",
];

/// Replaces the current (child) process with `argv`. Returns only on failure, with a line
/// that shows the real errno, e.g. `execve("/bin/bash") failed: ENOENT: No such file or directory`.
pub fn exec(argv: &[&str]) -> String {
    let c: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(*a).expect("argument without NUL"))
        .collect();
    let env: Vec<CString> = CHILD_ENV
        .iter()
        .map(|e| CString::new(*e).expect("no NUL in CHILD_ENV"))
        .collect();
    let err = nix::unistd::execve(&c[0], &c, &env).unwrap_err();
    failed(&format!("execve(\"{}\")", argv[0]), err)
}

/// Writes a line to this (child) process's stdout without Rust's buffered, locked
/// stdout: after fork, another thread of the parent may have held that lock.
pub fn emit(line: &str) {
    let mut buf = line.as_bytes().to_vec();
    buf.push(b'\n');
    write_all(std::io::stdout(), &buf);
}

/// write(2) until all of `bytes` is written or the descriptor fails (no std locks).
pub fn write_all(fd: impl std::os::fd::AsFd, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match nix::unistd::write(&fd, bytes) {
            Ok(0) => return,
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// Waits until child `pid` has ended, through EINTR and stop/continue reports.
pub fn wait_exit(pid: Pid) -> nix::Result<Exit> {
    loop {
        match waitpid(pid, None) {
            Ok(status) => {
                if let Some(exit) = Exit::from_wait(status) {
                    return Ok(exit);
                }
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Blocks until stdin reaches end of file: how a held child waits to be released.
pub fn wait_for_stdin_eof() {
    let mut buf = [0u8; 256];
    loop {
        match nix::unistd::read(std::io::stdin(), &mut buf) {
            Ok(0) => return,
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// Closes every descriptor from 3 up except `keep` (close_range(2) on the gaps), in a
/// freshly forked child, so it keeps no end of another child's pipes open (which would
/// hide that child's EOF).
pub fn close_all_but(keep: &[i32]) {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter(|&&f| f >= 3)
        .map(|&f| f as u32)
        .collect();
    keep.sort_unstable();
    keep.dedup();
    let mut from = 3u32;
    for k in keep {
        if k > from {
            close_range(from, k - 1);
        }
        from = k + 1;
    }
    close_range(from, u32::MAX);
}

fn close_range(first: u32, last: u32) {
    // SAFETY: nix has no close_range; the descriptors closed belong to this process, and
    // no Rust object of this (freshly forked) child refers to them: the ones it uses are
    // in `keep`.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0) };
    if r != 0 {
        // Kernels before 5.9: one by one, up to a bound.
        for fd in first..last.min(1024) {
            let _ = nix::unistd::close(fd as i32);
        }
    }
}
