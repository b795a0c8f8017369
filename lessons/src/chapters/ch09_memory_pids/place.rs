//! Where chapter 9's runs happened (CGM, CGP, their version) and what was seen there,
//! put in the terms the checks judge: the program's cgroups, the limits they held,
//! whether CMD was in them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::checks::rel;
use super::observe::{BYTES, Kind, RUN, Run};
use crate::kernel::cgroup::{MemoryLimit, Version};

/// Where the runs happened: CGM, CGP, the version they speak, whether the host has swap.
#[derive(Debug, Clone)]
pub(super) struct Place {
    pub(super) cgm: PathBuf,
    pub(super) cgp: PathBuf,
    pub(super) version: Version,
    pub(super) swap: bool,
}

impl Place {
    pub(super) fn mem(&self, dir: &Path) -> String {
        rel(dir, &self.cgm, "CGM")
    }

    pub(super) fn pids(&self, dir: &Path) -> String {
        rel(dir, &self.cgp, "CGP")
    }

    /// A cgroup the program made (under `parent`, not the verifier's `run`).
    pub(super) fn made(dir: &Path, parent: &Path) -> bool {
        dir != parent && dir.starts_with(parent) && !dir.starts_with(parent.join(RUN))
    }
}

pub(super) fn run_of(runs: &[Run], kind: Kind) -> Option<&Run> {
    runs.iter().find(|r| r.kind == kind)
}

pub(super) fn flags(kind: Kind) -> &'static str {
    match kind {
        Kind::Hog => "--memory 64M, the hog",
        Kind::Forker => "--pids 20, the forker",
    }
}

/// The memory limit files of the program's memory cgroup in a run: where CMD was, or
/// else the only cgroup made under CGM.
pub(super) fn memory_seen<'a>(
    place: &Place,
    run: &'a Run,
) -> Option<(&'a PathBuf, &'a BTreeMap<&'static str, String>)> {
    let mine = |d: &PathBuf| Place::made(d, &place.cgm);
    if let Some(m) = run.cmd_memory.as_ref().filter(|d| mine(d))
        && let Some(files) = run.seen.get(m)
    {
        return Some((m, files));
    }
    run.seen.iter().find(|(d, _)| mine(d))
}

pub(super) fn pids_seen<'a>(
    place: &Place,
    run: &'a Run,
) -> Option<(&'a PathBuf, &'a BTreeMap<&'static str, String>)> {
    let mine = |d: &PathBuf| Place::made(d, &place.cgp);
    if let Some(p) = run.cmd_pids.as_ref().filter(|d| mine(d))
        && let Some(files) = run.seen.get(p)
    {
        return Some((p, files));
    }
    run.seen
        .iter()
        .find(|(d, f)| mine(d) && f.contains_key("pids.max"))
}

/// The memory limit a cgroup's files hold, and the file it is in.
pub(super) fn memory_limit(
    version: Version,
    files: &BTreeMap<&'static str, String>,
) -> Option<(&'static str, MemoryLimit)> {
    let limit = match version {
        Version::V2 => MemoryLimit::parse_v2(
            files.get("memory.max")?,
            files.get("memory.swap.max").map(String::as_str),
        ),
        Version::V1 => MemoryLimit::parse_v1(
            files.get("memory.limit_in_bytes")?,
            files.get("memory.memsw.limit_in_bytes").map(String::as_str),
        ),
    };
    let file = match version {
        Version::V2 => "memory.max",
        Version::V1 => "memory.limit_in_bytes",
    };
    limit.ok().map(|l| (file, l))
}

/// Was CMD in both cgroups the program made, in this run?
pub(super) fn joined(place: &Place, run: &Run) -> bool {
    run.cmd_memory
        .as_ref()
        .is_some_and(|d| Place::made(d, &place.cgm))
        && run
            .cmd_pids
            .as_ref()
            .is_some_and(|d| Place::made(d, &place.cgp))
}

pub(super) const NOT_JOINED: &str = "CMD ran outside the program's cgroups";

pub(super) fn mib_hint(held: u64) -> String {
    format!(
        "64M is {BYTES} bytes; the limit held {held}. The files take bytes: was the limit \
         written in MiB (64)? The kernel rounds a limit down to whole pages, so 64 bytes is \
         0, and CMD was killed the moment it touched memory. Write the number of bytes the \
         program was given, as it is"
    )
}
