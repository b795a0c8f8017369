//! What chapter 9's verifier sees of one run. It prepares cgroups of its own with a
//! ceiling (memory a few times the limit under test, no swap, and a pids.max), puts the
//! program in a child `run` of them before exec, and passes the ceiling cgroups as CGM
//! and CGP: whatever the program does, a hog or a fork bomb stops at the ceiling. CMD is
//! a bash script that says its pid, waits for the verifier, runs the hog (or the
//! forker), says how that ended, and waits again: meanwhile the verifier reads, from
//! outside, the cgroups CMD is in and the kernel's counts there. A thread watches the
//! cgroups the program makes, so limits are seen even when CMD dies at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::Result;
use crate::kernel::cgroup::{Cgroup, CgroupFs, Joint, MemoryLimit, PidsMax, Version};
use crate::verify::Context;
use crate::verify::adversary::first_child;
use crate::verify::run::Finished;

/// The limits the program is given: `--memory 64M` (in bytes) and `--pids 20`.
pub const BYTES: u64 = 64 << 20;
pub const PIDS: u64 = 20;
/// The verifier's ceiling around everything the program starts.
pub const CEILING_BYTES: u64 = 4 * BYTES;
pub const CEILING_PIDS: u64 = 3 * PIDS;
/// Where the program itself runs, under the ceiling.
pub const RUN: &str = "run";
const START_TIMEOUT: Duration = Duration::from_secs(10);
const END_TIMEOUT: Duration = Duration::from_secs(30);
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(1);

/// The files a limit can be in, read in every cgroup the program makes.
pub(super) const LIMIT_FILES: [&str; 5] = [
    "memory.max",
    "memory.swap.max",
    "memory.limit_in_bytes",
    "memory.memsw.limit_in_bytes",
    "pids.max",
];

/// Which of the two CMDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string doubled until the OOM killer ends it.
    Hog,
    /// `xargs -P 30` starting sleeps of 2 s: more at once than pids.max allows, even on a
    /// slow machine (an emulated one forks slowly).
    Forker,
}

impl Kind {
    /// The word CMD's second line starts with, and what CMD's script runs.
    fn word_and_body(self) -> (&'static str, &'static str) {
        match self {
            // In a subshell: the OOM killer takes the biggest process, the subshell, and
            // bash, still alive, says how it ended.
            Kind::Hog => ("hog", "( a=x; while :; do a=$a$a; done )"),
            // xargs waits for one of its children when a fork fails, then forks again, so
            // it survives the refusals and exits 0.
            Kind::Forker => ("forker", "seq 30 | xargs -P 30 -I{} sleep 2"),
        }
    }

    pub fn word(self) -> &'static str {
        self.word_and_body().0
    }
}

/// CMD's script: `cmd PID`, wait for `go`, the work, `<word> STATUS`, wait for `done`, and
/// exit with the work's status.
pub(super) fn script(kind: Kind, go: &Path, done: &Path) -> String {
    let (word, body) = kind.word_and_body();
    format!(
        "echo \"cmd $$\"; until [[ -e '{go}' ]] || (( SECONDS > 20 )); do sleep 0.02; done; {body}; s=$?; echo \"{word} $s\"; until [[ -e '{done}' ]] || (( SECONDS > 40 )); do sleep 0.02; done; exit $s",
        go = go.display(),
        done = done.display()
    )
}

/// The verifier's cgroups: the ceiling (CGM and CGP) and `run` below it.
pub(super) struct Setup {
    pub(super) fs: CgroupFs,
    pub(super) ceiling: Joint,
    pub(super) cgm: PathBuf,
    pub(super) cgp: PathBuf,
    pub(super) version: Version,
    /// The `run` cgroups, one per hierarchy.
    run: Vec<Cgroup>,
}

