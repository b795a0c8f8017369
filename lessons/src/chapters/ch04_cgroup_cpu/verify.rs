//! Verifying ch04_cgroup_cpu from outside: the verifier prepares a cgroup DIR under
//! learn-containers/, runs the program with a CPU burner as CMD at --cpus 0.5 and 0.25,
//! and reads what the kernel says while the burner runs: /proc/BURNER/cgroup, the limit
//! files of the new cgroup, the burner's CPU clock against wall time, cpu.stat, and what
//! is left in DIR afterwards.

use std::path::Path;
use std::time::Duration;

use crate::error::Result;

use super::checks::{Ch04, rel};
use super::limit::judge_limit;
use super::neither::{self, Refusal};
pub use super::observe::{BURNER_STATUS, RUNS};
use super::observe::{
    Burn, EXIT_TIMEOUT, MEASURE, Run, START_TIMEOUT, args, burner_pid, burner_script, inside,
    observe, program_cgroup,
};
use crate::kernel::cgroup::{Cgroup, CgroupFs, CpuLimit, Version};
use crate::kernel::child::Exit;
use crate::verify::probe::cpu_share::{Measure, TOLERANCE, load_average};
use crate::verify::run::Finished;
use crate::verify::{Candidate, Check, CheckId, Context, failed_at};

pub fn verify(cx: &Context) -> Result<Vec<Check>> {
    let fs = CgroupFs::detect()?;
    fs.require("cpu")?;
    let parent = fs.create_owned("cpu", "ch04-verify")?;
    parent.enable_for_children("cpu")?;
    let mut runs = Vec::new();
    for cpus in RUNS {
        let run = observe(cx, &fs, &parent, cpus, Measure::Share)?;
        let started = run.burner.is_some();
        runs.push(run);
        if !started {
            break;
        }
    }
    // Step 1's last case, only once the program gets as far as CMD with a real cgroup.
    let refusal = if runs.iter().all(|r| r.burner.is_some()) {
        Some(neither::observe(cx, |dir, script| {
            args(dir, RUNS[0], script)
        })?)
    } else {
        None
    };
    let checks = judge(
        cx.source(),
        &|f| cx.describe(f),
        &parent.path,
        parent.version,
        &runs,
        refusal.as_ref(),
    );
    // Kills whatever the program left, removes its cgroups, then DIR.
    parent.remove()?;
    Ok(checks)
}

/// The first check alone, from one run at --cpus 0.5 without the share measured: whether
/// CMD and what it forks at once are born in the program's cgroup. For repeating the race
/// many times (tests/races.rs); `verify` judges the same run, and everything else.
pub fn verify_race(cx: &Context) -> Result<Check> {
    let fs = CgroupFs::detect()?;
    fs.require("cpu")?;
    let parent = fs.create_owned("cpu", "ch04-verify")?;
    parent.enable_for_children("cpu")?;
    let run = observe(cx, &fs, &parent, RUNS[0], Measure::Skip)?;
    let check = match run.burner {
        Some(_) => judge_moved(&parent.path, std::slice::from_ref(&run)),
        None => Ch04::Moved.fail(format!("the program {}", cx.describe(&run.finished))),
    };
    parent.remove()?;
    Ok(check)
}

/// Judges the runs (`source`: the learner's file; `describe` says how a program ended).
fn judge(
    source: &str,
    describe: &dyn Fn(&Finished) -> String,
    dir: &Path,
    version: Version,
    runs: &[Run],
    refusal: Option<&Refusal>,
) -> Vec<Check> {
    let residue = judge_residue(dir, runs);
    if let Some(failed) = runs.iter().find(|r| r.burner.is_none()) {
        let cmd = format!(
            "`{source} --parent DIR --cpus {} -- bash -c BURNER`",
            failed.cpus
        );
        // A limit the kernel refused stops the program before CMD exists: that failure
        // belongs to the limit check, not to the one about moving CMD.
        let at = if refused_limit(&failed.finished) {
            Ch04::Limit
        } else {
            Ch04::Moved
        };
        let first = at
            .fail(format!("{cmd} {}", describe(&failed.finished)))
            .expected(
                "CMD starts (the burner prints `burner PID`) and runs until the verifier stops it",
            )
            .hint(early_hint(&failed.finished, version, source));
        let mut checks = failed_at(at, first);
        // An empty DIR proves nothing about a program that never got going; a cgroup it
        // left behind is still worth reporting.
        if !residue.passed()
            && let Some(at) = checks.iter().position(|c| c.name == Ch04::Residue.title())
        {
            checks[at] = residue;
        }
        return checks;
    }
    let mut checks = vec![judge_moved(dir, runs), judge_limits(dir, version, runs)];
    for run in runs {
        checks.push(judge_share(run, version));
    }
    checks.push(judge_throttling(dir, version, runs));
    checks.push(judge_status(describe, runs));
    checks.push(residue);
    checks.push(match refusal {
        Some(r) => neither::judge(describe, r),
        None => Ch04::Refused.not_judged("the program did not get as far as CMD"),
    });
    checks
}

/// Did the program stop on writing a limit file (it names one in its error)?
fn refused_limit(f: &Finished) -> bool {
    f.exit != Exit::TimedOut
        && !crate::verify::run::describe(f, None).contains("todo!()")
        && ["cpu.max", "cpu.cfs_quota_us", "cpu.cfs_period_us"]
            .iter()
            .any(|file| f.stderr.contains(file))
}

