//! How chapter 9's CMDs ended, and what the program said about it: the hog killed and
//! counted, the forker refused and alive, the last line against the kernel's counts, the
//! exit status, and what is left.

use super::checks::Ch09;
use super::observe::{Kind, PIDS, Run};
use super::place::{NOT_JOINED, Place, flags, joined, run_of};
use crate::kernel::cgroup::Version;
use crate::kernel::child::Exit;
use crate::verify::run::Finished;
use crate::verify::{Check, CheckId};

pub(super) fn judge_oom(place: &Place, runs: &[Run]) -> Check {
    let Some(run) = run_of(runs, Kind::Hog) else {
        return Ch09::OomKilled.not_judged("the hog never ran");
    };
    if !joined(place, run) {
        return Ch09::OomKilled.not_judged(NOT_JOINED);
    }
    let dir = run.cmd_memory.as_deref().unwrap_or(&place.cgm);
    let file = match place.version {
        Version::V2 => "memory.events",
        Version::V1 => "memory.oom_control",
    };
    let counted = format!(
        "{}/{file}: oom_kill {}",
        place.mem(dir),
        run.oom_kills.map_or("unreadable".into(), |n| n.to_string())
    );
    match (run.ended, run.oom_kills) {
        (Some(137), Some(n)) if n > 0 => {
            Ch09::OomKilled.pass(format!("the hog ended by SIGKILL (status 137); {counted}"))
        }
        (ended, _) => {
            let how = ended.map_or("never said how it ended".into(), |s| {
                format!("ended with status {s}")
            });
            Ch09::OomKilled
                .fail(format!("the hog {how}; {counted}"))
                .expected("status 137 (SIGKILL from the OOM killer), and oom_kill 1 or more")
                .hint("see the limit checks: with 64 MiB and no swap the hog cannot but be killed")
        }
    }
}

pub(super) fn judge_forks(place: &Place, runs: &[Run]) -> Check {
    let Some(run) = run_of(runs, Kind::Forker) else {
        return Ch09::ForksRefused.not_judged("the forker never ran");
    };
    if !joined(place, run) {
        return Ch09::ForksRefused.not_judged(NOT_JOINED);
    }
    let dir = run.cmd_pids.as_deref().unwrap_or(&place.cgp);
    let counted = format!(
        "{}/pids.events: max {}",
        place.pids(dir),
        run.pids_denied
            .map_or("unreadable".into(), |n| n.to_string())
    );
    match (run.ended, run.pids_denied) {
        (Some(0), Some(n)) if n > 0 => Ch09::ForksRefused.pass(format!(
            "xargs had {n} fork{} refused, waited for a child each time, and exited 0; {counted}",
            if n == 1 { "" } else { "s" }
        )),
        (ended, denied) => {
            let how = ended.map_or("never said how it ended".into(), |s| {
                format!("xargs exited {s}")
            });
            let hint = if denied == Some(0) {
                format!("no fork was refused: pids.max must be {PIDS} in the cgroup CMD is in")
            } else {
                "the script must survive: see the checks above".to_owned()
            };
            Ch09::ForksRefused
                .fail(format!("{how}; {counted}"))
                .expected("forks refused (max 1 or more), and xargs exiting 0")
                .hint(hint)
        }
    }
}

/// The program's last line: `oom_kills=K pids_denied=M peak_bytes=P` (P may be
/// `unknown`). `None`: not that shape.
pub(super) fn parse_report(line: &str) -> Option<(u64, u64, Option<u64>)> {
    let mut fields = line.split_whitespace();
    let mut take = |key: &str| {
        fields
            .next()?
            .strip_prefix(key)?
            .strip_prefix('=')
            .map(str::to_owned)
    };
    let oom = take("oom_kills")?.parse().ok()?;
    let denied = take("pids_denied")?.parse().ok()?;
    let peak = match take("peak_bytes")?.as_str() {
        "unknown" => None,
        p => Some(p.parse().ok()?),
    };
    fields.next().is_none().then_some((oom, denied, peak))
}

