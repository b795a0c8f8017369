//! The memory controller: a hard limit with swap held to it (`memory.max` and
//! `memory.swap.max` on v2, `memory.limit_in_bytes` and `memory.memsw.limit_in_bytes` on
//! v1), v2's throttling threshold `memory.high`, and the counters that show the limit
//! working: usage, peak, and the OOM killer's kills (`memory.events` on v2,
//! `memory.oom_control` on v1).

use serde::Serialize;

use super::error::CgroupError;
use super::files::{key_values, read_file, write_file};
use super::group::Cgroup;
use super::limit::Limit;
use super::mode::Version;

/// v1 has no word for "no limit": it shows the largest page count times the page size
/// (9223372036854771712 with 4 KiB pages). Anything from 2^62 up reads as unlimited.
const V1_UNLIMITED_FROM: u64 = 1 << 62;

/// A memory limit: at most `max` bytes of memory, and at most `swap` bytes of swap on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MemoryLimit {
    /// `None`: no limit ("max" on v2, -1 on v1).
    pub max: Option<u64>,
    /// Swap allowed beyond `max`; `Some(0)`: none, `None`: no limit.
    pub swap: Option<u64>,
}

/// The memory controller's files on one version, for the book's table and the demos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MemoryFiles {
    /// The hard limit: the OOM killer acts when it cannot be kept.
    pub limit: &'static str,
    /// Where swap is limited (absent when the kernel does not account swap).
    pub swap: &'static str,
    /// Memory in use now.
    pub usage: &'static str,
    /// The highest usage so far (v2: Linux 5.19 and later).
    pub peak: &'static str,
    /// Where the OOM killer's kills are counted.
    pub oom_kills: &'static str,
}

/// The memory files of `version`.
pub fn memory_files(version: Version) -> MemoryFiles {
    match version {
        Version::V2 => MemoryFiles {
            limit: "memory.max",
            swap: "memory.swap.max",
            usage: "memory.current",
            peak: "memory.peak",
            oom_kills: "memory.events",
        },
        Version::V1 => MemoryFiles {
            limit: "memory.limit_in_bytes",
            // memsw is memory and swap together, so "no swap" is the same number as the
            // memory limit.
            swap: "memory.memsw.limit_in_bytes",
            usage: "memory.usage_in_bytes",
            peak: "memory.max_usage_in_bytes",
            oom_kills: "memory.oom_control",
        },
    }
}

impl MemoryLimit {
    /// `bytes` of memory and no swap at all: what `docker run --memory` does when
    /// `--memory-swap` is set to the same value, and what a limit must be on a host with
    /// swap, or a hog swaps instead of being killed.
    pub fn no_swap(bytes: u64) -> MemoryLimit {
        MemoryLimit {
            max: Some(bytes),
            swap: Some(0),
        }
    }

    /// No limit at all.
    pub fn unlimited() -> MemoryLimit {
        MemoryLimit {
            max: None,
            swap: None,
        }
    }

    /// The v2 files and their values: `memory.max`, then `memory.swap.max`.
    pub fn v2_files(&self) -> [(&'static str, String); 2] {
        [
            ("memory.max", show_max(self.max)),
            ("memory.swap.max", show_max(self.swap)),
        ]
    }

    /// The v1 files and their values, in the order the kernel accepts them: memsw (memory
    /// plus swap) may never be below the memory limit, so a limit is written before memsw
    /// and lifted after it.
    pub fn v1_files(&self) -> Vec<(&'static str, String)> {
        let memsw = match (self.max, self.swap) {
            (Some(m), Some(s)) => m.saturating_add(s).to_string(),
            _ => "-1".to_string(),
        };
        let limit = ("memory.limit_in_bytes", v1_value(self.max));
        let swap = ("memory.memsw.limit_in_bytes", memsw);
        if self.max.is_some() {
            vec![limit, swap]
        } else {
            vec![swap, limit]
        }
    }

    /// Parses v2's `memory.max` and, when the kernel has it, `memory.swap.max`.
    pub fn parse_v2(max: &str, swap: Option<&str>) -> Result<MemoryLimit, CgroupError> {
        Ok(MemoryLimit {
            max: parse_max("memory.max", max)?,
            swap: match swap {
                Some(s) => parse_max("memory.swap.max", s)?,
                None => None,
            },
        })
    }

    /// Parses v1's `memory.limit_in_bytes` and, when the kernel has it,
    /// `memory.memsw.limit_in_bytes` (memory and swap together).
    pub fn parse_v1(limit: &str, memsw: Option<&str>) -> Result<MemoryLimit, CgroupError> {
        let max = parse_v1_bytes("memory.limit_in_bytes", limit)?;
        let swap = match memsw {
            Some(t) => parse_v1_bytes("memory.memsw.limit_in_bytes", t)?
                .map(|total| total.saturating_sub(max.unwrap_or(0))),
            None => None,
        };
        Ok(MemoryLimit { max, swap })
    }
}

impl Limit for MemoryLimit {
    const CONTROLLER: &'static str = "memory";
    /// Without swap accounting (v1 booted without it, or a kernel without swap support)
    /// the swap files do not exist, and there is no swap to hold back either.
    const OPTIONAL: &'static [&'static str] = &["memory.swap.max", "memory.memsw.limit_in_bytes"];