/// A hint for a program that never started the burner, from what it printed.
fn early_hint(f: &Finished, version: Version, source: &str) -> String {
    let said = f.stderr.as_str();
    let has = |s: &str| said.contains(s);
    if crate::verify::run::describe(f, None).contains("todo!()") {
        format!("write the part that todo!() names in {source}; `learn-containers hint 4` helps")
    } else if f.exit == Exit::TimedOut {
        "the burner's first line, `burner PID`, never reached the verifier: start CMD and let it \
         inherit your stdout (what Command does unless told otherwise)"
            .into()
    } else if version == Version::V2 && (has("cfs_quota_us") || has("cfs_period_us")) {
        "v1 file names on a v2 host: DIR has cgroup.controllers, so it is cgroup v2, where the \
         limit is one file, cpu.max, holding \"<quota> <period>\" (e.g. \"50000 100000\")"
            .into()
    } else if version == Version::V1 && has("cpu.max") {
        "v2 file name on a v1 host: DIR has cpu.cfs_quota_us, so it is cgroup v1: write \
         cpu.cfs_period_us (100000), then cpu.cfs_quota_us (50000 for 0.5 CPUs)"
            .into()
    } else if has("Invalid argument") || has("EINVAL") {
        "the kernel refused a value you wrote (EINVAL). Quota and period are both in \
         microseconds, and the smallest quota is 1000: 0.5 CPUs is a quota of 50000 in a \
         period of 100000"
            .into()
    } else if has("Device or resource busy") || has("EBUSY") {
        "EBUSY: on cgroup v2 no process may join a cgroup that hands controllers to its \
         children (DIR itself), and a cgroup with processes in it cannot be removed. Put CMD \
         in your own child cgroup, and rmdir it only after CMD has exited"
            .into()
    } else {
        format!("fix what the message names in {source}")
    }
}

fn judge_moved(dir: &Path, runs: &[Run]) -> Check {
    let mut seen = Vec::new();
    for run in runs {
        let pid = run.burner.unwrap_or(0);
        let Some((cg, line)) = &run.burner_cgroup else {
            return Ch04::Moved
                .fail(format!(
                    "--cpus {}: /proc/{pid}/cgroup could not be read (the burner had exited?)",
                    run.cpus
                ))
                .expected("the burner running in a child cgroup of DIR")
                .hint("CMD must keep running until the verifier stops it: wait for it");
        };
        if inside(cg, dir) {
            // Where its first child was born, read before it ran: a CMD moved in after it
            // started has, under the verifier's schedule, always forked it outside.
            if let Some((child, born)) = &run.first_child
                && !born.as_ref().is_some_and(|b| b.starts_with(cg))
            {
                let born = born.as_ref().map_or("unreadable".into(), |b| rel(b, dir));
                return Ch04::Moved
                    .fail(format!(
                        "--cpus {}: the burner {pid} is in {}, but the child it forked first thing (PID {child}) was born in {born}: CMD was moved into the cgroup after it had started",
                        run.cpus,
                        rel(cg, dir)
                    ))
                    .expected("everything CMD forks born in its cgroup under DIR")
                    .hint(
                        "a process is born in its parent's cgroup, and moving a process does not \
                         move its children. CMD must be in the cgroup before it runs: in the \
                         forked child, before exec, join (write \"0\" to the cgroup's \
                         cgroup.procs), as the given start_in does. The verifier holds your \
                         program after its fork until CMD has forked, so a late move shows \
                         every time; on your machine it would lose the race only some of the \
                         time",
                    );
            }
            seen.push(format!(
                "--cpus {}: burner {pid} in {} (`{line}`)",
                run.cpus,
                rel(cg, dir)
            ));
            continue;
        }
        let what = if cg == dir {
            "in DIR itself".to_string()
        } else {
            format!("in {}, outside DIR", cg.display())
        };
        let empty_child = run
            .child
            .as_ref()
            .map(|(c, _)| format!("; {} exists but the burner is not in it", rel(c, dir)))
            .unwrap_or_default();
        let hint = if cg == dir {
            "create a child cgroup (mkdir DIR/ch04-<your pid>) and move CMD there; DIR belongs to the verifier"
        } else {
            "CMD's own process must join: in the forked child, before exec, write \"0\" to your \
             cgroup's cgroup.procs (your join, which the given start_in calls there). \"0\" \
             written by the parent, or the parent's PID, moves the parent instead: the same trap \
             as `echo $$` run by the wrong shell"
        };
        return Ch04::Moved
            .fail(format!(
                "--cpus {}: /proc/{pid}/cgroup says `{line}`: the burner is {what}{empty_child}",
                run.cpus
            ))
            .expected(format!(
                "the burner in a child cgroup of DIR ({})",
                dir.display()
            ))
            .hint(hint);
    }
    Ch04::Moved.pass(seen.join("; "))
}

fn judge_limits(dir: &Path, version: Version, runs: &[Run]) -> Check {
    let mut seen = Vec::new();
    for run in runs {
        match judge_limit(dir, run.child.as_ref(), version, run.cpus) {
            Ok(s) => seen.push(s),
            Err(check) => return check,
        }
    }
    Ch04::Limit.pass(seen.join("; "))
}

