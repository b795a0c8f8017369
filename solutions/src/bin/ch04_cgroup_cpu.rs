//! Chapter 4 · cgroups: capping CPU at half a core (reference solution)
//!
//!   ch04_cgroup_cpu --parent DIR --cpus CPUS -- CMD [ARGS]...
//!
//! Detects v1 or v2 from DIR's files, creates DIR/ch04-<pid>, writes the CPU limit in
//! that version's format, runs CMD inside it, removes it, and exits with CMD's status.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, exit};

/// The kernel's default CFS period, in microseconds; docker's `--cpus` uses it too.
const PERIOD_US: u64 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

struct Args {
    parent: PathBuf,
    cpus: f64,
    cmd: Vec<String>,
}

fn main() {
    let args = match parse_args(std::env::args().skip(1).collect()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ch04_cgroup_cpu: {e}");
            eprintln!("usage: ch04_cgroup_cpu --parent DIR --cpus CPUS -- CMD [ARGS]...");
            exit(2);
        }
    };
    match run(&args) {
        Ok(code) => exit(code),
        Err(e) => {
            eprintln!("ch04_cgroup_cpu: {e}");
            exit(1);
        }
    }
}

fn parse_args(args: Vec<String>) -> Result<Args, String> {
    let (mut parent, mut cpus) = (None, None);
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--parent" => parent = it.next().map(PathBuf::from),
            "--cpus" => cpus = it.next(),
            "--" => break,
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    let cmd: Vec<String> = it.collect();
    let parent = parent.ok_or("--parent DIR is missing")?;
    let cpus = cpus.ok_or("--cpus CPUS is missing")?;
    if cmd.is_empty() {
        return Err("no command given after --".into());
    }
    let cpus: f64 = cpus
        .parse()
        .map_err(|_| format!("--cpus {cpus}: not a number"))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if !cpus.is_finite() || cpus <= 0.0 {
        return Err(format!(
            "--cpus {cpus}: give a number of CPUs above 0, such as 0.5"
        ));
    }
    if cpus > cores as f64 {
        return Err(format!(
            "--cpus {cpus}: this machine has {cores} CPUs; a quota above that could never \
             be used up, so it would not limit anything"
        ));
    }
    // The kernel refuses quotas below 1000 µs.
    if (cpus * PERIOD_US as f64).round() < 1000.0 {
        return Err(format!("--cpus {cpus}: the smallest limit is 0.01 CPUs"));
    }
    Ok(Args { parent, cpus, cmd })
}

// ANCHOR: run
fn run(args: &Args) -> Result<i32, String> {
    let version = detect(&args.parent)?;
    let cgroup = args.parent.join(format!("ch04-{}", std::process::id()));
    // A cgroup is a directory: mkdir creates it and the kernel fills it with its files.
    std::fs::create_dir(&cgroup).map_err(|e| format!("mkdir {}: {e}", cgroup.display()))?;
    let result = limit_and_run(&cgroup, version, args);
    // Remove the cgroup whatever happened, then report the first error.
    let removed = remove(&cgroup);
    let code = result?;
    removed?;
    Ok(code)
}

fn limit_and_run(cgroup: &Path, version: Version, args: &Args) -> Result<i32, String> {
    set_limit(cgroup, version, args.cpus)?;
    let mut child: Child = Command::new(&args.cmd[0])
        .args(&args.cmd[1..])
        .spawn()
        .map_err(|e| format!("starting {}: {e}", args.cmd[0]))?;
    if let Err(e) = join(cgroup, child.id()) {
        // Never leave CMD running outside the limit: stop it, then report.
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    let status = child.wait().map_err(|e| format!("waiting for CMD: {e}"))?;
    Ok(exit_code(status))
}
// ANCHOR_END: run

/// CMD's exit status as a shell reports it: its code, or 128+N for signal N.
fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

// ANCHOR: detect
/// Which interface DIR speaks, from the files in it.
fn detect(parent: &Path) -> Result<Version, String> {
    if parent.join("cgroup.controllers").is_file() {
        // v2: a child only gets cpu.max if its parent hands the controller down.
        let enabled = std::fs::read_to_string(parent.join("cgroup.subtree_control"))
            .map_err(|e| format!("reading {}/cgroup.subtree_control: {e}", parent.display()))?;
        if !enabled.split_whitespace().any(|c| c == "cpu") {
            return Err(format!(
                "{} is a cgroup v2 directory, but the cpu controller is not enabled for its \
                 children: `echo +cpu > {}/cgroup.subtree_control` (run `learn-containers doctor`)",
                parent.display(),
                parent.display()
            ));
        }
        Ok(Version::V2)
    } else if parent.join("cpu.cfs_quota_us").is_file() {
        Ok(Version::V1)
    } else {
        Err(format!(
            "{} is not a cgroup with the cpu controller: it has neither cgroup.controllers \
             (v2) nor cpu.cfs_quota_us (v1). Run `learn-containers doctor`",
            parent.display()
        ))
    }
}
// ANCHOR_END: detect

// ANCHOR: set_limit
/// Writes the limit of `cpus` CPUs into `cgroup` in `version`'s files.
fn set_limit(cgroup: &Path, version: Version, cpus: f64) -> Result<(), String> {
    // CPU time in microseconds that the cgroup may use in every period.
    let quota = (cpus * PERIOD_US as f64).round() as u64;
    match version {
        Version::V2 => write(&cgroup.join("cpu.max"), &format!("{quota} {PERIOD_US}")),
        Version::V1 => {
            // Period first: the kernel checks the quota against the current period.
            write(&cgroup.join("cpu.cfs_period_us"), &PERIOD_US.to_string())?;
            write(&cgroup.join("cpu.cfs_quota_us"), &quota.to_string())
        }
    }
}
// ANCHOR_END: set_limit

// ANCHOR: join
/// Moves process `pid` into `cgroup`.
fn join(cgroup: &Path, pid: u32) -> Result<(), String> {
    // CMD's PID, not ours: writing our own would cap this program instead of CMD.
    write(&cgroup.join("cgroup.procs"), &pid.to_string())
}
// ANCHOR_END: join

// ANCHOR: remove
/// Removes `cgroup` once it is empty.
fn remove(cgroup: &Path) -> Result<(), String> {
    // CMD has been waited for, but the kernel may take a moment to let go of the
    // cgroup: retry EBUSY briefly.
    let mut tries = 0;
    loop {
        match std::fs::remove_dir(cgroup) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => return Err(format!("rmdir {}: {e}", cgroup.display())),
        }
    }
}
// ANCHOR_END: remove

/// One interface file, one write; the kernel's error (EINVAL for a value it cannot use)
/// comes back with the file's name.
fn write(file: &Path, value: &str) -> Result<(), String> {
    std::fs::write(file, value).map_err(|e| format!("writing `{value}` to {}: {e}", file.display()))
}
