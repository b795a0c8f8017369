//! Chapter 2 · PID namespace: PID 1 and its own /proc (reference solution)
//!
//! ```text
//!   ch02_pid_namespace [--rootfs DIR] -- CMD [ARGS]...
//! ```
//!
//! `run_as_pid1`: unshare(CLONE_NEWPID), fork; the parent waits and returns CMD's status.
//! `be_pid1`, in the child (PID 1): a private mount namespace, the chroot into DIR if
//! given, `mount_proc` (a fresh proc at /proc), exec CMD. Chapter 5 calls `run_as_pid1`
//! and `mount_proc` again.

use std::ffi::CString;
use std::path::Path;

use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};

// ANCHOR: run_as_pid1
/// Runs `pid1` as PID 1 of a new PID namespace, and returns the exit code PID 1 ends with.
///
/// `pid1` runs in the child, and returns only on error, with the reason: the child then
/// calls `child_failed` with it. This process, the parent, waits for the child. Call it
/// from a program with a single thread (all of the exercises are).
pub fn run_as_pid1(pid1: impl FnOnce() -> String) -> Result<i32, String> {
    // Only the children of this process will be in the new namespace.
    unshare(CloneFlags::CLONE_NEWPID).map_err(|e| format!("unshare(CLONE_NEWPID): {e}"))?;
    // SAFETY: only programs with a single thread call this, and in their forked child
    // anything the parent could do is safe.
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => child_failed(&pid1()),
        ForkResult::Parent { child } => loop {
            match waitpid(child, None) {
                Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                    return Ok(exit_code(status));
                }
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(e) => return Err(format!("waitpid: {e}")),
            }
        },
    }
}
// ANCHOR_END: run_as_pid1

// ANCHOR: be_pid1
/// Runs in the child, which is PID 1 of the new namespace. Returns only on error, with
/// the reason.
pub fn be_pid1(rootfs: Option<&Path>, cmd: &[String]) -> String {
    // A mount namespace of our own, cut off from the host's before anything is mounted:
    // on systemd hosts / is shared, and the new proc would show up on the host's /proc.
    if let Err(e) = private_mount_namespace() {
        return e;
    }
    if let Some(dir) = rootfs
        && let Err(e) = chroot_into(dir)
    {
        return e;
    }
    if let Err(e) = mount_proc() {
        return e;
    }
    exec(cmd)
}
// ANCHOR_END: be_pid1

// ANCHOR: mount_proc
/// Mounts a fresh proc filesystem at /proc. It lists the PID namespace of the process
/// that mounts it.
pub fn mount_proc() -> Result<(), String> {
    // Mounted from in here, proc shows the PID namespace of this process: the new one.
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("proc"), "/proc", Some("proc"), flags, None::<&str>)
        .map_err(|e| format!("mount proc at /proc: {e}"))
}
// ANCHOR_END: mount_proc

/// A mount namespace of this process's own, with / and every mount below it made
/// private, so that nothing mounted from here on shows up anywhere else. Given: chapter 3
/// opens it up, and has you write it yourself.
pub fn private_mount_namespace() -> Result<(), String> {
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare(CLONE_NEWNS): {e}"))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| format!("making / private: {e}"))
}

/// Chapter 1's two calls: DIR becomes / and the working directory.
pub fn chroot_into(dir: &Path) -> Result<(), String> {
    nix::unistd::chroot(dir).map_err(|e| format!("chroot {}: {e}", dir.display()))?;
    nix::unistd::chdir("/").map_err(|e| format!("chdir /: {e}"))
}

/// Replaces this process with CMD. Returns only on failure, with the reason.
pub fn exec(cmd: &[String]) -> String {
    let argv: Vec<CString> = cmd
        .iter()
        .map(|a| CString::new(a.as_str()).expect("no NUL in arguments"))
        .collect();
    let err = nix::unistd::execvp(&argv[0], &argv).unwrap_err();
    format!("exec {}: {err}", cmd[0])
}

/// The exit code a shell would report for a child that ended with `status`.
pub fn exit_code(status: WaitStatus) -> i32 {
    match status {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, signal, _) => 128 + signal as i32,
        _ => 1,
    }
}

/// Ends a forked child that could not become CMD: prints `<program>: <why>` and exits
/// with status 1, so that its parent reports a failure instead of carrying on twice.
pub fn child_failed(why: &str) -> ! {
    let program = std::env::args()
        .next()
        .and_then(|a| Some(Path::new(&a).file_name()?.to_string_lossy().into_owned()))
        .unwrap_or_default();
    eprintln!("{program}: {why}");
    std::process::exit(1)
}