fn judge_share(run: &Run, version: Version) -> Check {
    let name = if run.cpus == RUNS[0] {
        Ch04::ShareHalf
    } else {
        Ch04::ShareQuarter
    };
    let pid = run.burner.unwrap_or(0);
    let expected = format!("{:.2} ± {TOLERANCE} of one CPU", run.cpus);
    let share = match &run.share {
        Ok(s) => *s,
        Err(e) => {
            return name.fail(
                format!("the burner's CPU clock could not be read: {e}"),
            )
            .expected(expected)
            .hint(
                "CMD must keep running until the verifier stops it: wait for it, do not kill it",
            );
        }
    };
    let v = share.value();
    let seen = format!(
        "{v:.2} of one CPU: burner {pid} used {:.2} s of CPU time in {:.2} s (its CPU clock, clock_getcpuclockid)",
        share.cpu.as_secs_f64(),
        share.wall.as_secs_f64()
    );
    if (v - run.cpus).abs() <= TOLERANCE {
        return name.pass(seen);
    }
    // A share that only follows from an earlier failure is not judged again.
    if !in_cgroup(run) {
        return name.not_judged(&format!(
            "the burner ran outside the limited cgroup ({v:.2} of one CPU)"
        ));
    }
    if !limit_ok(run, version) {
        return name.not_judged(&format!(
            "the limit in the burner's cgroup is not the one asked for ({v:.2} of one CPU)"
        ));
    }
    let hint = if v > run.cpus {
        "the burner was not held back although its cgroup's limit is right: is something in \
         your program raising it again after CMD starts?"
            .to_string()
    } else {
        format!(
            "the limit is right, and the burner still got less than its quota: other processes took the \
             CPU (load average {} on {} CPUs). A capped burner can only fall short when the machine is busy; \
             run `learn-containers verify 4` again when it is quieter",
            load_average(),
            crate::kernel::cgroup::host_cpus()
        )
    };
    name.fail(seen).expected(expected).hint(hint)
}

/// Was the burner in the program's cgroup under DIR (or below it)?
fn in_cgroup(run: &Run) -> bool {
    run.burner_cgroup
        .as_ref()
        .is_some_and(|(d, _)| run.child.as_ref().is_some_and(|(c, _)| d.starts_with(c)))
}

/// Does the program's cgroup hold the limit asked for?
fn limit_ok(run: &Run, version: Version) -> bool {
    run.child.as_ref().is_some_and(|(_, files)| {
        let limit = match version {
            Version::V2 => files
                .get("cpu.max")
                .and_then(|l| CpuLimit::parse_v2(l).ok()),
            Version::V1 => match (
                files.get("cpu.cfs_period_us"),
                files.get("cpu.cfs_quota_us"),
            ) {
                (Some(p), Some(q)) => CpuLimit::parse_v1(p, q).ok(),
                _ => None,
            },
        };
        limit
            .and_then(|l| l.cpus())
            .is_some_and(|c| (c - run.cpus).abs() <= 0.01 * run.cpus)
    })
}

fn judge_throttling(dir: &Path, version: Version, runs: &[Run]) -> Check {
    let name = Ch04::Throttling;
    let mut seen = Vec::new();
    for run in runs {
        let Some((cg, a, b)) = &run.stat else {
            return name
                .fail(format!(
                    "--cpus {}: no cgroup under DIR to read cpu.stat from",
                    run.cpus
                ))
                .expected("nr_throttled growing in the cgroup CMD runs in")
                .hint("create a child cgroup of DIR and move CMD into it");
        };
        let periods = b.nr_periods.saturating_sub(a.nr_periods);
        let throttled = b.nr_throttled.saturating_sub(a.nr_throttled);
        let stalled = Duration::from_micros(b.throttled_usec.saturating_sub(a.throttled_usec));
        let line = format!(
            "--cpus {}: {}/cpu.stat over {:.1} s: nr_periods {} → {}, nr_throttled {} → {}, throttled {:.2} s",
            run.cpus,
            rel(cg, dir),
            MEASURE.as_secs_f64(),
            a.nr_periods,
            b.nr_periods,
            a.nr_throttled,
            b.nr_throttled,
            stalled.as_secs_f64()
        );
        if throttled > 0 {
            seen.push(line);
            continue;
        }
        if !in_cgroup(run) {
            return name.not_judged(&format!(
                "the burner ran outside the limited cgroup ({line})"
            ));
        }
        if !limit_ok(run, version) {
            return name.not_judged(&format!(
                "the limit in the burner's cgroup is not the one asked for ({line})"
            ));
        }
        let hint = if periods == 0 {
            "nr_periods did not grow while the burner spun in this cgroup under its limit: is \
             another program setting the same cgroup's limit back to max?"
        } else {
            "the burner ran under the right limit and was never throttled: the machine was too \
             busy for it to use up its quota. Run `learn-containers verify 4` again when it is \
             quieter"
        };
        return name
            .fail(line)
            .expected("nr_throttled growing: the burner uses up its quota each period and waits")
            .hint(hint);
    }
    name.pass(seen.join("; "))
}

fn judge_status(describe: &dyn Fn(&Finished) -> String, runs: &[Run]) -> Check {
    let name = Ch04::Exit;
    for run in runs {
        if run.finished.exit != Exit::Code(BURNER_STATUS) {
            return name.fail(
                format!("--cpus {}: the burner exited with status {BURNER_STATUS}; your program {}", run.cpus, describe(&run.finished)),
            )
            .expected(format!("exit status {BURNER_STATUS}"))
            .hint("exit with CMD's status: `std::process::exit(status.code()...)` after waiting for it (128+N if signal N killed it)");
        }
    }
    name.pass(format!("exit status {BURNER_STATUS}, the burner's"))
}

