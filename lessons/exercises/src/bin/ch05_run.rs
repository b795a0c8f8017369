//! Chapter 5 · run: one container from the four primitives
//!
//! Read the chapter first: book/src/ch05-run.md, or watch `learn-containers lesson 5`.
//!
//! ```text
//!   ch05_run --rootfs DIR --hostname NAME --cpus FLOAT --cgroup-parent CG -- CMD [ARGS]...
//! ```
//!
//! Everything you built in chapters 1 to 4, composed into one container, in this order:
//!
//! ```text
//!   1. create_cgroup: CG/ch05-<your pid> with a limit of FLOAT CPUs, in the format CG
//!      speaks (chapter 4: cpu.max on v2, cpu.cfs_period_us + cpu.cfs_quota_us on v1).
//!   2. run: unshare(CLONE_NEWPID), then fork (chapter 2). The parent waits, removes
//!      the cgroup (rmdir) and exits with CMD's status (128+N when signal N killed it).
//!   3. be_pid1, in the child (PID 1 of the new namespace), before exec:
//!        join the cgroup       write "0" to CG/ch05-<pid>/cgroup.procs: everything CMD
//!                              forks later is capped too
//!        new namespaces        unshare(CLONE_NEWNS | CLONE_NEWUTS), here in the child:
//!                              the parent needs the host's mounts to rmdir the cgroup
//!        make / private        mount(None, "/", None, MS_REC | MS_PRIVATE, None) (ch. 3)
//!        pivot_into(DIR)       DIR becomes /, and the old root is gone (this chapter)
//!        mount proc at /proc   (chapter 2) and a tmpfs at /tmp (chapter 3)
//!        sethostname(NAME)     only inside the new UTS namespace
//!        exec(CMD)
//!   4. pivot_into: bind-mount DIR on itself, chdir(DIR), pivot_root(".", "."),
//!      umount2(".", MNT_DETACH), chdir("/").
//! ```
//!
//! The verifier runs a bash script as CMD that forks a CPU burner at once, and checks
//! from outside: PID 1 and its own /proc (chapter 2), no mount escaping (chapter 3), the
//! burner's CPU share (chapter 4), the hostname inside and outside, that the host's
//! mounts are gone from the container's mount namespace, CMD's exit status, and that the
//! cgroup is removed. It runs your program in a UTS namespace of its own, so a hostname
//! set in the wrong place renames that, never your machine.
//!
//! The book's sections "pivot_root, not chroot" and "The order matters" explain each call;
//! man 2 pivot_root, man 2 unshare, man 7 namespaces, man 2 sethostname, man 7 cgroups.
//!
//! Work where you see todo!(). Check your work with `learn-containers verify 5`;
//! stuck? `learn-containers hint 5`.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::exit;

use nix::sys::wait::WaitStatus;

struct Args {
    rootfs: PathBuf,
    hostname: String,
    cpus: f64,
    cgroup_parent: PathBuf,
    cmd: Vec<String>,
}

fn main() {
    let args = match parse(std::env::args().skip(1).collect()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ch05_run: {e}");
            eprintln!(
                "usage: ch05_run --rootfs DIR --hostname NAME --cpus FLOAT --cgroup-parent CG -- CMD [ARGS]..."
            );
            exit(2);
        }
    };
    match run(&args) {
        Ok(code) => exit(code),
        Err(e) => {
            eprintln!("ch05_run: {e}");
            exit(1);
        }
    }
}

fn parse(mut args: Vec<String>) -> Result<Args, String> {
    let dash = args
        .iter()
        .position(|a| a == "--")
        .ok_or("missing `--` before CMD")?;
    let cmd = args.split_off(dash + 1);
    args.pop();
    if cmd.is_empty() {
        return Err("missing CMD after `--`".into());
    }
    let value = |flag: &str| -> Result<String, String> {
        let i = args
            .iter()
            .position(|a| a == flag)
            .ok_or(format!("missing {flag}"))?;
        args.get(i + 1)
            .cloned()
            .ok_or(format!("{flag} needs a value"))
    };
    let cpus: f64 = value("--cpus")?
        .parse()
        .map_err(|_| "--cpus must be a number, e.g. 0.5")?;
    if !cpus.is_finite() || cpus < 0.01 {
        return Err(format!("--cpus {cpus}: give at least 0.01 CPUs"));
    }
    Ok(Args {
        rootfs: value("--rootfs")?.into(),
        hostname: value("--hostname")?,
        cpus,
        cgroup_parent: value("--cgroup-parent")?.into(),
        cmd,
    })
}