impl Setup {
    pub(super) fn new() -> Result<Setup> {
        let fs = CgroupFs::detect()?;
        fs.require("memory")?;
        fs.require("pids")?;
        let ceiling = fs.create_owned_joint(&["memory", "pids"], "ch09-verify")?;
        let memory = ceiling.of("memory").expect("made above").clone();
        let pids = ceiling.of("pids").expect("made above").clone();
        memory.set(&MemoryLimit::no_swap(CEILING_BYTES))?;
        pids.set(&PidsMax::new(CEILING_PIDS))?;
        ceiling.enable_for_children()?;
        let run = ceiling.make_children(RUN)?;
        Ok(Setup {
            cgm: memory.path.clone(),
            cgp: pids.path.clone(),
            version: memory.version,
            fs,
            ceiling,
            run,
        })
    }

    /// The program's own cgroups under CGM and CGP: everything but `run`.
    pub(super) fn made(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for parent in [&self.cgm, &self.cgp] {
            for c in Cgroup::open(parent, self.version).children() {
                if c.file_name().is_some_and(|n| n != RUN) && !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        out
    }

    pub(super) fn args(&self, script: &str) -> Vec<String> {
        [
            "--memory-parent",
            &self.cgm.display().to_string(),
            "--pids-parent",
            &self.cgp.display().to_string(),
            "--memory",
            &BYTES.to_string(),
            "--pids",
            &PIDS.to_string(),
            "--",
            "bash",
            "-c",
            script,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    pub(super) fn remove(self) -> Result<()> {
        Ok(self.ceiling.remove()?)
    }
}

/// Everything seen during one run of the program.
#[derive(Debug)]
pub(super) struct Run {
    pub(super) kind: Kind,
    pub(super) finished: Finished,
    /// CMD's pid, from its `cmd PID` line.
    pub(super) cmd: Option<i32>,
    /// CMD's memory and pids cgroups, from /proc/CMD/cgroup.
    pub(super) cmd_memory: Option<PathBuf>,
    pub(super) cmd_pids: Option<PathBuf>,
    /// CMD's first child (its first `sleep`), and the memory and pids cgroups it was born
    /// in, read by the tracer before it ran: a CMD moved in after it started forked it
    /// outside, every time, under the adversary.
    pub(super) first_child: Option<(i32, Option<PathBuf>, Option<PathBuf>)>,
    /// CMD's memory and pids cgroups again once the work had ended: where a CMD moved in
    /// late ended up.
    pub(super) cmd_later: (Option<PathBuf>, Option<PathBuf>),
    /// How the hog or the forker ended (its `<word> STATUS` line).
    pub(super) ended: Option<i32>,
    /// The limit files of each cgroup the program made, as last seen while it ran.
    pub(super) seen: BTreeMap<PathBuf, BTreeMap<&'static str, String>>,
    /// The kernel's counts in CMD's cgroups, read once the work had ended and before CMD
    /// exited: oom_kill, pids.events max, and the peak (`Some(None)`: no peak file).
    pub(super) oom_kills: Option<u64>,
    pub(super) pids_denied: Option<u64>,
    pub(super) peak: Option<Option<u64>>,
    /// oom_kill in the verifier's `run` memory cgroup (where a CMD never moved ends up).
    pub(super) ceiling_oom: Option<u64>,
    /// What was left under CGM and CGP once the program had exited.
    pub(super) left: Vec<PathBuf>,
}

impl Run {
    /// The program's last line of stdout.
    pub(super) fn last_line(&self) -> Option<&str> {
        self.finished
            .stdout
            .iter()
            .rev()
            .map(|l| l.trim())
            .find(|l| !l.is_empty())
    }
}

pub(super) fn observe(cx: &Context, setup: &Setup, kind: Kind) -> Result<Run> {
    let go = cx.scratch.path().join(format!("go-{}", kind.word()));
    let done = cx.scratch.path().join(format!("done-{}", kind.word()));
    let procs: Vec<PathBuf> = setup.run.iter().map(|c| c.file("cgroup.procs")).collect();
    let mut running = cx.start_joined(&setup.args(&script(kind, &go, &done)), &procs)?;
    let stop = AtomicBool::new(false);
    // Nothing in the scope returns early, so the watcher is always stopped.
    let run = std::thread::scope(|s| {
        let watcher = s.spawn(|| watch(setup, &stop));
        let cmd = running
            .wait_for(START_TIMEOUT, |l| cmd_pid(l).is_some())
            .and_then(|l| cmd_pid(&l));
        let mut run = Run {
            kind,
            finished: Finished {
                exit: crate::kernel::child::Exit::TimedOut,
                stdout: Vec::new(),
                stderr: String::new(),
                took: Duration::ZERO,
            },
            cmd,
            cmd_memory: None,
            cmd_pids: None,
            first_child: None,
            cmd_later: (None, None),
            ended: None,
            seen: BTreeMap::new(),
            oom_kills: None,
            pids_denied: None,
            peak: None,
            ceiling_oom: None,
            left: Vec::new(),
        };
        if let Some(pid) = cmd {
            run.cmd_memory = setup.fs.cgroup_of(pid, "memory").ok();
            run.cmd_pids = setup.fs.cgroup_of(pid, "pids").ok();
            // Not written: CMD goes on by itself after 20 s.
            let _ = std::fs::write(&go, "");
            let prefix = format!("{} ", kind.word());
            run.ended = running
                .wait_for(END_TIMEOUT, |l| l.starts_with(&prefix))
                .and_then(|l| l[prefix.len()..].trim().parse().ok());
            run.cmd_later = (
                setup.fs.cgroup_of(pid, "memory").ok(),
                setup.fs.cgroup_of(pid, "pids").ok(),
            );
            if let Some(m) = &run.cmd_memory {
                let m = Cgroup::open(m, setup.version);
                run.oom_kills = m.oom_kills().ok();
                run.peak = m.memory_peak().ok();
            }
            if let Some(p) = &run.cmd_pids {
                run.pids_denied = Cgroup::open(p, setup.version)
                    .pids_events()
                    .ok()
                    .map(|e| e.max);
            }
            run.ceiling_oom = Cgroup::open(&setup.cgm.join(RUN), setup.version)
                .oom_kills()
                .ok();
        }
        // Written whatever happened (CMD may wait for either); missing, CMD ends in 40 s.
        let _ = std::fs::write(&go, "");
        let _ = std::fs::write(&done, "");
        let (finished, events) = running.finish_traced(EXIT_TIMEOUT);
        run.finished = finished;
        run.first_child = cmd
            .and_then(|pid| first_child(&events, pid))
            .map(|(child, text)| {
                let dir = |c| setup.fs.dir_in_proc_cgroup(&text, c);
                (child, dir("memory"), dir("pids"))
            });
        stop.store(true, Ordering::Relaxed);
        run.seen = watcher.join().unwrap_or_default();
        run.left = setup.made();
        run
    });
    Ok(run)
}

pub(super) fn cmd_pid(line: &str) -> Option<i32> {
    line.strip_prefix("cmd ")?.trim().parse().ok()
}

/// Reads the limit files of every cgroup the program makes under CGM and CGP, over and
/// over until `stop`: the last values seen in each, which are those CMD ran under.
fn watch(setup: &Setup, stop: &AtomicBool) -> BTreeMap<PathBuf, BTreeMap<&'static str, String>> {
    let mut seen: BTreeMap<PathBuf, BTreeMap<&'static str, String>> = BTreeMap::new();
    while !stop.load(Ordering::Relaxed) {
        for dir in setup.made() {
            // File by file: a read racing the program's rmdir comes back empty or fails,
            // and must not hide what was there a moment before.
            for f in LIMIT_FILES {
                let Ok(text) = std::fs::read_to_string(dir.join(f)) else {
                    continue;
                };
                let text = text.trim();
                if !text.is_empty() {
                    seen.entry(dir.clone())
                        .or_default()
                        .insert(f, text.to_string());
                }
            }
        }
        std::thread::sleep(POLL);
    }
    seen
}

/// Whether this host has swap in use now (/proc/swaps lists a device).
pub(super) fn host_has_swap() -> bool {
    std::fs::read_to_string("/proc/swaps").is_ok_and(|t| t.lines().count() > 1)
}
