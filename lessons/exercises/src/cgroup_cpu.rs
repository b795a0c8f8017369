//! Chapter 4 · cgroups: capping CPU at half a core
//!
//! Read the chapter first: book/src/ch04-cgroups-cpu.md, or watch `learn-containers lesson 4`.
//!
//! This file is where you work in chapter 4. The program, src/bin/ch04_cgroup_cpu.rs
//! (given, nothing to change there, but read its `start_in`), checks its arguments and
//! calls the functions below:
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
//!   2. Create a child cgroup DIR/ch04-<its own pid> (given: create).
//!   3. Write the limit of CPUS CPUs into it, with the kernel's default period of
//!      100000 µs (0.5 CPUs is a quota of 50000 µs in every 100000 µs):
//!        v2: cpu.max            ← "<quota> <period>"   e.g. "50000 100000"
//!        v1: cpu.cfs_period_us  ← "<period>", then cpu.cfs_quota_us ← "<quota>"
//!   4. Start CMD with ARGS (it inherits stdin, stdout and stderr) inside the child
//!      cgroup: CMD's process joins it between fork and exec, so that CMD and everything
//!      it forks are capped from their first instruction (given: start_in forks, and
//!      the child calls your join, then execs CMD).
//!   5. Wait for CMD to finish, then remove the child cgroup (rmdir).
//!   6. Exit with CMD's exit status (128+N when signal N killed it).
//! ```
//!
//! You write `detect`, `set_limit`, `join` and `remove`; `create` is given. Chapter 5
//! calls `create`, `join` and `remove` again, for its container.
//!
//! Bad arguments (CPUS not a number, 0 or less, or more than this machine's CPUs) exit
//! with status 2 before anything is created; that part is written for you.
//!
//! The verifier runs a CPU burner as CMD with --cpus 0.5 and --cpus 0.25, and measures
//! from outside: which cgroup /proc/<burner>/cgroup names, the limit files, the burner's
//! CPU time against wall time, cpu.stat's throttling counters, and what is left in DIR.
//!
//! Man pages: cgroups(7) ("Cgroups version 1", "Cgroups version 2", "Creating cgroups and
//! moving processes", "Removing cgroups"); the kernel's
//! Documentation/admin-guide/cgroup-v2.rst (cpu.max) and
//! Documentation/scheduler/sched-bwc.rst (cpu.cfs_quota_us, cpu.cfs_period_us).
//!
//! Work where you see todo!(). Check your work with `learn-containers verify 4`;
//! stuck? `learn-containers hint 4`.

use std::path::{Path, PathBuf};

/// The kernel's default CFS period, in microseconds; docker's `--cpus` uses it too.
pub const PERIOD_US: u64 = 100_000;

/// The two cgroup interfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// The cgroup PARENT/NAME, with a limit of `cpus` CPUs in the interface PARENT speaks
/// (header, steps 1 to 3). When it fails, nothing is left in PARENT. Given.
pub fn create(parent: &Path, name: &str, cpus: f64) -> Result<PathBuf, String> {
    let version = detect(parent)?;
    let cgroup = parent.join(name);
    // A cgroup is a directory: mkdir creates it and the kernel fills it with its files.
    std::fs::create_dir(&cgroup).map_err(|e| format!("mkdir {}: {e}", cgroup.display()))?;
    if let Err(e) = set_limit(&cgroup, version, cpus) {
        // Nothing is in it yet, so it can go at once.
        let _ = remove(&cgroup);
        return Err(e);
    }
    Ok(cgroup)
}

/// Which interface DIR speaks, from the files in it (header, step 1).
pub fn detect(parent: &Path) -> Result<Version, String> {
    // On v2 the cpu controller must also be listed in DIR/cgroup.subtree_control, or the
    // child gets no cpu.max. Book section "Where cgroups live"; man 7 cgroups.
    let _ = parent;
    todo!("decide between cgroup v1 and v2 from the files in DIR")
}

/// Writes the limit of `cpus` CPUs into `cgroup` in `version`'s files (header, step 3).
pub fn set_limit(cgroup: &Path, version: Version, cpus: f64) -> Result<(), String> {
    // Book section "The CFS bandwidth model": the quota is CPU time in microseconds per
    // period, also in microseconds.
    let _ = (cgroup, version, cpus);
    todo!("compute the quota and write it, with the period, in this version's format")
}

/// Moves the process that calls it into `cgroup` (header, step 4). Everything it forks
/// afterwards is born there too.
pub fn join(cgroup: &Path) -> Result<(), String> {
    // Which process writes to the cgroup's cgroup.procs, and what does it write to mean
    // "me"? man 7 cgroups, "Creating cgroups and moving processes".
    let _ = cgroup;
    todo!("write to the cgroup's cgroup.procs so that the writing process moves in")
}

/// Removes `cgroup` once every process in it has exited (header, step 5).
pub fn remove(cgroup: &Path) -> Result<(), String> {
    // A cgroup is removed with rmdir(2), never by deleting its files (the kernel refuses).
    // While a live process is still in it, rmdir fails with EBUSY. man 7 cgroups,
    // "Removing cgroups".
    let _ = cgroup;
    todo!("rmdir the cgroup")
}