fn judge_residue(dir: &Path, runs: &[Run]) -> Check {
    let name = Ch04::Residue;
    for run in runs {
        if !run.left.is_empty() {
            let left: Vec<String> = run.left.iter().map(|p| rel(p, dir)).collect();
            return name.fail(
                format!("--cpus {}: {} still there after your program exited", run.cpus, left.join(", ")),
            )
            .expected("DIR without subdirectories, as before the run")
            .hint("rmdir your cgroup after CMD has exited (std::fs::remove_dir, not remove_dir_all: the kernel's \
                   files cannot be deleted). While a process is in it, rmdir fails with EBUSY");
        }
    }
    name.pass(format!(
        "DIR empty after {} run{}",
        runs.len(),
        if runs.len() == 1 { "" } else { "s" }
    ))
}

/// Tier 1: runs the program against a fake cgroup DIR of plain files (a `version` tree
/// made by the caller) with an idle CMD, and judges only the limit files it writes.
/// Nothing else can be checked there: no kernel enforces anything in a fake tree.
pub fn check_limit_on_tree(
    c: &Candidate,
    dir: &Path,
    version: Version,
    cpus: f64,
) -> Result<Check> {
    let cx = Context::new(c, None)?;
    let stop = cx.scratch.path().join("stop");
    let script = burner_script(&stop, Burn::Idle);
    let mut running = cx.start(&args(dir, cpus, &script))?;
    let started = running
        .wait_for(START_TIMEOUT, |l| burner_pid(l).is_some())
        .is_some();
    let parent = Cgroup::open(dir, version);
    let child = program_cgroup(&parent, None).map(|d| {
        let files = Cgroup::open(&d, version).cpu_limit_files();
        (d, files)
    });
    std::fs::write(&stop, "")?;
    let finished = running.finish(EXIT_TIMEOUT);
    if !started {
        return Ok(Ch04::Limit
            .fail(format!(
                "`{} --cpus {cpus}` {}",
                c.source,
                cx.describe(&finished)
            ))
            .expected("CMD starts")
            .hint(early_hint(&finished, version, &c.source)));
    }
    Ok(match judge_limit(dir, child.as_ref(), version, cpus) {
        Ok(seen) => Ch04::Limit.pass(seen),
        Err(check) => check,
    })
}

#[cfg(test)]
mod tests {
    //! The judges, fed made-up runs: cgroup paths are plain paths (nothing under /sys is
    //! touched), limit files a map, CPU shares and counters made up.

    use super::*;
    use crate::kernel::cgroup::CpuStat;
    use crate::verify::Status;
    use crate::verify::probe::cpu_share::Share;
    use crate::verify::run::describe;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    const SOURCE: &str = "exercises/src/bin/ch04_cgroup_cpu.rs";
    const DIR: &str = "/sys/fs/cgroup/learn-containers/ch04-verify-123";

    fn dir() -> PathBuf {
        PathBuf::from(DIR)
    }

    /// The program's child cgroup of DIR.
    fn child() -> PathBuf {
        dir().join("ch04-777")
    }

    fn ended(code: i32, stderr: &str) -> Finished {
        Finished {
            exit: Exit::Code(code),
            stdout: Vec::new(),
            stderr: stderr.to_owned(),
            took: Duration::from_secs(2),
        }
    }

    fn describe_it(f: &Finished) -> String {
        describe(f, None)
    }

