//! Chapter 2 · PID namespace: PID 1 and its own /proc (reference solution)
//!
//!   ch02_pid_namespace [--rootfs DIR] -- CMD [ARGS]...
//!       unshare(CLONE_NEWPID), fork; the child (PID 1) makes a private mount namespace,
//!       chroots into DIR if given, mounts a fresh proc at /proc and execs CMD; the parent
//!       waits and exits with CMD's status.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::exit;

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (rootfs, cmd) = match args.as_slice() {
        [flag, dir, dashes, cmd @ ..]
            if flag == "--rootfs" && dashes == "--" && !cmd.is_empty() =>
        {
            (Some(PathBuf::from(dir)), cmd.to_vec())
        }
        [dashes, cmd @ ..] if dashes == "--" && !cmd.is_empty() => (None, cmd.to_vec()),
        _ => {
            eprintln!("usage: ch02_pid_namespace [--rootfs DIR] -- CMD [ARGS]...");
            exit(2);
        }
    };
    match run(rootfs.as_deref(), &cmd) {
        Ok(code) => exit(code),
        Err(e) => {
            eprintln!("ch02_pid_namespace: {e}");
            exit(1);
        }
    }
}

// ANCHOR: run
/// Starts CMD as PID 1 of a new PID namespace and returns its exit code.
fn run(rootfs: Option<&Path>, cmd: &[String]) -> Result<i32, String> {
    // Only the children of this process will be in the new namespace.
    unshare(CloneFlags::CLONE_NEWPID).map_err(|e| format!("unshare(CLONE_NEWPID): {e}"))?;
    // SAFETY: this program has a single thread.
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            let why = be_pid1(rootfs, cmd);
            eprintln!("ch02_pid_namespace: {why}");
            exit(1);
        }
        ForkResult::Parent { child } => loop {
            match waitpid(child, None) {
                Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                    return Ok(exit_code(status));
                }
                Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(format!("waitpid: {e}")),
            }
        },
    }
}
// ANCHOR_END: run

// ANCHOR: be_pid1
/// Runs in the child, which is PID 1 of the new namespace. Returns only on error.
fn be_pid1(rootfs: Option<&Path>, cmd: &[String]) -> String {
    // A mount namespace of our own, cut off from the host's before anything is mounted:
    // on systemd hosts / is shared, and the new proc would show up on the host's /proc.
    if let Err(e) = unshare(CloneFlags::CLONE_NEWNS) {
        return format!("unshare(CLONE_NEWNS): {e}");
    }
    let private = MsFlags::MS_REC | MsFlags::MS_PRIVATE;
    if let Err(e) = mount(None::<&str>, "/", None::<&str>, private, None::<&str>) {
        return format!("making / private: {e}");
    }
    if let Some(dir) = rootfs
        && let Err(e) = chroot_into(dir)
    {
        return e;
    }
    // Mounted from in here, proc shows the PID namespace of this process: the new one.
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    if let Err(e) = mount(Some("proc"), "/proc", Some("proc"), flags, None::<&str>) {
        return format!("mount proc at /proc: {e}");
    }
    exec(cmd)
}
// ANCHOR_END: be_pid1

/// Chapter 1's two calls: DIR becomes / and the working directory.
fn chroot_into(dir: &Path) -> Result<(), String> {
    nix::unistd::chroot(dir).map_err(|e| format!("chroot {}: {e}", dir.display()))?;
    nix::unistd::chdir("/").map_err(|e| format!("chdir /: {e}"))
}

/// Replaces this process with CMD. Returns only on failure, with the reason.
fn exec(cmd: &[String]) -> String {
    let argv: Vec<CString> = cmd
        .iter()
        .map(|a| CString::new(a.as_str()).expect("no NUL in arguments"))
        .collect();
    let err = nix::unistd::execvp(&argv[0], &argv).unwrap_err();
    format!("exec {}: {err}", cmd[0])
}

/// The exit code a shell would report for a child that ended with `status`.
fn exit_code(status: WaitStatus) -> i32 {
    match status {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, signal, _) => 128 + signal as i32,
        _ => 1,
    }
}
