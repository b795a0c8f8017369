//! Judging the limit files a chapter 4 program wrote into its cgroup: the right files for
//! this host's cgroup version, holding the quota asked for, in the kernel's units.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::checks::{Ch04, rel};
use crate::kernel::cgroup::{CpuLimit, Version};
use crate::verify::{Check, CheckId};

/// The expected files for `cpus` on `version`, as the learner writes them.
pub(super) fn expected_files(version: Version, cpus: f64) -> String {
    let limit = CpuLimit::from_cpus(cpus).expect("the verifier's own limits are valid");
    match version {
        Version::V2 => format!("cpu.max = \"{}\"", limit.v2_line()),
        Version::V1 => {
            let [(pf, pv), (qf, qv)] = limit.v1_files();
            format!("{pf} = {pv}, {qf} = {qv}")
        }
    }
}

pub(super) fn show_files(files: &BTreeMap<&'static str, String>) -> String {
    if files.is_empty() {
        return "no cpu limit file".into();
    }
    files
        .iter()
        .map(|(k, v)| format!("{k} = \"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Judges the limit files of the program's cgroup: Ok(what was seen) or the failed check.
pub(super) fn judge_limit(
    dir: &Path,
    child: Option<&(PathBuf, BTreeMap<&'static str, String>)>,
    version: Version,
    cpus: f64,
) -> Result<String, Check> {
    let name = Ch04::Limit;
    let expected = format!("{} ({version})", expected_files(version, cpus));
    let Some((cg, files)) = child else {
        return Err(name
            .fail(format!(
                "--cpus {cpus}: DIR had no child cgroup while CMD ran"
            ))
            .expected(format!("a child cgroup of DIR with {expected}"))
            .hint("create the cgroup with mkdir DIR/ch04-<your pid> and write the limit into it"));
    };
    let at = rel(cg, dir);
    let seen = format!("--cpus {cpus}: {at}: {}", show_files(files));
    let v1_names =
        files.contains_key("cpu.cfs_quota_us") || files.contains_key("cpu.cfs_period_us");
    let limit = match version {
        // On a real v2 host the kernel has no v1 files to write; only a fake tree shows them.
        Version::V2 if v1_names && files.get("cpu.max").is_none_or(|l| l.starts_with("max")) => {
            return Err(name.fail( format!("{seen}: v1 file names on a v2 host"))
                .expected(expected)
                .hint("DIR has cgroup.controllers, so it is cgroup v2: the limit is the single file cpu.max, \
                       \"<quota> <period>\". cpu.cfs_quota_us and cpu.cfs_period_us exist only on v1"));
        }
        Version::V1 if files.contains_key("cpu.max") => {
            return Err(name
                .fail(format!("{seen}: a v2 file name on a v1 host"))
                .expected(expected)
                .hint(
                    "DIR has cpu.cfs_quota_us, so it is cgroup v1: write cpu.cfs_period_us, then \
                       cpu.cfs_quota_us; cpu.max exists only on v2",
                ));
        }
        Version::V2 => files.get("cpu.max").map(|l| CpuLimit::parse_v2(l)),
        Version::V1 => match (
            files.get("cpu.cfs_period_us"),
            files.get("cpu.cfs_quota_us"),
        ) {
            (Some(p), Some(q)) => Some(CpuLimit::parse_v1(p, q)),
            _ => None,
        },
    };
    let limit = match limit {
        Some(Ok(l)) => l,
        Some(Err(e)) => {
            return Err(name.fail(format!("{seen}: {e}")).expected(expected).hint(
                "write plain integers: the kernel reads microseconds, e.g. 50000, not 0.5 or 50ms",
            ));
        }
        None => {
            return Err(name
                .fail(seen)
                .expected(expected)
                .hint("write the limit into your child cgroup before CMD starts"));
        }
    };
    judge_value(&seen, &limit, &expected, version, cpus).map(|()| {
        format!(
            "--cpus {cpus}: {at}: {} = {:.2} CPUs",
            show_files(files),
            limit.cpus().unwrap_or(0.0)
        )
    })
}

fn judge_value(
    seen: &str,
    limit: &CpuLimit,
    expected: &str,
    version: Version,
    cpus: f64,
) -> Result<(), Check> {
    let name = Ch04::Limit;
    let Some(q) = limit.quota_us else {
        // The kernel refused the write and the program went on: say which refusals this
        // version gives, the wrong file first (the commoner slip).
        let refusals = match version {
            Version::V1 => {
                "cpu.max does not exist on v1 and no file can be created in a cgroup (EACCES or \
                 ENOENT), and a quota under 1000 µs is refused with EINVAL"
            }
            Version::V2 => {
                "cpu.cfs_quota_us does not exist on v2 and no file can be created in a cgroup \
                 (EACCES or ENOENT), and a quota under 1000 µs is refused with EINVAL"
            }
        };
        return Err(name
            .fail(format!("{seen}: no limit (the quota is unlimited)"))
            .expected(expected.to_owned())
            .hint(format!(
                "write the quota. If your program did, the kernel refused it and your program \
                 ignored the error: check what every write returns. {refusals}"
            )));
    };
    let p = limit.period_us.max(1);
    let got = q as f64 / p as f64;
    let close = |a: f64, b: f64| (a - b).abs() <= 0.01 * b;
    if close(got, cpus) {
        return Ok(());
    }
    let fail = |why: String, hint: &str| {
        Err(name
            .fail(format!("{seen}: {why}"))
            .expected(expected.to_owned())
            .hint(hint.to_owned()))
    };
    if close(p as f64 / q.max(1) as f64, cpus) {
        return fail(
            format!("quota {q} and period {p} are swapped: that allows {got:.2} CPUs"),
            "the quota comes first in cpu.max (\"<quota> <period>\"), and on v1 it goes in cpu.cfs_quota_us: \
             the quota is the smaller number when CPUS is below 1",
        );
    }
    let ratio = got / cpus;
    let decades = ratio.log10();
    if decades.abs() >= 0.99 && (decades - decades.round()).abs() < 0.01 {
        let factor = 10f64.powf(decades.round().abs());
        let way = if ratio < 1.0 {
            "too small"
        } else {
            "too large"
        };
        return fail(
            format!("that allows {got:.4} CPUs, {factor:.0} times {way}: wrong units"),
            "quota and period are both microseconds: CPUS × 100000 for a 100000 µs period, so 0.5 CPUs \
             is 50000, not 50 (milliseconds) or 500000",
        );
    }
    fail(
        format!("that allows {got:.2} CPUs, not {cpus}"),
        "the quota is CPUS × period: 0.5 CPUs is 50000 µs of every 100000 µs",
    )
}
