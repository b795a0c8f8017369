//! Chapter 9's checks, in report order, and how its messages name cgroups.

use std::path::Path;

crate::checks! {
    /// The checks of chapter 9, in report order.
    pub enum Ch09 {
        Joined => "CMD runs in the program's new cgroups: memory under CGM, pids under CGP",
        MemoryLimit => "the memory limit is BYTES, in bytes",
        Swap => "no swap beyond the limit, where the host has the swap file",
        PidsLimit => "pids.max is N, in the pids cgroup",
        OomKilled => "--memory 64M: the bash hog is killed by the OOM killer (137), and counted",
        ForksRefused => "--pids 20: forks are refused, counted, and the script survives (0)",
        Report => "the last line reports the kernel's counts: oom_kills, pids_denied, peak_bytes ± 10%",
        Exit => "the program exits with CMD's status",
        Residue => "both cgroups are removed; nothing is left in CGM or CGP",
    }
}

/// Shows `dir` relative to `parent`, which the messages call `name` (CGM or CGP).
pub fn rel(dir: &Path, parent: &Path, name: &str) -> String {
    match dir.strip_prefix(parent) {
        Ok(r) if r.as_os_str().is_empty() => format!("{name} itself"),
        Ok(r) => format!("{name}/{}", r.display()),
        Err(_) => dir.display().to_string(),
    }
}
