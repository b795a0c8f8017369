//! How much of one CPU a process gets: its CPU clock (clock_getcpuclockid, to the
//! nanosecond) against wall time over a window. Chapters 4 and 5 judge a cap by it.

use std::time::{Duration, Instant};

use crate::kernel::procfs;

/// How far a measured share may be from the cap asked for.
pub const TOLERANCE: f64 = 0.1;

/// Whether a verifier's run measures the share, or only looks at where things run (to
/// repeat a race many times without the measuring window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Share,
    Skip,
}

/// CPU time used over wall time.
#[derive(Debug, Clone, Copy)]
pub struct Share {
    pub cpu: Duration,
    pub wall: Duration,
}

impl Share {
    pub fn value(&self) -> f64 {
        self.cpu.as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }
}

/// Measures `pid`'s share of one CPU over `window` (sleeping meanwhile).
pub fn measure(pid: i32, window: Duration) -> Result<Share, String> {
    let (cpu0, t0) = (procfs::cpu_clock(pid), Instant::now());
    std::thread::sleep(window);
    let (cpu1, t1) = (procfs::cpu_clock(pid), Instant::now());
    match (cpu0, cpu1) {
        (Ok(a), Ok(b)) => Ok(Share {
            cpu: b.saturating_sub(a),
            wall: t1 - t0,
        }),
        (Err(e), _) | (_, Err(e)) => Err(format!("{e:#}")),
    }
}

/// The 1-minute load average, as /proc/loadavg gives it: why a capped process can get
/// less than its quota.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}
