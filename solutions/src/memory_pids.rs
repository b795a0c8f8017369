//! Chapter 9 · Memory and pids: the OOM killer and a fork bomb, stopped by cgroups
//! (reference solution)
//!
//! ```text
//!   ch09_memory_pids --memory-parent CGM --pids-parent CGP --memory BYTES --pids N -- CMD [ARGS]...
//! ```
//!
//! `set_memory_limit` tells the version from the new cgroup's own files and writes the
//! limit in bytes, then holds swap to it where the kernel has the file; `set_pids_limit`
//! is one write of pids.max; `read_report` reads the three counts from the files the
//! kernel keeps them in. The given program makes the cgroups, has CMD join them before
//! exec, prints the report and removes the cgroups.

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
    let (limit, swap, no_swap) = if cgroup.join("memory.max").exists() {
        // v2: swap has a limit of its own, on top of memory.max.
        ("memory.max", "memory.swap.max", 0)
    } else if cgroup.join("memory.limit_in_bytes").exists() {
        // v1: memsw is memory and swap together, so no swap is the same number.
        (
            "memory.limit_in_bytes",
            "memory.memsw.limit_in_bytes",
            bytes,
        )
    } else {
        return Err(format!(
            "{} has neither memory.max nor memory.limit_in_bytes: not a memory cgroup",
            cgroup.display()
        ));
    };
    // The limit first: v1 refuses a memsw below memory.limit_in_bytes.
    write(&cgroup.join(limit), bytes)?;
    // Without swap accounting there is no swap file, and no swap to hold back.
    let swap = cgroup.join(swap);
    if swap.exists() {
        write(&swap, no_swap)?;
    }
    Ok(())
}
// ANCHOR_END: set_memory_limit

// ANCHOR: set_pids_limit
/// Limits `cgroup` (a pids cgroup) to `max` tasks (header, step 2).
pub fn set_pids_limit(cgroup: &Path, max: u64) -> Result<(), String> {
    write(&cgroup.join("pids.max"), max)
}
// ANCHOR_END: set_pids_limit

// ANCHOR: read_report
/// Reads what the kernel counted in the two cgroups (header, step 4); call it after CMD
/// has ended and before the cgroups are removed.
pub fn read_report(memory: &Path, pids: &Path) -> Result<Report, String> {
    let v2 = memory.join("memory.events").exists();
    let (events, peak) = if v2 {
        ("memory.events", "memory.peak")
    } else {
        ("memory.oom_control", "memory.max_usage_in_bytes")
    };
    let peak = memory.join(peak);
    let peak_bytes = if peak.exists() {
        let text = std::fs::read_to_string(&peak)
            .map_err(|e| format!("reading {}: {e}", peak.display()))?;
        Some(
            text.trim()
                .parse()
                .map_err(|_| format!("{}: {text:?} is not a number", peak.display()))?,
        )
    } else {
        None
    };
    Ok(Report {
        oom_kills: counter(&memory.join(events), "oom_kill")?,
        pids_denied: counter(&pids.join("pids.events"), "max")?,
        peak_bytes,
    })
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

/// Writes one number into a cgroup file, in one write; the error names the file.
fn write(file: &Path, value: u64) -> Result<(), String> {
    std::fs::write(file, value.to_string())
        .map_err(|e| format!("writing {value} to {}: {e}", file.display()))
}