    fn files(list: &[(&'static str, &str)]) -> BTreeMap<&'static str, String> {
        list.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    fn share(cpu_ms: u64) -> Result<Share, String> {
        Ok(Share {
            cpu: Duration::from_millis(cpu_ms),
            wall: Duration::from_millis(1600),
        })
    }

    fn stat(periods: u64, throttled: u64, usec: u64) -> CpuStat {
        CpuStat {
            nr_periods: periods,
            nr_throttled: throttled,
            throttled_usec: usec,
            usage_usec: None,
        }
    }

    /// What a correct program shows at `cpus` on cgroup v2: the burner in DIR/ch04-777,
    /// cpu.max right, the burner held at its share and throttled, exit 3, nothing left.
    fn correct(cpus: f64) -> Run {
        let quota = (cpus * 100_000.0) as u64;
        Run {
            cpus,
            burner: Some(900),
            finished: ended(BURNER_STATUS, ""),
            burner_cgroup: Some((
                child(),
                "0::/learn-containers/ch04-verify-123/ch04-777".into(),
            )),
            first_child: Some((901, Some(child()))),
            child: Some((child(), files(&[("cpu.max", &format!("{quota} 100000"))]))),
            share: share((cpus * 1600.0) as u64),
            stat: Some((child(), stat(100, 40, 2_000_000), stat(116, 56, 2_800_000))),
            left: Vec::new(),
        }
    }

    fn both(f: impl Fn(Run) -> Run) -> Vec<Run> {
        RUNS.iter().map(|c| f(correct(*c))).collect()
    }

    fn judged(runs: &[Run]) -> Vec<Check> {
        judge(
            SOURCE,
            &describe_it,
            &dir(),
            Version::V2,
            runs,
            Some(&refused(
                1,
                "ch04_cgroup_cpu: DIR is no cpu cgroup\n",
                &[],
                false,
            )),
        )
    }

    /// What the program did with a plain directory as DIR.
    fn refused(code: i32, stderr: &str, made: &[&str], cmd_ran: bool) -> Refusal {
        Refusal {
            finished: ended(code, stderr),
            made: made.iter().map(|m| m.to_string()).collect(),
            cmd_ran,
        }
    }

    fn find(checks: &[Check], id: Ch04) -> &Check {
        checks.iter().find(|c| c.name == id.title()).unwrap()
    }

    fn failing(checks: &[Check]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| !c.passed())
            .map(|c| c.name.as_str())
            .collect()
    }

    fn saw(c: &Check) -> &str {
        c.saw.as_deref().unwrap_or("")
    }

    fn hint(c: &Check) -> &str {
        c.hint.as_deref().unwrap_or("")
    }

    #[test]
    fn a_correct_program_passes_every_check() {
        let checks = judged(&both(|r| r));
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        let titles: Vec<&str> = Ch04::ALL.iter().map(|c| c.title()).collect();
        assert_eq!(names, titles);
        assert!(failing(&checks).is_empty(), "{checks:#?}");
        assert_eq!(
            saw(&checks[0]),
            "--cpus 0.5: burner 900 in DIR/ch04-777 (`0::/learn-containers/ch04-verify-123/ch04-777`); --cpus 0.25: burner 900 in DIR/ch04-777 (`0::/learn-containers/ch04-verify-123/ch04-777`)"
        );
        assert_eq!(
            saw(&checks[1]),
            "--cpus 0.5: DIR/ch04-777: cpu.max = \"50000 100000\" = 0.50 CPUs; --cpus 0.25: DIR/ch04-777: cpu.max = \"25000 100000\" = 0.25 CPUs"
        );
        assert_eq!(
            saw(&checks[2]),
            "0.50 of one CPU: burner 900 used 0.80 s of CPU time in 1.60 s (its CPU clock, clock_getcpuclockid)"
        );
        assert!(saw(&checks[3]).starts_with("0.25 of one CPU"));
        assert!(
            saw(&checks[4]).starts_with(
                "--cpus 0.5: DIR/ch04-777/cpu.stat over 1.6 s: nr_periods 100 → 116, nr_throttled 40 → 56, throttled 0.80 s; --cpus 0.25:"
            ),
            "{:#?}",
            checks[4]
        );
        assert_eq!(saw(&checks[5]), "exit status 3, the burner's");
        assert_eq!(saw(&checks[6]), "DIR empty after 2 runs");
    }

    #[test]
    fn a_process_never_moved_is_named() {
        // ch04_never_moved (period 50000): the limit is right, the burner never feels it;
        // the throttling counters are the program's empty cgroup's.
        let checks = judged(&both(|r| {
            let quota = (r.cpus * 50_000.0) as u64;
            Run {
                burner_cgroup: Some((
                    PathBuf::from("/sys/fs/cgroup/learn-containers/verify-55"),
                    "0::/learn-containers/verify-55".into(),
                )),
                child: Some((child(), files(&[("cpu.max", &format!("{quota} 50000"))]))),
                share: share(1590),
                stat: Some((child(), stat(0, 0, 0), stat(0, 0, 0))),
                ..r
            }
        }));
        assert_eq!(
            failing(&checks),
            vec![
                Ch04::Moved.title(),
                Ch04::ShareHalf.title(),
                Ch04::ShareQuarter.title(),
                Ch04::Throttling.title()
            ],
            "{checks:#?}"
        );
        let moved = find(&checks, Ch04::Moved);
        assert_eq!(
            saw(moved),
            "--cpus 0.5: /proc/900/cgroup says `0::/learn-containers/verify-55`: the burner is in /sys/fs/cgroup/learn-containers/verify-55, outside DIR; DIR/ch04-777 exists but the burner is not in it"
        );
        assert!(hint(moved).contains("cgroup.procs"), "{moved:#?}");
        assert!(saw(find(&checks, Ch04::Limit)).contains("cpu.max = \"25000 50000\" = 0.50 CPUs"));
        // What follows from it is said once, in the first check.
        let share = find(&checks, Ch04::ShareHalf);
        assert_eq!(
            saw(share),
            "not judged: the burner ran outside the limited cgroup (0.99 of one CPU) (see above)"
        );
        assert!(share.hint.is_none(), "{share:#?}");
        let throttled = find(&checks, Ch04::Throttling);
        assert_eq!(
            saw(throttled),
            "not judged: the burner ran outside the limited cgroup (--cpus 0.5: DIR/ch04-777/cpu.stat over 1.6 s: nr_periods 0 → 0, nr_throttled 0 → 0, throttled 0.00 s) (see above)"
        );
    }

    #[test]
    fn a_command_moved_in_after_it_started_is_named() {
        // ch04_move_after_start: the burner ends up in the cgroup, but the child it forked
        // first thing, while the tracer held the program, was born in the verifier's cgroup.
        let checks = judged(&both(|r| Run {
            first_child: Some((
                901,
                Some(PathBuf::from("/sys/fs/cgroup/learn-containers/verify-55")),
            )),
            ..r
        }));
        assert_eq!(failing(&checks), vec![Ch04::Moved.title()], "{checks:#?}");
        let moved = find(&checks, Ch04::Moved);
        assert_eq!(
            saw(moved),
            "--cpus 0.5: the burner 900 is in DIR/ch04-777, but the child it forked first thing (PID 901) was born in /sys/fs/cgroup/learn-containers/verify-55: CMD was moved into the cgroup after it had started"
        );
        assert!(hint(moved).contains("before exec"), "{moved:#?}");
        // A birth the tracer could not read is not a pass either.
        let checks = judged(&both(|r| Run {
            first_child: Some((901, None)),
            ..r
        }));
        assert!(saw(find(&checks, Ch04::Moved)).contains("born in unreadable"));
    }

    #[test]
    fn wrong_units_refused_by_the_kernel_are_named() {
        // ch04_wrong_units on a real kernel: writing 25 fails with EINVAL, the program
        // exits before CMD starts, and removes its cgroup.
        let run = Run {
            burner: None,
            finished: ended(
                1,
                &format!("{DIR}/ch04-777/cpu.max: Invalid argument (os error 22)\n"),
            ),
            burner_cgroup: None,
            child: None,
            share: Err("the burner never started".into()),
            stat: None,
            ..correct(0.5)
        };
        let checks = judged(&[run]);
        let titles: Vec<&str> = Ch04::ALL.iter().map(|c| c.title()).collect();
        assert_eq!(failing(&checks), titles);
        // The failure is the limit's: the check about moving CMD points down at it.
        assert_eq!(
            saw(&checks[0]),
            format!(
                "not run: the program failed before this check, at `{}` (see below)",
                Ch04::Limit.title()
            )
        );
        let first = &checks[1];
        assert_eq!(first.name, Ch04::Limit.title());
        assert_eq!(
            saw(first),
            format!(
                "`exercises/src/bin/ch04_cgroup_cpu.rs --parent DIR --cpus 0.5 -- bash -c BURNER` exited with status 1: {DIR}/ch04-777/cpu.max: Invalid argument (os error 22)"
            )
        );
        assert!(hint(first).contains("microseconds"), "{first:#?}");
        assert!(hint(first).contains("(EINVAL)"), "{first:#?}");
        // It removed its cgroup: the residue check says it was not run, not that DIR is
        // clean.
        assert!(saw(&checks[6]).starts_with("not run"), "{checks:#?}");
    }

    #[test]
    fn a_cgroup_left_by_a_program_that_never_started_cmd_is_still_named() {
        // Not provoked by a fixture.
        let run = Run {
            burner: None,
            finished: ended(1, "mkdir: File exists\n"),
            left: vec![child()],
            ..correct(0.5)
        };
        let checks = judged(&[run]);
        assert_eq!(checks.len(), Ch04::ALL.len());
        let residue = &checks[6];
        assert_eq!(residue.name, Ch04::Residue.title());
        assert_eq!(
            saw(residue),
            "--cpus 0.5: DIR/ch04-777 still there after your program exited"
        );
    }

    #[test]
    fn swapped_period_and_quota_are_named() {
        // ch04_swapped on v2 (period 50000): cpu.max holds the period first; the burner
        // gets a whole CPU and is never throttled.
        let checks = judged(&both(|r| {
            let quota = (r.cpus * 50_000.0) as u64;
            Run {
                child: Some((child(), files(&[("cpu.max", &format!("50000 {quota}"))]))),
                share: share(1600),
                stat: Some((child(), stat(100, 0, 0), stat(116, 0, 0))),
                ..r
            }
        }));
        assert_eq!(
            failing(&checks),
            vec![
                Ch04::Limit.title(),
                Ch04::ShareHalf.title(),
                Ch04::ShareQuarter.title(),
                Ch04::Throttling.title()
            ],
            "{checks:#?}"
        );
        let limit = find(&checks, Ch04::Limit);
        assert_eq!(
            saw(limit),
            "--cpus 0.5: DIR/ch04-777: cpu.max = \"50000 25000\": quota 50000 and period 25000 are swapped: that allows 2.00 CPUs"
        );
        assert_eq!(
            limit.expected.as_deref(),
            Some("cpu.max = \"50000 100000\" (cgroup v2)")
        );
        assert!(hint(limit).contains("quota comes first"), "{limit:#?}");
        for id in [Ch04::ShareHalf, Ch04::ShareQuarter, Ch04::Throttling] {
            let c = find(&checks, id);
            assert!(
                saw(c).starts_with(
                    "not judged: the limit in the burner's cgroup is not the one asked for"
                ),
                "{c:#?}"
            );
        }
    }

    #[test]
    fn v1_file_names_on_a_v2_host_are_named() {
        // ch04_v1_names on a fake v2 tree (a real v2 kernel has no such files to write).
        let v1 = (
            child(),
            files(&[
                ("cpu.cfs_period_us", "50000"),
                ("cpu.cfs_quota_us", "25000"),
            ]),
        );
        let c = judge_limit(&dir(), Some(&v1), Version::V2, 0.5).unwrap_err();
        assert_eq!(c.name, Ch04::Limit.title());
        assert_eq!(
            saw(&c),
            "--cpus 0.5: DIR/ch04-777: cpu.cfs_period_us = \"50000\", cpu.cfs_quota_us = \"25000\": v1 file names on a v2 host"
        );
        assert!(hint(&c).contains("cpu.max"), "{c:#?}");
        // Next to the cpu.max a v2 cgroup starts with, it is the same mistake.
        let mut with_max = v1.clone();
        with_max.1.insert("cpu.max", "max 100000".into());
        let c = judge_limit(&dir(), Some(&with_max), Version::V2, 0.5).unwrap_err();
        assert!(saw(&c).ends_with("v1 file names on a v2 host"), "{c:#?}");
        // The same files are right on v1: the check judges the host, not the names.
        assert_eq!(
            judge_limit(&dir(), Some(&v1), Version::V1, 0.5).unwrap(),
            "--cpus 0.5: DIR/ch04-777: cpu.cfs_period_us = \"50000\", cpu.cfs_quota_us = \"25000\" = 0.50 CPUs"
        );
    }

    #[test]
    fn wrong_units_on_a_fake_tree_are_named() {
        // ch04_wrong_units on a fake v1 tree, which accepts the 25 the kernel refuses.
        let v1 = (
            child(),
            files(&[("cpu.cfs_period_us", "50000"), ("cpu.cfs_quota_us", "25")]),
        );
        let c = judge_limit(&dir(), Some(&v1), Version::V1, 0.5).unwrap_err();
        assert_eq!(
            saw(&c),
            "--cpus 0.5: DIR/ch04-777: cpu.cfs_period_us = \"50000\", cpu.cfs_quota_us = \"25\": that allows 0.0005 CPUs, 1000 times too small: wrong units"
        );
        assert_eq!(
            c.expected.as_deref(),
            Some("cpu.cfs_period_us = 100000, cpu.cfs_quota_us = 50000 (cgroup v1)")
        );
        assert!(hint(&c).contains("microseconds"), "{c:#?}");
        // Ten times too much is as wrong.
        let big = (child(), files(&[("cpu.max", "500000 100000")]));
        let c = judge_limit(&dir(), Some(&big), Version::V2, 0.5).unwrap_err();
        assert!(
            saw(&c).ends_with("that allows 5.0000 CPUs, 10 times too large: wrong units"),
            "{c:#?}"
        );
    }

    #[test]
    fn a_cgroup_left_behind_is_named() {
        // ch04_not_removed.
        let checks = judged(&both(|r| Run {
            left: vec![child()],
            ..r
        }));
        assert_eq!(failing(&checks), vec![Ch04::Residue.title()], "{checks:#?}");
        let c = &checks[6];
        assert_eq!(
            saw(c),
            "--cpus 0.5: DIR/ch04-777 still there after your program exited"
        );
        assert!(hint(c).contains("EBUSY"), "{c:#?}");
        // One run only: said in the singular.
        assert_eq!(
            saw(&judge_residue(&dir(), &[correct(0.5)])),
            "DIR empty after 1 run"
        );
    }

    #[test]
    fn an_exit_status_not_passed_on_is_named() {
        // ch04_exit_zero.
        let checks = judged(&both(|r| Run {
            finished: ended(0, ""),
            ..r
        }));
        assert_eq!(failing(&checks), vec![Ch04::Exit.title()], "{checks:#?}");
        let c = &checks[5];
        assert_eq!(
            saw(c),
            "--cpus 0.5: the burner exited with status 3; your program exited with status 0"
        );
        assert_eq!(c.expected.as_deref(), Some("exit status 3"));
        assert!(hint(c).contains("exit with CMD's status"));
    }

    // ---- what a program that never started the burner is told ----

    #[test]
    fn each_early_failure_gets_its_own_hint() {
        let todo = "thread 'main' panicked at exercises/src/bin/ch04_cgroup_cpu.rs:31:5:\nnot yet implemented: create the cgroup\n";
        let timed_out = Finished {
            exit: Exit::TimedOut,
            ..ended(0, "")
        };
        for (f, version, wanted) in [
            // The untouched exercise.
            (
                ended(101, todo),
                Version::V2,
                "write the part that todo!() names in exercises/src/bin/ch04_cgroup_cpu.rs; `learn-containers hint 4` helps",
            ),
            (
                timed_out,
                Version::V2,
                "the burner's first line, `burner PID`, never reached the verifier",
            ),
            (
                ended(
                    1,
                    "open DIR/ch04-1/cpu.cfs_quota_us: No such file or directory\n",
                ),
                Version::V2,
                "v1 file names on a v2 host",
            ),
            (
                ended(1, "write DIR/ch04-1/cpu.max: Permission denied\n"),
                Version::V1,
                "v2 file name on a v1 host",
            ),
            (
                ended(1, "cpu.max: Invalid argument (os error 22)\n"),
                Version::V2,
                "the kernel refused a value you wrote (EINVAL)",
            ),
            (
                ended(1, "moving 901: Device or resource busy (os error 16)\n"),
                Version::V2,
                "EBUSY: on cgroup v2 no process may join",
            ),
            (
                ended(1, "mkdir: Permission denied\n"),
                Version::V2,
                "fix what the message names in exercises/src/bin/ch04_cgroup_cpu.rs",
            ),
        ] {
            let hint = early_hint(&f, version, SOURCE);
            assert!(hint.starts_with(wanted), "{f:?} on {version}: {hint}");
        }
        // The untouched exercise, as the report's first check names it.
        let run = Run {
            burner: None,
            finished: ended(101, todo),
            ..correct(0.5)
        };
        let first = &judged(&[run])[0];
        assert_eq!(first.name, Ch04::Moved.title());
        assert!(
            saw(first).ends_with(
                "BURNER` reached a todo!() at exercises/src/bin/ch04_cgroup_cpu.rs:31:5: create the cgroup"
            ),
            "{first:#?}"
        );
        assert!(hint(first).starts_with("write the part that todo!() names"));
    }

    // ---- the branches no fixture reaches ----

    #[test]
    fn a_burner_gone_or_in_dir_itself_is_named() {
        let gone = Run {
            burner_cgroup: None,
            ..correct(0.5)
        };
        let c = judge_moved(&dir(), &[gone]);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(&c),
            "--cpus 0.5: /proc/900/cgroup could not be read (the burner had exited?)"
        );
        assert!(hint(&c).contains("keep running"));

        let in_dir = Run {
            burner_cgroup: Some((dir(), "0::/learn-containers/ch04-verify-123".into())),
            child: None,
            ..correct(0.5)
        };
        let c = judge_moved(&dir(), &[in_dir]);
        assert_eq!(
            saw(&c),
            "--cpus 0.5: /proc/900/cgroup says `0::/learn-containers/ch04-verify-123`: the burner is in DIR itself"
        );
        assert!(hint(&c).starts_with("create a child cgroup"), "{c:#?}");
    }

    #[test]
    fn each_wrong_limit_file_is_named() {
        let at = |f: &[(&'static str, &str)]| (child(), files(f));
        let fail = |child: Option<&(PathBuf, BTreeMap<&'static str, String>)>, version| {
            judge_limit(&dir(), child, version, 0.25).unwrap_err()
        };

        let c = fail(None, Version::V2);
        assert_eq!(
            saw(&c),
            "--cpus 0.25: DIR had no child cgroup while CMD ran"
        );
        assert_eq!(
            c.expected.as_deref(),
            Some("a child cgroup of DIR with cpu.max = \"25000 100000\" (cgroup v2)")
        );

        let c = fail(Some(&at(&[("cpu.max", "25000 100000")])), Version::V1);
        assert!(saw(&c).ends_with("a v2 file name on a v1 host"), "{c:#?}");
        assert!(hint(&c).contains("cpu.max exists only on v2"));

        let c = fail(Some(&at(&[("cpu.max", "0.25 100000")])), Version::V2);
        assert!(
            saw(&c).starts_with("--cpus 0.25: DIR/ch04-777: cpu.max = \"0.25 100000\": "),
            "{c:#?}"
        );
        assert!(hint(&c).starts_with("write plain integers"), "{c:#?}");

        let c = fail(Some(&at(&[])), Version::V2);
        assert_eq!(saw(&c), "--cpus 0.25: DIR/ch04-777: no cpu limit file");
        assert_eq!(
            hint(&c),
            "write the limit into your child cgroup before CMD starts"
        );
        let c = fail(Some(&at(&[("cpu.cfs_quota_us", "25000")])), Version::V1);
        assert_eq!(
            hint(&c),
            "write the limit into your child cgroup before CMD starts"
        );

        let c = fail(Some(&at(&[("cpu.max", "max 100000")])), Version::V2);
        assert!(
            saw(&c).ends_with("no limit (the quota is unlimited)"),
            "{c:#?}"
        );
        let c = fail(
            Some(&at(&[
                ("cpu.cfs_period_us", "100000"),
                ("cpu.cfs_quota_us", "-1"),
            ])),
            Version::V1,
        );
        assert!(
            saw(&c).ends_with("no limit (the quota is unlimited)"),
            "{c:#?}"
        );
        // On v1 the commoner refusal is of cpu.max, which v1 does not have (EACCES).
        assert!(
            hint(&c).contains("cpu.max does not exist on v1") && hint(&c).contains("EACCES"),
            "{c:#?}"
        );
        assert!(hint(&c).contains("under 1000 µs is refused with EINVAL"));

        let c = fail(Some(&at(&[("cpu.max", "30000 100000")])), Version::V2);
        assert!(
            saw(&c).ends_with("that allows 0.30 CPUs, not 0.25"),
            "{c:#?}"
        );
        assert!(hint(&c).starts_with("the quota is CPUS × period"));
    }

    #[test]
    fn each_wrong_share_gets_its_own_hint() {
        let c = judge_share(
            &Run {
                share: Err("no such process".into()),
                ..correct(0.25)
            },
            Version::V2,
        );
        assert_eq!(c.name, Ch04::ShareQuarter.title());
        assert_eq!(
            saw(&c),
            "the burner's CPU clock could not be read: no such process"
        );
        assert!(hint(&c).contains("do not kill it"));

        // Less than asked for, and the quota is too small.
        let c = judge_share(
            &Run {
                child: Some((child(), files(&[("cpu.max", "10000 100000")]))),
                share: share(160),
                ..correct(0.5)
            },
            Version::V2,
        );
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(&c),
            "not judged: the limit in the burner's cgroup is not the one asked for (0.10 of one CPU) (see above)"
        );

        // Less than asked for with the right limit: a busy machine (the hint reads the
        // load average).
        let c = judge_share(
            &Run {
                child: Some((
                    child(),
                    files(&[
                        ("cpu.cfs_period_us", "100000"),
                        ("cpu.cfs_quota_us", "50000"),
                    ]),
                )),
                share: share(400),
                ..correct(0.5)
            },
            Version::V1,
        );
        assert_eq!(c.status, Status::Fail);
        assert!(
            hint(&c)
                .starts_with("the limit is right, and the burner still got less than its quota"),
            "{c:#?}"
        );
        assert!(hint(&c).contains("run `learn-containers verify 4` again"));
    }

    #[test]
    fn no_cgroup_to_read_counters_from_is_named() {
        let c = judge_throttling(
            &dir(),
            Version::V2,
            &[Run {
                stat: None,
                ..correct(0.5)
            }],
        );
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(&c),
            "--cpus 0.5: no cgroup under DIR to read cpu.stat from"
        );
        assert_eq!(
            hint(&c),
            "create a child cgroup of DIR and move CMD into it"
        );
    }

    #[test]
    fn paths_are_shown_relative_to_dir() {
        assert_eq!(rel(&dir(), &dir()), "DIR itself");
        assert_eq!(rel(&child().join("sub"), &dir()), "DIR/ch04-777/sub");
        assert_eq!(rel(Path::new("/elsewhere"), &dir()), "/elsewhere");
        assert!(inside(&child(), &dir()) && !inside(&dir(), &dir()));
        assert!(!inside(
            Path::new("/sys/fs/cgroup/learn-containers/ch04-verify-1234"),
            &dir()
        ));
    }
}
