//! Chapter 2 · PID namespace: PID 1 and its own /proc
//!
//! Read the chapter first: book/src/ch02-pid-namespace.md, or watch `learn-containers lesson 2`.
//!
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
//!
//! The book's sections "PID 1 only for the children" and "A /proc of its own" explain each
//! call; man 7 pid_namespaces, man 2 unshare, man 2 fork, man 2 mount,
//! man 7 mount_namespaces.
//!
//! Work where you see todo!(). Check your work with `learn-containers verify 2`;
//! stuck? `learn-containers hint 2`.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::exit;

use nix::sys::wait::WaitStatus;

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

/// Starts CMD as PID 1 of a new PID namespace and returns its exit code.
fn run(rootfs: Option<&Path>, cmd: &[String]) -> Result<i32, String> {
    // unshare(CLONE_NEWPID) puts the *children* of this process in a new PID namespace;
    // this process stays where it is. So: unshare, then fork. The child (PID 1 in the new
    // namespace) calls be_pid1(rootfs, cmd), which never returns on success; the parent
    // waits for it and returns exit_code(status). See nix::sched::unshare,
    // nix::unistd::fork and nix::sys::wait::waitpid; man 7 pid_namespaces.
    let _ = (rootfs, cmd, be_pid1, exit_code);
    todo!("unshare(CLONE_NEWPID), fork: the child runs be_pid1, the parent waits for it")
}

/// Runs in the child, which is PID 1 of the new namespace. Returns only on error, with
/// the message the child should print before it exits with status 1.
fn be_pid1(rootfs: Option<&Path>, cmd: &[String]) -> String {
    // The /proc this process sees was mounted for the host's PID namespace and still
    // lists the host's processes. Mount a fresh one from in here, in a mount namespace of
    // our own (unshare(CLONE_NEWNS)) whose / is private first (MS_REC | MS_PRIVATE), or
    // the new proc would cover the host's /proc too. Then chroot_into(rootfs) if given,
    // mount proc at /proc, and return exec(cmd). See nix::mount::mount, man 2 mount,
    // man 7 mount_namespaces ("Shared subtrees").
    let _ = (rootfs, cmd, chroot_into, exec);
    todo!(
        "a private mount namespace, chroot_into(rootfs) if given, a fresh proc at /proc, exec(cmd)"
    )
}

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
