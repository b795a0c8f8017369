//! The cpu controller: a bandwidth limit (`cpu.max` on v2, `cpu.cfs_period_us` and
//! `cpu.cfs_quota_us` on v1) and the counters that show it working (`cpu.stat`).

use std::collections::BTreeMap;
use std::fs;

use nix::unistd::Pid;
use serde::Serialize;

use super::error::CgroupError;
use super::files::read_file;
use super::group::Cgroup;
use super::limit::Limit;
use super::mode::Version;

/// A CPU bandwidth limit: at most `quota_us` of CPU time every `period_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CpuLimit {
    /// `None`: no limit ("max" on v2, -1 on v1).
    pub quota_us: Option<u64>,
    pub period_us: u64,
}

impl CpuLimit {
    /// The kernel's default period, the one docker uses for `--cpus`.
    pub const PERIOD_US: u64 = 100_000;
    /// The kernel refuses quotas below 1ms.
    pub const MIN_QUOTA_US: u64 = 1_000;
    /// Far beyond any machine; keeps quota * period arithmetic in range.
    const MAX_CPUS: f64 = 1_000_000.0;

    /// No limit, default period.
    pub fn unlimited() -> CpuLimit {
        CpuLimit {
            quota_us: None,
            period_us: Self::PERIOD_US,
        }
    }

    /// `--cpus` as docker means it: 0.5 is 50000us of CPU time every 100000us.
    pub fn from_cpus(cpus: f64) -> Result<CpuLimit, CgroupError> {
        let invalid = |reason: &str| CgroupError::InvalidCpus {
            cpus,
            reason: reason.to_string(),
        };
        if !cpus.is_finite() {
            return Err(invalid("it is not a finite number"));
        }
        if cpus <= 0.0 {
            return Err(invalid("it must be more than 0"));
        }
        if cpus > Self::MAX_CPUS {
            return Err(invalid("that is more CPUs than any machine has"));
        }
        let quota = (cpus * Self::PERIOD_US as f64).round() as u64;
        if quota < Self::MIN_QUOTA_US {
            return Err(invalid(&format!(
                "the quota would be {quota}us per {}us period, and the kernel's smallest \
                 quota is {}us (0.01 CPUs)",
                Self::PERIOD_US,
                Self::MIN_QUOTA_US
            )));
        }
        Ok(CpuLimit {
            quota_us: Some(quota),
            period_us: Self::PERIOD_US,
        })
    }

    /// [`CpuLimit::from_cpus`], and refused when it asks for more CPUs than the host has
    /// (`cores`): such a quota can never be used up, so it would limit nothing.
    pub fn for_host(cpus: f64, cores: usize) -> Result<CpuLimit, CgroupError> {
        let limit = CpuLimit::from_cpus(cpus)?;
        if cpus > cores as f64 {
            return Err(CgroupError::InvalidCpus {
                cpus,
                reason: format!(
                    "this machine has {cores} CPU{}. A quota of {}us per {}us period could \
                     never be used up, so it would not limit anything",
                    if cores == 1 { "" } else { "s" },
                    limit.quota_us.unwrap_or(0),
                    limit.period_us
                ),
            });
        }
        Ok(limit)
    }

    /// The limit in CPUs (`None`: unlimited).
    pub fn cpus(&self) -> Option<f64> {
        self.quota_us
            .map(|q| q as f64 / self.period_us.max(1) as f64)
    }

    /// The v2 `cpu.max` line: "50000 100000" or "max 100000".
    pub fn v2_line(&self) -> String {
        match self.quota_us {
            Some(q) => format!("{q} {}", self.period_us),
            None => format!("max {}", self.period_us),
        }
    }

    /// The v1 files and their values, in the order to write them: period first, so the
    /// quota is checked against the new period.
    pub fn v1_files(&self) -> [(&'static str, String); 2] {
        [
            ("cpu.cfs_period_us", self.period_us.to_string()),
            (
                "cpu.cfs_quota_us",
                self.quota_us.map_or("-1".to_string(), |q| q.to_string()),
            ),
        ]
    }

    /// Parses a v2 `cpu.max` line ("50000 100000", "max 100000"; a lone quota keeps the
    /// default period, as the kernel does on write).
    pub fn parse_v2(line: &str) -> Result<CpuLimit, CgroupError> {
        let bad = |reason: &str| CgroupError::Parse {
            what: "cpu.max".to_string(),
            text: line.to_string(),
            reason: reason.to_string(),
        };
        let mut fields = line.split_whitespace();
        let quota = fields.next().ok_or_else(|| bad("it is empty"))?;
        let period = match fields.next() {
            Some(p) => p.parse().map_err(|_| bad("the period is not a number"))?,
            None => Self::PERIOD_US,
        };
        if fields.next().is_some() {
            return Err(bad("expected `<quota|max> <period>`"));
        }
        let quota_us = match quota {
            "max" => None,
            q => Some(
                q.parse()
                    .map_err(|_| bad("the quota is not a number or `max`"))?,
            ),
        };
        Ok(CpuLimit {
            quota_us,
            period_us: period,
        })
    }

    /// Parses the contents of v1 `cpu.cfs_period_us` and `cpu.cfs_quota_us` (-1: no limit).
    pub fn parse_v1(period: &str, quota: &str) -> Result<CpuLimit, CgroupError> {
        let bad = |file: &str, text: &str| CgroupError::Parse {
            what: file.to_string(),
            text: text.to_string(),
            reason: "not a number".to_string(),
        };
        let period_us = period
            .trim()
            .parse()
            .map_err(|_| bad("cpu.cfs_period_us", period))?;
        let q: i64 = quota
            .trim()
            .parse()
            .map_err(|_| bad("cpu.cfs_quota_us", quota))?;
        Ok(CpuLimit {
            quota_us: u64::try_from(q).ok(),
            period_us,
        })
    }
}

impl Limit for CpuLimit {
    const CONTROLLER: &'static str = "cpu";

