//! Chapter 4 · cgroups: capping CPU at half a core
//!
//! Read the chapter first: book/src/ch04-cgroups-cpu.md, or watch `learn-containers lesson 4`.
//!
//! ```text
//!   ch04_cgroup_cpu --parent DIR --cpus CPUS -- CMD [ARGS]...
//! ```
//!
//! DIR is a cgroup directory prepared for you: `learn-containers verify 4` makes a fresh
//! one under <hierarchy>/learn-containers/ (inside the cpu hierarchy on cgroup v1; with
//! the cpu controller enabled for its children on cgroup v2). The program must:
//!
//! ```text
//!   1. Find out which cgroup interface DIR speaks, from what DIR contains (not from
//!      /sys/fs/cgroup: tests also point DIR at a fake tree of plain files):
//!        DIR/cgroup.controllers exists  → cgroup v2
//!        DIR/cpu.cfs_quota_us exists    → cgroup v1
//!      Neither: DIR is not a cgroup with the cpu controller; say so and exit 1.
//!   2. Create a child cgroup DIR/ch04-<its own pid> (done for you: mkdir).
//!   3. Write the limit of CPUS CPUs into it, with the kernel's default period of
//!      100000 µs (0.5 CPUs is a quota of 50000 µs in every 100000 µs):
//!        v2: cpu.max            ← "<quota> <period>"   e.g. "50000 100000"
//!        v1: cpu.cfs_period_us  ← "<period>", then cpu.cfs_quota_us ← "<quota>"
//!   4. Start CMD with ARGS (it inherits stdin, stdout and stderr) and move its process
//!      into the child cgroup by writing its PID to the child's cgroup.procs.
//!   5. Wait for CMD to finish, then remove the child cgroup (rmdir).
//!   6. Exit with CMD's exit status (128+N when signal N killed it).
//! ```
//!
//! Bad arguments (CPUS not a number, 0 or less, or more than this machine's CPUs) exit
//! with status 2 before anything is created; that part is written for you.
//!
//! The verifier runs a CPU burner as CMD with --cpus 0.5 and --cpus 0.25, and measures
//! from outside: which cgroup /proc/<burner>/cgroup names, the limit files, the burner's
//! CPU time against wall time, cpu.stat's throttling counters, and what is left in DIR.
//!
//! Man pages: cgroups(7) ("Cgroups version 1", "Cgroups version 2", "Creating cgroups and
//! moving processes"); the kernel's Documentation/admin-guide/cgroup-v2.rst (cpu.max) and
//! Documentation/scheduler/sched-bwc.rst (cpu.cfs_quota_us, cpu.cfs_period_us).
//!
//! Work where you see todo!(). Check your work with `learn-containers verify 4`;
//! stuck? `learn-containers hint 4`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, exit};

/// The kernel's default CFS period, in microseconds; docker's `--cpus` uses it too.
const PERIOD_US: u64 = 100_000;

// Until detect() returns them, the compiler sees these as unused.
#[allow(dead_code)]
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

/// CMD's exit status as a shell reports it: its code, or 128+N for signal N.
fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Which interface DIR speaks, from the files in it (see the header, step 1).
fn detect(parent: &Path) -> Result<Version, String> {
    // On v2 the cpu controller must also be listed in DIR/cgroup.subtree_control, or the
    // child gets no cpu.max. Book section "Where cgroups live"; man 7 cgroups.
    let _ = parent;
    todo!("decide between cgroup v1 and v2 from the files in DIR")
}

/// Writes the limit of `cpus` CPUs into `cgroup` in `version`'s files (header, step 3).
fn set_limit(cgroup: &Path, version: Version, cpus: f64) -> Result<(), String> {
    // Book section "The CFS bandwidth model": the quota is CPU time in microseconds per
    // period, also in microseconds.
    let _ = (cgroup, version, cpus, PERIOD_US);
    todo!("compute the quota and write it, with the period, in this version's format")
}

/// Moves process `pid` into `cgroup` (header, step 4).
fn join(cgroup: &Path, pid: u32) -> Result<(), String> {
    // man 7 cgroups, "Creating cgroups and moving processes".
    let _ = (cgroup, pid);
    todo!("write the PID to the cgroup's cgroup.procs")
}

/// Removes `cgroup` once it is empty (header, step 5).
fn remove(cgroup: &Path) -> Result<(), String> {
    // A cgroup is removed with rmdir(2), never by deleting its files (the kernel refuses).
    // While a process is still in it, rmdir fails with EBUSY.
    let _ = cgroup;
    todo!("rmdir the cgroup")
}
