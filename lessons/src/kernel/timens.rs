//! Time namespaces (Linux 5.6+): per-namespace offsets of CLOCK_MONOTONIC and
//! CLOCK_BOOTTIME. `unshare(CLONE_NEWTIME)` leaves the caller where it is; the new
//! namespace is its `time_for_children`, which its next child is born into (and, on Linux
//! 6.0 and later, the caller itself at its next execve). Its offsets are written to
//! /proc/PID/timens_offsets, and only until a process has entered it: then the kernel
//! freezes them (EACCES). CLOCK_REALTIME is not namespaced.

use std::path::Path;
use std::time::Duration;

use nix::sched::{CloneFlags, unshare};
use nix::time::{ClockId, clock_gettime};

use super::sys::SysError;

/// `CLONE_NEWTIME`, which nix's `CloneFlags` does not name: libc's bit, kept as it is.
pub const CLONE_NEWTIME: CloneFlags = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);

/// One line of /proc/PID/timens_offsets: `monotonic 86400 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offset {
    pub clock: Clock,
    pub secs: i64,
    pub nanos: i64,
}

/// The two clocks a time namespace offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    Monotonic,
    Boottime,
}

impl Clock {
    /// The name timens_offsets uses (it also takes the clock ids, 1 and 7).
    pub fn name(self) -> &'static str {
        match self {
            Clock::Monotonic => "monotonic",
            Clock::Boottime => "boottime",
        }
    }
}

/// The offsets of the time namespace file `text` describes (the text of
/// /proc/PID/timens_offsets). Lines of another shape are skipped; a clock may be named or
/// given by its id.
pub fn parse_offsets(text: &str) -> Vec<Offset> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let clock = match it.next()? {
                "monotonic" | "1" => Clock::Monotonic,
                "boottime" | "7" => Clock::Boottime,
                _ => return None,
            };
            let secs = it.next()?.parse().ok()?;
            let nanos = it.next()?.parse().ok()?;
            Some(Offset { clock, secs, nanos })
        })
        .collect()
}

/// The offset of `clock` in seconds (whole seconds; nanoseconds dropped), 0 when the file
/// does not list it.
pub fn offset_of(offsets: &[Offset], clock: Clock) -> i64 {
    offsets
        .iter()
        .find(|o| o.clock == clock)
        .map_or(0, |o| o.secs)
}

/// What to write to timens_offsets for `secs` on both clocks, in one write(2).
pub fn offsets_text(secs: i64) -> String {
    format!("monotonic {secs} 0\nboottime {secs} 0\n")
}

/// /proc/PID/timens_offsets (`None`: this process's own), as the kernel shows it.
pub fn read_offsets(pid: Option<i32>) -> std::io::Result<String> {
    std::fs::read_to_string(match pid {
        Some(p) => format!("/proc/{p}/timens_offsets"),
        None => "/proc/self/timens_offsets".to_owned(),
    })
}

/// Whether this kernel has time namespaces (5.6+, CONFIG_TIME_NS): /proc/self/ns/time.
pub fn supported() -> bool {
    Path::new("/proc/self/ns/time").exists()
}

/// The first number of /proc/uptime: seconds of CLOCK_BOOTTIME, as the reader's time
/// namespace offsets it.
pub fn parse_uptime(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse().ok()
}

/// This process's /proc/uptime, in seconds.
pub fn uptime() -> Option<f64> {
    parse_uptime(&std::fs::read_to_string("/proc/uptime").ok()?)
}

/// CLOCK_BOOTTIME and CLOCK_MONOTONIC as this process reads them now (through the vDSO,
/// which a time namespace's page offsets).
pub fn clocks() -> Result<(Duration, Duration), SysError> {
    let read = |id: ClockId, name: &str| {
        clock_gettime(id)
            .map(Duration::from)
            .map_err(|e| SysError::new(format!("clock_gettime({name})"), e))
    };
    Ok((
        read(ClockId::CLOCK_BOOTTIME, "CLOCK_BOOTTIME")?,
        read(ClockId::CLOCK_MONOTONIC, "CLOCK_MONOTONIC")?,
    ))
}

/// In a forked child: a new time namespace for this process's children, with both clocks
/// ahead by `secs`, written before any process is in it (`unshare --time --boottime S
/// --monotonic S`). The next fork is born there.
pub fn unshare_with_offsets(secs: i64) -> Result<(), SysError> {
    unshare(CLONE_NEWTIME).map_err(|e| SysError::new("unshare(CLONE_NEWTIME)", e))?;
    write_offsets(secs)
}

/// Writes `secs` for both clocks to /proc/self/timens_offsets, in one write.
pub fn write_offsets(secs: i64) -> Result<(), SysError> {
    std::fs::write("/proc/self/timens_offsets", offsets_text(secs)).map_err(|e| {
        SysError::new(
            "write(/proc/self/timens_offsets)",
            nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kernels_offsets_by_name_or_id() {
        let text = "monotonic      86400         0\nboottime      86400         0\n";
        let o = parse_offsets(text);
        assert_eq!(offset_of(&o, Clock::Monotonic), 86400);
        assert_eq!(offset_of(&o, Clock::Boottime), 86400);
        let ids = parse_offsets("1 5 0\n7 -3 500\n");
        assert_eq!(offset_of(&ids, Clock::Monotonic), 5);
        assert_eq!(
            ids[1],
            Offset {
                clock: Clock::Boottime,
                secs: -3,
                nanos: 500
            }
        );
        assert_eq!(
            offset_of(&parse_offsets("realtime 3 0\n"), Clock::Boottime),
            0
        );
    }

    #[test]
    fn writes_both_clocks_in_one_text() {
        let t = offsets_text(1234);
        assert_eq!(t, "monotonic 1234 0\nboottime 1234 0\n");
        let o = parse_offsets(&t);
        assert_eq!(o.len(), 2);
    }

    #[test]
    fn reads_uptime() {
        assert_eq!(parse_uptime("35.12 60.01\n"), Some(35.12));
        assert_eq!(parse_uptime(""), None);
    }
}