    /// v1: `cpu.cfs_period_us` then `cpu.cfs_quota_us`; v2: `cpu.max`.
    fn writes(&self, version: Version) -> Vec<(&'static str, String)> {
        match version {
            Version::V1 => self.v1_files().to_vec(),
            Version::V2 => vec![("cpu.max", self.v2_line())],
        }
    }

    fn read(cgroup: &Cgroup) -> Result<CpuLimit, CgroupError> {
        match cgroup.version {
            Version::V1 => CpuLimit::parse_v1(
                &read_file(&cgroup.file("cpu.cfs_period_us"))?,
                &read_file(&cgroup.file("cpu.cfs_quota_us"))?,
            ),
            Version::V2 => CpuLimit::parse_v2(&read_file(&cgroup.file("cpu.max"))?),
        }
    }
}

/// How many CPUs this process may run on (its affinity mask), for [`CpuLimit::for_host`].
pub fn host_cpus() -> usize {
    nix::sched::sched_getaffinity(Pid::from_raw(0))
        .map(|set| {
            (0..nix::sched::CpuSet::count())
                .filter(|&i| set.is_set(i).unwrap_or(false))
                .count()
        })
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or(1)
}

/// CPU counters of a cgroup, in v2's units (microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CpuStat {
    /// Enforcement periods that have elapsed while the cgroup was runnable.
    pub nr_periods: u64,
    /// Periods in which the cgroup used up its quota and was throttled.
    pub nr_throttled: u64,
    /// Total time the cgroup spent throttled.
    pub throttled_usec: u64,
    /// Total CPU time used (v2 `usage_usec`; v1 `cpuacct.usage` when co-mounted).
    pub usage_usec: Option<u64>,
}

/// Parses `cpu.stat`. v2 counts in microseconds (`throttled_usec`, `usage_usec`); v1 has
/// `throttled_time` in nanoseconds and no usage. Missing keys read as 0.
pub fn parse_cpu_stat(text: &str, version: Version) -> CpuStat {
    let kv: BTreeMap<&str, u64> = text
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?, it.next()?.parse().ok()?))
        })
        .collect();
    let get = |k: &str| kv.get(k).copied().unwrap_or(0);
    match version {
        Version::V2 => CpuStat {
            nr_periods: get("nr_periods"),
            nr_throttled: get("nr_throttled"),
            throttled_usec: get("throttled_usec"),
            usage_usec: kv.get("usage_usec").copied(),
        },
        Version::V1 => CpuStat {
            nr_periods: get("nr_periods"),
            nr_throttled: get("nr_throttled"),
            throttled_usec: get("throttled_time") / 1000,
            usage_usec: None,
        },
    }
}

impl Cgroup {
    /// The CPU limit files present in this directory, by name, with their raw contents:
    /// `cpu.max` on v2, `cpu.cfs_period_us` and `cpu.cfs_quota_us` on v1. Both sets are
    /// looked for, so a v1 name written into a v2 tree (possible only in a fake tree: the
    /// kernel has no such file to write) shows up too.
    pub fn cpu_limit_files(&self) -> BTreeMap<&'static str, String> {
        ["cpu.max", "cpu.cfs_period_us", "cpu.cfs_quota_us"]
            .into_iter()
            .filter_map(|name| {
                let text = fs::read_to_string(self.file(name)).ok()?;
                Some((name, text.trim().to_string()))
            })
            .collect()
    }

    /// CPU counters; on v1, usage comes from `cpuacct.usage` when cpuacct is co-mounted.
    pub fn cpu_stat(&self) -> Result<CpuStat, CgroupError> {
        let mut stat = parse_cpu_stat(&read_file(&self.file("cpu.stat"))?, self.version);
        if self.version == Version::V1 {
            let usage = self.file("cpuacct.usage");
            if usage.exists() {
                let text = read_file(&usage)?;
                let ns: u64 = text.trim().parse().map_err(|_| CgroupError::Parse {
                    what: usage.display().to_string(),
                    text: text.clone(),
                    reason: "not a number".to_string(),
                })?;
                stat.usage_usec = Some(ns / 1000);
            }
        }
        Ok(stat)
    }
}
