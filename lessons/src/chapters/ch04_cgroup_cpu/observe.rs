//! What chapter 4's verifier sees of one run: it runs the program with a CPU burner as
//! CMD under the adversary, and reads from outside which cgroup the burner (and the child
//! it forks first thing) is in, the limit files of the program's cgroup, the burner's CPU
//! clock against wall time, cpu.stat, and what is left in DIR. Judging is verify.rs's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Result;
use crate::kernel::cgroup::{Cgroup, CgroupFs, CpuStat};
use crate::kernel::child::Exit;
use crate::verify::Context;
use crate::verify::adversary::first_child;
use crate::verify::probe::cpu_share::{self, Measure, Share};
use crate::verify::run::Finished;

/// The limits the burner runs under, one run each.
pub const RUNS: [f64; 2] = [0.5, 0.25];
/// The burner's exit status, which the program must pass on.
pub const BURNER_STATUS: i32 = 3;
/// Time for the program to move the burner before measuring starts.
pub(super) const SETTLE: Duration = Duration::from_millis(300);
/// The measurement window: 16 periods of 100 ms.
pub(super) const MEASURE: Duration = Duration::from_millis(1600);
pub(super) const START_TIMEOUT: Duration = Duration::from_secs(10);
pub(super) const EXIT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the burner does until the verifier creates the stop file.
#[derive(Clone, Copy)]
pub(super) enum Burn {
    /// Spin on the CPU: the real measurement.
    Spin,
    /// Sleep in short steps: enough for looking at files in a fake tree.
    Idle,
}

pub(super) fn burner_script(stop: &Path, burn: Burn) -> String {
    let body = match burn {
        Burn::Spin => ":",
        Burn::Idle => "sleep 0.02",
    };
    // It forks first thing, as real programs do (a child born outside the cgroup stays
    // there, uncapped), and waits for that child to be gone before it exits, so a program
    // that removes its cgroup right after waitpid finds it empty. The stop file ends it;
    // the SECONDS bound only matters if the verifier died.
    format!(
        "sleep 30 <&- & first=$!; echo \"burner $$\"; while [[ ! -e '{}' ]] && (( SECONDS < 30 )); do {body}; done; kill $first; wait $first; exit {BURNER_STATUS}",
        stop.display()
    )
}

/// Everything seen during one run of the program.
pub(super) struct Run {
    pub(super) cpus: f64,
    /// The burner's pid, from its `burner PID` line.
    pub(super) burner: Option<i32>,
    pub(super) finished: Finished,
    /// The burner's cgroup in the cpu hierarchy, and the /proc/PID/cgroup line naming it.
    pub(super) burner_cgroup: Option<(PathBuf, String)>,
    /// The burner's first child (host pid), and the cgroup it was born in (read by the
    /// tracer before it ran).
    pub(super) first_child: Option<(i32, Option<PathBuf>)>,
    /// The program's cgroup under DIR while the burner ran, with its limit files.
    pub(super) child: Option<(PathBuf, BTreeMap<&'static str, String>)>,
    pub(super) share: Result<Share, String>,
    /// cpu.stat before and after the window, and of which cgroup.
    pub(super) stat: Option<(PathBuf, CpuStat, CpuStat)>,
    /// DIR's subdirectories after the program exited.
    pub(super) left: Vec<PathBuf>,
}

pub(super) fn args(dir: &Path, cpus: f64, script: &str) -> Vec<String> {
    [
        "--parent",
        &dir.display().to_string(),
        "--cpus",
        &cpus.to_string(),
        "--",
        "bash",
        "-c",
        script,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

pub(super) fn burner_pid(line: &str) -> Option<i32> {
    line.strip_prefix("burner ")?.trim().parse().ok()
}

pub(super) fn observe(
    cx: &Context,
    fs: &CgroupFs,
    parent: &Cgroup,
    cpus: f64,
    measure: Measure,
) -> Result<Run> {
    let stop = cx.scratch.path().join(format!("stop-{cpus}"));
    let script = burner_script(&stop, Burn::Spin);
    // Under the adversary: a program that moves CMD after starting it does so only once
    // CMD has forked, every time (see verify::adversary).
    let mut running = cx.start_traced(&args(&parent.path, cpus, &script), &[])?;
    let burner = running
        .wait_for(START_TIMEOUT, |l| burner_pid(l).is_some())
        .and_then(|l| burner_pid(&l));
    let mut run = Run {
        cpus,
        burner,
        finished: Finished {
            exit: Exit::TimedOut,
            stdout: Vec::new(),
            stderr: String::new(),
            took: Duration::ZERO,
        },
        burner_cgroup: None,
        first_child: None,
        child: None,
        share: Err("the burner never started".into()),
        stat: None,
        left: Vec::new(),
    };
    if let Some(pid) = burner {
        std::thread::sleep(SETTLE);
        run.burner_cgroup = fs.cgroup_of(pid, "cpu").ok().map(|dir| {
            let line = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
                .unwrap_or_default()
                .lines()
                .find(|l| fs.dir_in_proc_cgroup(l, "cpu").as_ref() == Some(&dir))
                .unwrap_or_default()
                .to_owned();
            (dir, line)
        });
    }
    if let Some(pid) = burner.filter(|_| measure == Measure::Share) {
        let child = program_cgroup(parent, run.burner_cgroup.as_ref().map(|(d, _)| d.as_path()));
        run.child = child
            .as_ref()
            .map(|d| (d.clone(), Cgroup::open(d, parent.version).cpu_limit_files()));
        // The throttling counters of the cgroup the burner is in, or else of the
        // program's cgroup (which then shows that nothing in it ran).
        let stat_dir = match &run.burner_cgroup {
            Some((d, _)) if inside(d, &parent.path) => Some(d.clone()),
            _ => child,
        };
        let stat_of = |d: &Path| Cgroup::open(d, parent.version).cpu_stat().ok();
        let stat0 = stat_dir.as_deref().and_then(stat_of);
        run.share = cpu_share::measure(pid, MEASURE);
        let stat1 = stat_dir.as_deref().and_then(stat_of);
        if let (Some(d), Some(a), Some(b)) = (stat_dir, stat0, stat1) {
            run.stat = Some((d, a, b));
        }
    }
    if measure == Measure::Skip {
        run.share = Err("not measured".into());
    }
    std::fs::write(&stop, "")?;
    let (finished, events) = running.finish_traced(EXIT_TIMEOUT);
    run.finished = finished;
    run.first_child = burner
        .and_then(|pid| first_child(&events, pid))
        .map(|(child, text)| (child, fs.dir_in_proc_cgroup(&text, "cpu")));
    run.left = parent.children();
    Ok(run)
}

/// Is `dir` strictly below `parent`?
pub(super) fn inside(dir: &Path, parent: &Path) -> bool {
    dir != parent && dir.starts_with(parent)
}

/// The program's child cgroup of DIR: the one holding the burner, or else the only one.
pub(super) fn program_cgroup(parent: &Cgroup, burner: Option<&Path>) -> Option<PathBuf> {
    let children = parent.children();
    if let Some(b) = burner
        && let Some(c) = children.iter().find(|c| b.starts_with(c))
    {
        return Some(c.clone());
    }
    children.into_iter().next()
}
