//! Chapter 5 · run: one container from the four primitives (reference solution)
//!
//! ```text
//!   ch05_run --rootfs DIR --hostname NAME --cpus FLOAT --cgroup-parent CG -- CMD [ARGS]...
//! ```
//!
//! Creates CG/ch05-<pid> capped at FLOAT CPUs and runs PID 1 of a new PID namespace with
//! chapter 4's and chapter 2's functions. PID 1 joins the cgroup, makes new mount and UTS
//! namespaces with / private, bind-mounts DIR on itself, pivot_roots into it and detaches
//! the old root, mounts a fresh proc at /proc and a tmpfs at /tmp, sets the hostname and
//! execs CMD. The parent waits, removes the cgroup and exits with CMD's exit status.

use std::path::{Path, PathBuf};
use std::process::exit;

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};
use nix::unistd::{chdir, pivot_root, sethostname};

// Chapter 4's and chapter 2's functions.
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

// ANCHOR: run
/// Starts CMD in the container and returns its exit code.
fn run(a: &Args) -> Result<i32, String> {
    // Chapter 4: the cgroup and its limit exist before anything runs in it.
    let name = format!("ch05-{}", std::process::id());
    let cgroup = cgroup_cpu::create(&a.cgroup_parent, &name, a.cpus)?;
    // Chapter 2: only the PID namespace is made here, and it is for the child. The mount
    // and UTS namespaces are PID 1's to make: this process needs the host's mounts
    // afterwards, to remove the cgroup.
    let result = pid_namespace::run_as_pid1(|| be_pid1(a, &cgroup));
    // When PID 1 has ended, the kernel has ended everything else in its namespace, the
    // burner CMD forked included: the cgroup is empty. Removed whatever happened.
    let removed = cgroup_cpu::remove(&cgroup);
    let code = result?;
    removed?;
    Ok(code)
}
// ANCHOR_END: run

/// Runs in the child, PID 1 of the new PID namespace: everything before exec, then exec.
/// Returns only on error, with the reason.
fn be_pid1(a: &Args, cgroup: &Path) -> String {
    match prepare(a, cgroup) {
        Ok(()) => pid_namespace::exec(&a.cmd),
        Err(e) => e,
    }
}

// ANCHOR: prepare
/// What PID 1 does before exec, in order; the first error ends it.
fn prepare(a: &Args, cgroup: &Path) -> Result<(), String> {
    // Into the cgroup first: before exec, so that CMD and everything it forks are capped
    // from their first instruction, and before pivot_root takes the host's
    // /sys/fs/cgroup out of sight.
    cgroup_cpu::join(cgroup)?;
    // A mount namespace of PID 1's own, / private in it (chapter 3). Made here, not in
    // the parent: pivot_root moves the root of every process of the namespace that had
    // the old one, and the parent would lose /sys/fs/cgroup too.
    pid_namespace::private_mount_namespace()?;
    unshare(CloneFlags::CLONE_NEWUTS).map_err(|e| format!("unshare(CLONE_NEWUTS): {e}"))?;
    pivot_into(&a.rootfs)?;
    // Chapter 2: a proc for the new PID namespace; chapter 3: a tmpfs only we see. Both
    // after pivot_root, so that they land inside the new root.
    pid_namespace::mount_proc()?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount(Some("tmpfs"), "/tmp", Some("tmpfs"), flags, None::<&str>)
        .map_err(|e| format!("mount tmpfs at /tmp: {e}"))?;
    // The new UTS namespace: the host keeps its name.
    sethostname(&a.hostname).map_err(|e| format!("sethostname: {e}"))
}
// ANCHOR_END: prepare

// ANCHOR: pivot_into
/// Makes DIR the root of this mount namespace, with nothing of the old root left in it.
fn pivot_into(dir: &Path) -> Result<(), String> {
    // pivot_root's new root must be a mount point: bind-mount DIR on itself.
    let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
    mount(Some(dir), dir, None::<&str>, bind, None::<&str>)
        .map_err(|e| format!("bind-mounting {} on itself: {e}", dir.display()))?;
    chdir(dir).map_err(|e| format!("chdir {}: {e}", dir.display()))?;
    // new_root = put_old = ".": the old root ends up stacked on top of the new one...
    pivot_root(".", ".").map_err(|e| format!("pivot_root: {e}"))?;
    // ...and detaching it removes the host's whole mount tree from this namespace.
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| format!("umount old root: {e}"))?;
    chdir("/").map_err(|e| format!("chdir /: {e}"))
}
// ANCHOR_END: pivot_into