    fn writes(&self, version: Version) -> Vec<(&'static str, String)> {
        match version {
            Version::V2 => self.v2_files().to_vec(),
            Version::V1 => self.v1_files(),
        }
    }

    fn read(cgroup: &Cgroup) -> Result<MemoryLimit, CgroupError> {
        let optional = |name: &str| {
            let f = cgroup.file(name);
            f.exists().then(|| read_file(&f)).transpose()
        };
        match cgroup.version {
            Version::V2 => MemoryLimit::parse_v2(
                &read_file(&cgroup.file("memory.max"))?,
                optional("memory.swap.max")?.as_deref(),
            ),
            Version::V1 => MemoryLimit::parse_v1(
                &read_file(&cgroup.file("memory.limit_in_bytes"))?,
                optional("memory.memsw.limit_in_bytes")?.as_deref(),
            ),
        }
    }
}

fn show_max(v: Option<u64>) -> String {
    v.map_or("max".to_string(), |b| b.to_string())
}

fn v1_value(v: Option<u64>) -> String {
    v.map_or("-1".to_string(), |b| b.to_string())
}

/// A v2 value: a number of bytes, or `max`.
fn parse_max(what: &str, text: &str) -> Result<Option<u64>, CgroupError> {
    match text.trim() {
        "max" => Ok(None),
        t => t.parse().map(Some).map_err(|_| CgroupError::Parse {
            what: what.to_string(),
            text: text.to_string(),
            reason: "not a number of bytes or `max`".to_string(),
        }),
    }
}

/// A v1 value: bytes, where -1 and the page counter's largest value mean no limit.
fn parse_v1_bytes(what: &str, text: &str) -> Result<Option<u64>, CgroupError> {
    let t = text.trim();
    if t == "-1" {
        return Ok(None);
    }
    let v: u64 = t.parse().map_err(|_| CgroupError::Parse {
        what: what.to_string(),
        text: text.to_string(),
        reason: "not a number of bytes".to_string(),
    })?;
    Ok((v < V1_UNLIMITED_FROM).then_some(v))
}

/// The counters of v2's `memory.events` (hierarchical: a cgroup's counts include its
/// descendants'). Missing keys read as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct MemoryEvents {
    /// Reclaimed while below memory.low.
    pub low: u64,
    /// Throttled and reclaimed for going over memory.high.
    pub high: u64,
    /// Usage was about to go over memory.max.
    pub max: u64,
    /// The cgroup ran out of memory (reclaim could not keep it under memory.max).
    pub oom: u64,
    /// Processes the OOM killer killed in it.
    pub oom_kill: u64,
}

/// Parses v2's `memory.events`.
pub fn parse_memory_events(text: &str) -> MemoryEvents {
    let kv = key_values(text);
    let get = |k: &str| kv.get(k).copied().unwrap_or(0);
    MemoryEvents {
        low: get("low"),
        high: get("high"),
        max: get("max"),
        oom: get("oom"),
        oom_kill: get("oom_kill"),
    }
}

/// v1's `memory.oom_control`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct OomControl {
    /// 1: the OOM killer is off here, and tasks that hit the limit wait instead.
    pub oom_kill_disable: bool,
    /// 1: the cgroup is out of memory right now (tasks are waiting).
    pub under_oom: bool,
    /// Processes the OOM killer killed in this cgroup (not counted in its parents); the
    /// line exists from Linux 4.13.
    pub oom_kill: Option<u64>,
}

