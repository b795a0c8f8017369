//! Chapter 2 · PID namespace: PID 1 and its own /proc
//!
//! Read the chapter first: book/src/ch02-pid-namespace.md, or watch `learn-containers lesson 2`.
//!
//! This file is where you work in chapter 2. The program, src/bin/ch02_pid_namespace.rs
//! (given, nothing to change there), reads its arguments and calls the functions below:
//!
//! ```text
//!   ch02_pid_namespace [--rootfs DIR] -- CMD [ARGS]...
//!       Run CMD as PID 1 of a new PID namespace, with a /proc that lists only that
//!       namespace's processes, and exit with CMD's exit status (128+N if signal N
//!       killed it).
//!
//!       /proc must be a fresh proc mounted from inside the new namespace, in a new mount
//!       namespace of CMD's own whose / was first made recursively private, so that the
//!       host's /proc is never touched. With --rootfs DIR, CMD also runs chrooted in DIR
//!       (as in chapter 1), and the fresh proc goes at /proc inside it.
//!
//!   Example: ch02_pid_namespace -- /bin/bash -c 'echo $$; ls /proc'   prints 1, and
//!   a /proc with one numbered directory: 1.
//! ```
//!
//! You write three functions: `run_as_pid1` (the parent's half), `be_pid1` (the child's
//! half) and `mount_proc`. Chapter 5 calls `run_as_pid1` and `mount_proc` again, for its
//! container. `private_mount_namespace`, `chroot_into`, `exec`, `exit_code` and
//! `child_failed` are given.
//!
//! The book's sections "PID 1 only for the children" and "A /proc of its own" explain each
//! call; man 7 pid_namespaces, man 2 unshare, man 2 fork, man 2 waitpid, man 2 mount.
//!
//! Work where you see todo!(). Check your work with `learn-containers verify 2`;
//! stuck? `learn-containers hint 2`.

use std::ffi::CString;
use std::path::Path;

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::sys::wait::WaitStatus;

/// Runs `pid1` as PID 1 of a new PID namespace, and returns the exit code PID 1 ends with.
///
/// `pid1` runs in the child, and returns only on error, with the reason: the child then
/// calls `child_failed` with it. This process, the parent, waits for the child. Call it
/// from a program with a single thread (all of the exercises are).
pub fn run_as_pid1(pid1: impl FnOnce() -> String) -> Result<i32, String> {
    // unshare(CLONE_NEWPID) puts the *children* of this process in a new PID namespace;
    // this process stays where it is. So: unshare, then fork. The child (PID 1 in the new
    // namespace) calls child_failed(&pid1()), which never returns. The parent waits for
    // the child until it has exited or was killed, and returns exit_code(status). See
    // nix::sched::unshare, nix::unistd::fork and nix::sys::wait::waitpid.
    let _ = pid1;
    todo!("unshare(CLONE_NEWPID), fork: the child runs pid1, the parent waits for it")
}

/// Runs in the child, which is PID 1 of the new namespace. Returns only on error, with
/// the reason.
pub fn be_pid1(rootfs: Option<&Path>, cmd: &[String]) -> String {
    // The /proc this process sees was mounted for the host's PID namespace and still
    // lists the host's processes. In this order, returning the message of the first
    // error: private_mount_namespace() (given below), chroot_into(dir) if `rootfs` is
    // Some(dir), mount_proc(), and last `exec(cmd)`, whose message you return.
    let _ = (rootfs, cmd);
    todo!("private_mount_namespace, chroot_into(rootfs) if given, mount_proc, exec(cmd)")
}

/// Mounts a fresh proc filesystem at /proc. It lists the PID namespace of the process
/// that mounts it.
pub fn mount_proc() -> Result<(), String> {
    // One mount(2), every part filled in but the data: source, target, type and flags. See
    // nix::mount::mount, man 2 mount, and man 5 proc for the filesystem.
    todo!("mount a proc filesystem at /proc")
}

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
