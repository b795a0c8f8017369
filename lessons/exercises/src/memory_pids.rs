//! Chapter 9 · Memory and pids: the OOM killer and a fork bomb, stopped by cgroups
//!
//! Read the chapter first: book/src/ch09-memory-pids.md, or watch `learn-containers lesson 9`.
//!
//! This file is where you work in chapter 9. The program, src/bin/ch09_memory_pids.rs
//! (given, nothing to change there, but read its `run`), checks its arguments and calls
//! the functions below:
//!
//! ```text
//!   ch09_memory_pids --memory-parent CGM --pids-parent CGP --memory BYTES --pids N -- CMD [ARGS]...
//! ```
//!
//! CGM is a cgroup of the memory controller and CGP one of the pids controller, both
//! prepared for you by `learn-containers verify 9`. On cgroup v2 they are the same
//! directory; on v1 and hybrid hosts each controller has a tree of its own, so they are
//! two. The program must:
//!
//! ```text
//!   1. Make ch09-<its own pid> under CGM and under CGP (given: make_cgroups; once on v2).
//!   2. Write the memory limit of BYTES bytes into the memory cgroup, with no swap
//!      beyond it where the kernel has the file:
//!        v2 (the cgroup has memory.max):  memory.max ← BYTES, memory.swap.max ← 0
//!        v1 (memory.limit_in_bytes):      memory.limit_in_bytes ← BYTES, then
//!                                         memory.memsw.limit_in_bytes ← BYTES
//!      and the pids limit into the pids cgroup: pids.max ← N (the same on v1 and v2).
//!   3. Start CMD with ARGS inside both cgroups, joined between fork and exec (given:
//!      start_in, with chapter 4's join).
//!   4. Once CMD has ended, read from the kernel and print as the last line of stdout
//!        oom_kills=K pids_denied=M peak_bytes=P
//!      K: processes the OOM killer killed (oom_kill in memory.events on v2, in
//!         memory.oom_control on v1);
//!      M: forks the pids limit refused (max in pids.events);
//!      P: the highest memory use (memory.peak on v2, memory.max_usage_in_bytes on v1),
//!         or the word `unknown` where the kernel has neither file.
//!   5. Remove both cgroups (given: chapter 4's remove) and exit with CMD's status
//!      (137 when the OOM killer ended it: 128 + SIGKILL's 9).
//! ```
//!
//! You write `set_memory_limit`, `set_pids_limit` and `read_report`. `counter` is given:
//! it finds one `key value` line in a file such as memory.events.
//!
//! The verifier runs a bash memory hog with --memory 64M (in bytes) and a script that
//! forks more than --pids 20 allows, each inside cgroups of its own that already have a
//! ceiling (a few times the limit), so a mistake here cannot hurt the machine. It reads
//! from outside which cgroups CMD is in, the limit files, the kernel's counters, your
//! last line, and what is left in CGM and CGP.
//!
//! Man pages: cgroups(7) ("Cgroups version 1", "Cgroups version 2"); the kernel's
//! Documentation/admin-guide/cgroup-v2.rst ("Memory Interface Files", "PID Interface
//! Files") and Documentation/admin-guide/cgroup-v1/memory.rst.
//!
//! Work where you see todo!(). Check your work with `learn-containers verify 9`;
//! stuck? `learn-containers hint 9`.

use std::fmt;
use std::path::Path;

/// What the kernel counted while CMD ran, printed as the program's last line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub oom_kills: u64,
    pub pids_denied: u64,
    /// `None`: the kernel has no peak file.
    pub peak_bytes: Option<u64>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let peak = self
            .peak_bytes
            .map_or("unknown".to_string(), |b| b.to_string());
        write!(
            f,
            "oom_kills={} pids_denied={} peak_bytes={peak}",
            self.oom_kills, self.pids_denied
        )
    }
}

// ANCHOR: set_memory_limit
/// Limits `cgroup` (a memory cgroup) to `bytes` of memory and no swap beyond them, in the
/// files of the interface it speaks (header, step 2).
pub fn set_memory_limit(cgroup: &Path, bytes: u64) -> Result<(), String> {
    // Which version: look at the files the kernel put in the new cgroup. The swap file
    // may be missing (a kernel that does not account swap): then skip it, there is no
    // swap to hold back. On v1, memsw counts memory and swap together, and may never be
    // below memory.limit_in_bytes: write the limit first. Book section "The exact files";
    // the kernel's cgroup-v2.rst, memory.max and memory.swap.max.
    let _ = (cgroup, bytes);
    todo!("write the memory limit in bytes, and hold swap to it where the file exists")
}
// ANCHOR_END: set_memory_limit

// ANCHOR: set_pids_limit
/// Limits `cgroup` (a pids cgroup) to `max` tasks (header, step 2).
pub fn set_pids_limit(cgroup: &Path, max: u64) -> Result<(), String> {
    // One file, the same on v1 and v2. Which cgroup is the pids one on a v1 host?
    let _ = (cgroup, max);
    todo!("write pids.max")
}
// ANCHOR_END: set_pids_limit

// ANCHOR: read_report
/// Reads what the kernel counted in the two cgroups (header, step 4); call it after CMD
/// has ended and before the cgroups are removed.
pub fn read_report(memory: &Path, pids: &Path) -> Result<Report, String> {
    // Three numbers, each from the file the kernel keeps it in; `counter` finds a
    // `key value` line. The peak file may not exist (v2 before Linux 5.19): None.
    let _ = (memory, pids);
    todo!("read oom_kill, pids.events max and the peak from the kernel's files")
}
// ANCHOR_END: read_report

/// The number on the line `key N` of the file `file` (memory.events, memory.oom_control,
/// pids.events). The error names the file.
pub fn counter(file: &Path, key: &str) -> Result<u64, String> {
    let text =
        std::fs::read_to_string(file).map_err(|e| format!("reading {}: {e}", file.display()))?;
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == key).then(|| v.trim().parse().ok())?
        })
        .ok_or_else(|| format!("{} has no `{key} N` line", file.display()))
}