/// Parses v1's `memory.oom_control`.
pub fn parse_oom_control(text: &str) -> OomControl {
    let kv = key_values(text);
    OomControl {
        oom_kill_disable: kv.get("oom_kill_disable").is_some_and(|v| *v != 0),
        under_oom: kv.get("under_oom").is_some_and(|v| *v != 0),
        oom_kill: kv.get("oom_kill").copied(),
    }
}

impl Cgroup {
    /// Bytes of memory charged to this cgroup now (`memory.current`,
    /// `memory.usage_in_bytes`).
    pub fn memory_current(&self) -> Result<u64, CgroupError> {
        self.read_number(memory_files(self.version).usage)
    }

    /// The highest usage so far (`memory.peak`, `memory.max_usage_in_bytes`); `None` when
    /// the kernel has no such file (v2 before Linux 5.19).
    pub fn memory_peak(&self) -> Result<Option<u64>, CgroupError> {
        let name = memory_files(self.version).peak;
        if !self.file(name).exists() {
            return Ok(None);
        }
        self.read_number(name).map(Some)
    }

    /// How many processes the OOM killer has killed in this cgroup: `oom_kill` of
    /// `memory.events` (v2) or of `memory.oom_control` (v1; a kernel before 4.13 has no
    /// such line, which is an error here).
    pub fn oom_kills(&self) -> Result<u64, CgroupError> {
        let name = memory_files(self.version).oom_kills;
        let text = read_file(&self.file(name))?;
        match self.version {
            Version::V2 => Ok(parse_memory_events(&text).oom_kill),
            Version::V1 => parse_oom_control(&text)
                .oom_kill
                .ok_or_else(|| CgroupError::Parse {
                    what: self.file(name).display().to_string(),
                    text,
                    reason: "no oom_kill line (Linux 4.13 and later have one)".to_string(),
                }),
        }
    }

    /// v2's `memory.events`.
    pub fn memory_events(&self) -> Result<MemoryEvents, CgroupError> {
        Ok(parse_memory_events(&read_file(
            &self.file("memory.events"),
        )?))
    }

    /// Sets v2's `memory.high` (`None`: "max"): above it the kernel throttles the
    /// cgroup's allocations and reclaims, and kills nothing. v1 has no such file.
    pub fn set_memory_high(&self, bytes: Option<u64>) -> Result<(), CgroupError> {
        if self.version == Version::V1 {
            return Err(CgroupError::V2Only {
                file: "memory.high",
                path: self.path.clone(),
            });
        }
        write_file(&self.file("memory.high"), &show_max(bytes))
    }

    /// The swap file this cgroup has, if the kernel accounts swap.
    pub fn swap_file(&self) -> Option<&'static str> {
        let name = memory_files(self.version).swap;
        self.file(name).exists().then_some(name)
    }

    /// A file holding one number.
    pub(super) fn read_number(&self, name: &str) -> Result<u64, CgroupError> {
        let file = self.file(name);
        let text = read_file(&file)?;
        text.trim().parse().map_err(|_| CgroupError::Parse {
            what: file.display().to_string(),
            text,
            reason: "not a number".to_string(),
        })
    }
}

