//! Chapter 5 · run: one container from the four primitives (reference solution)
//!
//!   ch05_run --rootfs DIR --hostname NAME --cpus FLOAT --cgroup-parent CG -- CMD [ARGS]...
//!       Creates CG/ch05-<pid> capped at FLOAT CPUs (chapter 4), then unshare(CLONE_NEWPID)
//!       and fork (chapter 2). The child, PID 1 of the new namespace, joins the cgroup,
//!       makes new mount and UTS namespaces, makes / private (chapter 3), bind-mounts DIR
//!       on itself, pivot_roots into it and detaches the old root, mounts a fresh proc at
//!       /proc and a tmpfs at /tmp, sets the hostname and execs CMD. The parent waits,
//!       removes the cgroup and exits with CMD's exit status.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::exit;

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, chdir, fork, pivot_root, sethostname};

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
    let cgroup = create_cgroup(&a.cgroup_parent, a.cpus)?;
    // Chapter 2: the PID namespace is for the children; this process stays where it is.
    // The mount and UTS namespaces are made by the child: this process needs the host's
    // mounts afterwards, to remove the cgroup.
    if let Err(e) = unshare(CloneFlags::CLONE_NEWPID) {
        let _ = std::fs::remove_dir(&cgroup);
        return Err(format!("unshare(CLONE_NEWPID): {e}"));
    }
    // SAFETY: this program has a single thread.
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            let why = be_pid1(a, &cgroup);
            eprintln!("ch05_run: {why}");
            exit(1);
        }
        ForkResult::Parent { child } => {
            let status = loop {
                match waitpid(child, None) {
                    Ok(s @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => break s,
                    Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => return Err(format!("waitpid: {e}")),
                }
            };
            // CMD is gone, and with PID 1 the kernel ended everything it started: the
            // cgroup is empty and can go.
            std::fs::remove_dir(&cgroup).map_err(|e| format!("rmdir {}: {e}", cgroup.display()))?;
            Ok(exit_code(status))
        }
    }
}
// ANCHOR_END: run

// ANCHOR: be_pid1
/// Runs in the child, PID 1 of the new PID namespace. Returns only on error.
fn be_pid1(a: &Args, cgroup: &Path) -> String {
    // Into the cgroup first: before exec, so that CMD and everything it forks are
    // capped from their first instruction, and before pivot_root takes the host's
    // /sys/fs/cgroup out of sight. "0" means the writing process itself.
    if let Err(e) = std::fs::write(cgroup.join("cgroup.procs"), "0") {
        return format!("joining {}: {e}", cgroup.display());
    }
    // Mount and UTS namespaces of PID 1's own. Had the parent made the mount namespace,
    // pivot_root would move the parent's root too, out of reach of /sys/fs/cgroup.
    if let Err(e) = unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS) {
        return format!("unshare(CLONE_NEWNS | CLONE_NEWUTS): {e}");
    }
    // Chapter 3: nothing mounted from here on may propagate back to the host.
    let private = MsFlags::MS_REC | MsFlags::MS_PRIVATE;
    if let Err(e) = mount(None::<&str>, "/", None::<&str>, private, None::<&str>) {
        return format!("making / private: {e}");
    }
    if let Err(e) = pivot_into(&a.rootfs) {
        return e;
    }
    // Chapter 2: a proc for the new PID namespace; chapter 3: a tmpfs only we see.
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    if let Err(e) = mount(Some("proc"), "/proc", Some("proc"), flags, None::<&str>) {
        return format!("mount proc at /proc: {e}");
    }
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    if let Err(e) = mount(Some("tmpfs"), "/tmp", Some("tmpfs"), flags, None::<&str>) {
        return format!("mount tmpfs at /tmp: {e}");
    }
    // The new UTS namespace: the host keeps its name.
    if let Err(e) = sethostname(&a.hostname) {
        return format!("sethostname: {e}");
    }
    exec(&a.cmd)
}
// ANCHOR_END: be_pid1

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

// ANCHOR: create_cgroup
/// Chapter 4: CG/ch05-<pid> with a limit of `cpus` CPUs, in the format CG speaks.
fn create_cgroup(parent: &Path, cpus: f64) -> Result<PathBuf, String> {
    let dir = parent.join(format!("ch05-{}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    let period = 100_000u64;
    let quota = (cpus * period as f64).round() as u64;
    let writes = if dir.join("cpu.max").exists() {
        vec![("cpu.max", format!("{quota} {period}"))]
    } else {
        vec![
            ("cpu.cfs_period_us", period.to_string()),
            ("cpu.cfs_quota_us", quota.to_string()),
        ]
    };
    for (file, value) in writes {
        if let Err(e) = std::fs::write(dir.join(file), &value) {
            let _ = std::fs::remove_dir(&dir);
            return Err(format!("writing {value} to {file}: {e}"));
        }
    }
    Ok(dir)
}
// ANCHOR_END: create_cgroup

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
