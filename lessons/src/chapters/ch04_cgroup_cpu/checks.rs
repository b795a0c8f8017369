//! Chapter 4's checks, in report order, and how its messages name cgroups.

use std::path::Path;

crate::checks! {
    /// The checks of chapter 4, in report order.
    pub enum Ch04 {
        Moved => "CMD, and what it forks at once, run in a new cgroup under DIR",
        Limit => "the CPU limit is written in this host's format",
        ShareHalf => "--cpus 0.5: CPU time / wall time is 0.5 ± 0.1",
        ShareQuarter => "--cpus 0.25: CPU time / wall time is 0.25 ± 0.1",
        Throttling => "cpu.stat shows throttling while CMD runs",
        Exit => "the program exits with CMD's exit status",
        Residue => "nothing is left in DIR afterwards",
        Refused => "a DIR that is no cpu cgroup is refused: exit 1, nothing created",
    }
}

/// Shows `dir` relative to DIR, as the learner's program names it.
pub fn rel(dir: &Path, parent: &Path) -> String {
    match dir.strip_prefix(parent) {
        Ok(r) if r.as_os_str().is_empty() => "DIR itself".into(),
        Ok(r) => format!("DIR/{}", r.display()),
        Err(_) => dir.display().to_string(),
    }
}