pub(super) fn judge_report(place: &Place, runs: &[Run]) -> Check {
    let mut seen = Vec::new();
    for run in runs {
        if !joined(place, run) {
            return Ch09::Report.not_judged(NOT_JOINED);
        }
        let line = run.last_line().unwrap_or("");
        let Some((oom, denied, peak)) = parse_report(line) else {
            return Ch09::Report
                .fail(format!("{}: the last line was `{line}`", flags(run.kind)))
                .expected("oom_kills=K pids_denied=M peak_bytes=P")
                .hint("print the report (its Display) once CMD has ended, as the last line");
        };
        let mut wrong = Vec::new();
        if let Some(k) = run.oom_kills
            && k != oom
        {
            wrong.push(format!("oom_kills={oom}, the kernel's oom_kill is {k}"));
        }
        if let Some(k) = run.pids_denied
            && k != denied
        {
            wrong.push(format!("pids_denied={denied}, pids.events says max {k}"));
        }
        match (run.peak, peak) {
            (Some(Some(k)), Some(p)) if (p as f64 - k as f64).abs() > 0.1 * k as f64 => {
                wrong.push(format!("peak_bytes={p}, the kernel's peak is {k}"));
            }
            (Some(Some(k)), None) => {
                wrong.push(format!("peak_bytes=unknown, the kernel's peak is {k}"))
            }
            (Some(None), Some(p)) => wrong.push(format!(
                "peak_bytes={p}, but this kernel has no peak file (unknown)"
            )),
            _ => {}
        }
        if !wrong.is_empty() {
            return Ch09::Report
                .fail(format!(
                    "{}: `{line}`: {}",
                    flags(run.kind),
                    wrong.join("; ")
                ))
                .expected("the kernel's own counts, read after CMD ended and before rmdir")
                .hint(
                    "read each number from its file: oom_kill in memory.events (v2) or \
                     memory.oom_control (v1), max in pids.events, memory.peak (v2) or \
                     memory.max_usage_in_bytes (v1), in the cgroups CMD ran in",
                );
        }
        seen.push(format!(
            "{}: `{line}` agrees with the kernel",
            flags(run.kind)
        ));
    }
    Ch09::Report.pass(seen.join("; "))
}

pub(super) fn judge_exit(describe: &dyn Fn(&Finished) -> String, runs: &[Run]) -> Check {
    let mut seen = Vec::new();
    for run in runs {
        let want = match run.kind {
            Kind::Hog => 137,
            Kind::Forker => 0,
        };
        if run.ended != Some(want) {
            return Ch09::Exit.not_judged(&format!(
                "{}: CMD did not end as it should (see above)",
                flags(run.kind)
            ));
        }
        if run.finished.exit != Exit::Code(want) {
            return Ch09::Exit
                .fail(format!(
                    "{}: CMD exited {want}; your program {}",
                    flags(run.kind),
                    describe(&run.finished)
                ))
                .expected(format!("exit status {want}"))
                .hint("exit with CMD's status once it has ended (128+N when signal N killed it)");
        }
        seen.push(format!("{}: {want}", flags(run.kind)));
    }
    Ch09::Exit.pass(seen.join("; "))
}

pub(super) fn judge_residue(place: &Place, runs: &[Run]) -> Check {
    for run in runs {
        if !run.left.is_empty() {
            let left: Vec<String> = run
                .left
                .iter()
                .map(|d| {
                    if d.starts_with(&place.cgm) {
                        place.mem(d)
                    } else {
                        place.pids(d)
                    }
                })
                .collect();
            return Ch09::Residue
                .fail(format!(
                    "{}: {} still there after your program exited",
                    flags(run.kind),
                    left.join(", ")
                ))
                .expected("nothing of yours left in CGM or CGP")
                .hint("rmdir both cgroups once CMD has ended (chapter 4's remove), after reading the report");
        }
    }
    Ch09::Residue.pass("nothing left in CGM or CGP after either run")
}