/// Starts CMD in the container and returns its exit code.
fn run(a: &Args) -> Result<i32, String> {
    // 1. let cgroup = create_cgroup(&a.cgroup_parent, a.cpus)?;
    // 2. unshare(CloneFlags::CLONE_NEWPID) (if it fails, remove the cgroup before
    //    returning the error). Only PID here: see be_pid1 for the other two.
    // 3. fork(): the child calls be_pid1(a, &cgroup), prints what it returns and exits 1;
    //    the parent waits for the child (waitpid), removes the cgroup with
    //    std::fs::remove_dir, and returns exit_code(status).
    // See nix::sched::unshare, nix::unistd::fork, nix::sys::wait::waitpid.
    let _ = (&a.cgroup_parent, a.cpus, create_cgroup, be_pid1, exit_code);
    todo!(
        "create the cgroup, unshare(CLONE_NEWPID), fork: the child runs be_pid1, the parent waits and removes the cgroup"
    )
}

/// Runs in the child, PID 1 of the new PID namespace. Returns only on error, with the
/// message the child prints before it exits with status 1.
fn be_pid1(a: &Args, cgroup: &Path) -> String {
    // In this order, returning a message at the first error:
    //   - join the cgroup: std::fs::write(cgroup.join("cgroup.procs"), "0"). Before exec,
    //     so CMD's children are capped too; before pivot_root, which hides /sys/fs/cgroup.
    //   - unshare(CLONE_NEWNS | CLONE_NEWUTS). In the child, not the parent: pivot_root
    //     moves the root of every process in the namespace that had the old one.
    //   - make / private, recursively (chapter 3).
    //   - pivot_into(&a.rootfs).
    //   - mount proc at /proc, and a tmpfs at /tmp (nix::mount::mount).
    //   - nix::unistd::sethostname(&a.hostname).
    //   - return exec(&a.cmd).
    let _ = (&a.rootfs, &a.hostname, &a.cmd, cgroup, pivot_into, exec);
    todo!(
        "join the cgroup, unshare mount + UTS, make / private, pivot_into(rootfs), mount /proc and /tmp, sethostname, exec"
    )
}

/// Makes DIR the root of this mount namespace, with nothing of the old root left in it.
fn pivot_into(dir: &Path) -> Result<(), String> {
    // pivot_root(2) wants the new root to be a mount point: bind-mount DIR on itself
    // (MS_BIND | MS_REC). Then chdir(DIR), pivot_root(".", ".") (the old root ends up
    // stacked on top of the new one), umount2(".", MntFlags::MNT_DETACH) to detach it,
    // and chdir("/"). See man 2 pivot_root, NOTES ("pivot_root(\".\", \".\")").
    let _ = dir;
    todo!(
        "bind-mount DIR on itself, chdir into it, pivot_root(\".\", \".\"), umount2 the old root, chdir(\"/\")"
    )
}

/// Chapter 4: CG/ch05-<pid> with a limit of `cpus` CPUs, in the format CG speaks.
fn create_cgroup(parent: &Path, cpus: f64) -> Result<PathBuf, String> {
    // mkdir CG/ch05-<std::process::id()>; then, with a period of 100000 µs and a quota of
    // cpus × 100000 (rounded): if the new dir has cpu.max (v2), write "<quota> <period>"
    // to it; otherwise (v1) write the period to cpu.cfs_period_us, then the quota to
    // cpu.cfs_quota_us. If a write fails, rmdir the cgroup before returning the error.
    let _ = (parent, cpus);
    todo!("mkdir CG/ch05-<pid> and write the CPU limit in CG's format")
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
