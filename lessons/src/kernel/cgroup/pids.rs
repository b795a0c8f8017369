//! The pids controller: a ceiling on how many processes (threads, in fact) a cgroup may
//! hold, `pids.max`, the same file on v1 and v2, and the counters that show it working:
//! `pids.current`, and `pids.events`, whose `max` counts the forks it refused.

use serde::Serialize;

use super::error::CgroupError;
use super::files::{key_values, read_file};
use super::group::Cgroup;
use super::limit::Limit;
use super::mode::Version;

/// A ceiling on the number of tasks: fork(2) and clone(2) fail with EAGAIN at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PidsMax {
    /// `None`: no limit ("max").
    pub max: Option<u64>,
}

impl PidsMax {
    pub fn new(max: u64) -> PidsMax {
        PidsMax { max: Some(max) }
    }

    /// Parses `pids.max`: a number, or `max`.
    pub fn parse(text: &str) -> Result<PidsMax, CgroupError> {
        match text.trim() {
            "max" => Ok(PidsMax { max: None }),
            t => t
                .parse()
                .map(|n| PidsMax { max: Some(n) })
                .map_err(|_| CgroupError::Parse {
                    what: "pids.max".to_string(),
                    text: text.to_string(),
                    reason: "not a number or `max`".to_string(),
                }),
        }
    }

    /// What `pids.max` holds.
    pub fn line(&self) -> String {
        self.max.map_or("max".to_string(), |n| n.to_string())
    }
}

impl Limit for PidsMax {
    const CONTROLLER: &'static str = "pids";

    /// The one file, named alike on v1 and v2.
    fn writes(&self, _version: Version) -> Vec<(&'static str, String)> {
        vec![("pids.max", self.line())]
    }

    fn read(cgroup: &Cgroup) -> Result<PidsMax, CgroupError> {
        PidsMax::parse(&read_file(&cgroup.file("pids.max"))?)
    }
}

/// `pids.events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PidsEvents {
    /// Forks refused because this cgroup (or, on some kernels, one above it) was at its
    /// pids.max.
    pub max: u64,
}

/// Parses `pids.events` (`max N`; newer kernels add `max.imposed N`, not counted here).
pub fn parse_pids_events(text: &str) -> PidsEvents {
    PidsEvents {
        max: key_values(text).get("max").copied().unwrap_or(0),
    }
}

impl Cgroup {
    /// How many tasks are in this cgroup and below it now.
    pub fn pids_current(&self) -> Result<u64, CgroupError> {
        self.read_number("pids.current")
    }

    /// The counters of `pids.events`.
    pub fn pids_events(&self) -> Result<PidsEvents, CgroupError> {
        Ok(parse_pids_events(&read_file(&self.file("pids.events"))?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_max_is_one_file_on_both_versions() {
        for v in [Version::V1, Version::V2] {
            assert_eq!(
                PidsMax::new(20).writes(v),
                vec![("pids.max", "20".to_string())]
            );
        }
        assert_eq!(PidsMax { max: None }.line(), "max");
    }

    #[test]
    fn parses_pids_max_and_events() {
        assert_eq!(PidsMax::parse("20\n").unwrap(), PidsMax::new(20));
        assert_eq!(PidsMax::parse("max\n").unwrap(), PidsMax { max: None });
        assert!(PidsMax::parse("twenty").is_err());
        assert_eq!(parse_pids_events("max 7\n"), PidsEvents { max: 7 });
        assert_eq!(
            parse_pids_events("max 3\nmax.imposed 9\n"),
            PidsEvents { max: 3 }
        );
        assert_eq!(parse_pids_events(""), PidsEvents::default());
    }
}