/// A size as `docker run --memory` and `learn-containers run --memory` take it: bytes, or
/// a number with a unit `k`, `m`, `g` (powers of 1024; either case, `b` and `ib` allowed
/// after it): `64M` is 67108864.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let unit_at = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(unit_at);
    if number.is_empty() {
        return Err(format!(
            "`{t}` is not a size: give bytes, or a number with k, m or g (64M)"
        ));
    }
    let shift = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        _ => {
            return Err(format!(
                "`{t}`: the unit must be k, m or g (powers of 1024), as in 64M"
            ));
        }
    };
    if unit == "i" || unit == "ib" {
        return Err(format!("`{t}`: a unit needs a letter, as in 64MiB"));
    }
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{t}`: the number is too large"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("`{t}`: more bytes than any machine has"))
}

/// Bytes the way a person reads them: `64 MiB`, `1.5 GiB`, `812 KiB`, `37 B`.
pub fn show_bytes(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            let v = bytes as f64 / size as f64;
            return if bytes.is_multiple_of(size) {
                format!("{} {unit}", bytes / size)
            } else {
                format!("{v:.1} {unit}")
            };
        }
    }
    format!("{bytes} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB64: u64 = 64 << 20;

    #[test]
    fn no_swap_is_max_and_swap_zero_on_v2_and_memsw_equal_on_v1() {
        let l = MemoryLimit::no_swap(MIB64);
        assert_eq!(
            l.writes(Version::V2),
            vec![
                ("memory.max", "67108864".to_string()),
                ("memory.swap.max", "0".to_string())
            ]
        );
        assert_eq!(
            l.writes(Version::V1),
            vec![
                ("memory.limit_in_bytes", "67108864".to_string()),
                ("memory.memsw.limit_in_bytes", "67108864".to_string())
            ]
        );
    }

    #[test]
    fn v1_lifts_memsw_before_the_limit() {
        assert_eq!(
            MemoryLimit::unlimited().writes(Version::V1),
            vec![
                ("memory.memsw.limit_in_bytes", "-1".to_string()),
                ("memory.limit_in_bytes", "-1".to_string())
            ]
        );
        assert_eq!(
            MemoryLimit::unlimited().v2_files()[0],
            ("memory.max", "max".to_string())
        );
    }

    #[test]
    fn parses_both_versions_back() {
        assert_eq!(
            MemoryLimit::parse_v2("67108864\n", Some("0\n")).unwrap(),
            MemoryLimit::no_swap(MIB64)
        );
        assert_eq!(
            MemoryLimit::parse_v2("max\n", Some("max\n")).unwrap(),
            MemoryLimit::unlimited()
        );
        assert_eq!(
            MemoryLimit::parse_v2("max\n", None).unwrap(),
            MemoryLimit::unlimited()
        );
        assert_eq!(
            MemoryLimit::parse_v1("67108864\n", Some("67108864\n")).unwrap(),
            MemoryLimit::no_swap(MIB64)
        );
        // The unlimited value v1 shows with 4 KiB pages.
        let unlimited = "9223372036854771712\n";
        assert_eq!(
            MemoryLimit::parse_v1("67108864\n", Some(unlimited)).unwrap(),
            MemoryLimit {
                max: Some(MIB64),
                swap: None
            }
        );
        assert_eq!(
            MemoryLimit::parse_v1(unlimited, Some(unlimited)).unwrap(),
            MemoryLimit::unlimited()
        );
        assert!(matches!(
            MemoryLimit::parse_v2("64M", None),
            Err(CgroupError::Parse { .. })
        ));
    }

    #[test]
    fn reads_memory_events_and_oom_control() {
        let e =
            parse_memory_events("low 0\nhigh 12\nmax 40\noom 1\noom_kill 1\noom_group_kill 0\n");
        assert_eq!(
            e,
            MemoryEvents {
                low: 0,
                high: 12,
                max: 40,
                oom: 1,
                oom_kill: 1
            }
        );
        assert_eq!(parse_memory_events(""), MemoryEvents::default());
        let c = parse_oom_control("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
        assert_eq!(
            c,
            OomControl {
                oom_kill_disable: false,
                under_oom: false,
                oom_kill: Some(2)
            }
        );
        // Before Linux 4.13.
        assert_eq!(
            parse_oom_control("oom_kill_disable 1\nunder_oom 1\n").oom_kill,
            None
        );
    }

    #[test]
    fn sizes_read_like_docker() {
        assert_eq!(parse_size("64M"), Ok(MIB64));
        assert_eq!(parse_size("64m"), Ok(MIB64));
        assert_eq!(parse_size("64MiB"), Ok(MIB64));
        assert_eq!(parse_size("64mb"), Ok(MIB64));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("67108864"), Ok(MIB64));
        for bad in ["", "M", "64T", "1.5G", "-1", "64 M x", "64i"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
        assert!(parse_size("99999999999999999999").is_err());
        assert!(parse_size("99999999999G").is_err());
    }

    #[test]
    fn bytes_show_in_binary_units() {
        assert_eq!(show_bytes(MIB64), "64 MiB");
        assert_eq!(show_bytes(3 << 29), "1.5 GiB");
        assert_eq!(show_bytes(37), "37 B");
        assert_eq!(show_bytes(1536), "1.5 KiB");
    }

    #[test]
    fn the_file_names_side_by_side() {
        assert_eq!(memory_files(Version::V2).limit, "memory.max");
        assert_eq!(memory_files(Version::V1).limit, "memory.limit_in_bytes");
        assert_eq!(memory_files(Version::V1).oom_kills, "memory.oom_control");
    }
}
