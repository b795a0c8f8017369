//! Chapter 5 · run: one container from the four primitives
//!
//! Read the chapter first: book/src/ch05-run.md, or watch `learn-containers lesson 5`.
//!
//! ```text
//!   ch05_run --rootfs DIR --hostname NAME --cpus FLOAT --cgroup-parent CG -- CMD [ARGS]...
//! ```
//!
//! Everything you built in chapters 1 to 4, composed into one container. Your chapter 2
//! and chapter 4 functions do most of the work: this program calls them from the
//! library (src/pid_namespace.rs and src/cgroup_cpu.rs), so finish those chapters first.
//! What is new here is the order, pivot_root and sethostname:
//!
//! ```text
//!   1. run, in this process (the parent):
//!        cgroup_cpu::create           CG/ch05-<your pid>, capped at FLOAT CPUs (ch. 4)
//!        pid_namespace::run_as_pid1   a new PID namespace and a fork; the child, PID 1
//!                                     of it, runs be_pid1 (chapter 2)
//!        cgroup_cpu::remove           once PID 1 has ended, whatever happened (ch. 4);
//!                                     then return CMD's exit code
//!   2. prepare, in PID 1 before exec (be_pid1, given, calls it and then exec):
//!        cgroup_cpu::join             first: everything CMD forks later is capped too
//!        pid_namespace::private_mount_namespace
//!                                     a mount namespace of PID 1's own, / private (ch. 3)
//!        unshare(CLONE_NEWUTS)        a hostname of its own
//!        pivot_into(DIR)              DIR becomes /, the old root is gone (this chapter)
//!        pid_namespace::mount_proc    a proc for the new PID namespace (chapter 2)
//!        a tmpfs at /tmp              (chapter 3)
//!        sethostname(NAME)            only inside the new UTS namespace
//!   3. pivot_into: bind-mount DIR on itself, chdir(DIR), pivot_root(".", "."),
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
//! The book's sections "The order matters" and "pivot_root, not chroot" explain each
//! call; man 2 pivot_root, man 2 umount, man 7 uts_namespaces, man 2 sethostname,
//! man 7 cgroups.
//!
//! Work where you see todo!(). Check your work with `learn-containers verify 5`;
//! stuck? `learn-containers hint 5`.

use std::path::{Path, PathBuf};
use std::process::exit;

// Your chapter 4 and chapter 2 functions: cgroup_cpu::create, pid_namespace::run_as_pid1...
use exercises::{cgroup_cpu, pid_namespace};

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

/// Starts CMD in the container and returns its exit code (header, step 1).
fn run(a: &Args) -> Result<i32, String> {
    // The cgroup is named ch05-<std::process::id()>. run_as_pid1 takes what PID 1 runs as
    // a closure: || be_pid1(a, &cgroup). Remove the cgroup even when run_as_pid1 returned
    // an error, then return the first error.
    let _ = (&a.cgroup_parent, a.cpus, be_pid1, cgroup_cpu::create);
    todo!("create the cgroup, run be_pid1 as PID 1 of a new PID namespace, remove the cgroup")
}

/// Runs in the child, PID 1 of the new PID namespace: everything before exec, then exec.
/// Returns only on error, with the reason.
fn be_pid1(a: &Args, cgroup: &Path) -> String {
    match prepare(a, cgroup) {
        Ok(()) => pid_namespace::exec(&a.cmd),
        Err(e) => e,
    }
}

/// What PID 1 does before exec, in the order of the header's step 2; the first error
/// ends it.
fn prepare(a: &Args, cgroup: &Path) -> Result<(), String> {
    // Each step is one call (`?` passes its error on), or one mount(2). See
    // nix::sched::unshare, nix::mount::mount, nix::unistd::sethostname.
    let _ = (&a.rootfs, &a.hostname, cgroup, pivot_into);
    todo!(
        "join the cgroup, a private mount namespace, a UTS namespace, pivot_into(rootfs), /proc and /tmp, sethostname"
    )
}

/// Makes DIR the root of this mount namespace, with nothing of the old root left in it
/// (header, step 3).
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
