//! What chapter 10's verifier sees of one container's life: it drives the program
//! through create, start, a second start, a delete while running, pause, resume, a kill
//! from outside and delete, with a CPU burner as CMD, and reads after each step what the
//! kernel says: the members of CG/ID, the first one's /proc/PID/exe and state letter,
//! their CPU clocks, the freezer's report, and what `state` printed. Judging is
//! verify.rs's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::Result;
use crate::kernel::cgroup::{Cgroup, CpuLimit, FreezerState};
use crate::kernel::procfs;
use crate::verify::Context;
use crate::verify::run::Finished;

/// The container's id: a name the host can tell is ours.
pub const ID: &str = "lc-box";
/// How many spinning children the burner forks besides itself: enough that freezing
/// them all takes the kernel a while, so a `pause` that does not wait is caught.
pub const SPINNERS: usize = 8;
/// How long the created process is watched for an early exec.
pub(super) const WATCH_CREATED: Duration = Duration::from_millis(200);
/// The window in which a running burner's CPU time must grow.
pub(super) const RUN_WINDOW: Duration = Duration::from_millis(300);
/// The window in which a paused one's must not move.
pub(super) const PAUSE_WINDOW: Duration = Duration::from_millis(500);
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long what a call forked has, after the call exits, to leave its process group.
const LEAVE_GROUP: Duration = Duration::from_millis(500);

/// The burner: SPINNERS children and itself on the CPU, each ending by itself after 30 s
/// in case the verifier died.
pub fn burner_script() -> String {
    let spin = "while (( SECONDS < 30 )); do :; done";
    let each: Vec<String> = (1..=SPINNERS).map(|i| i.to_string()).collect();
    format!("for i in {}; do {spin} & done; {spin}", each.join(" "))
}

/// One run of the program: its arguments after `--state DIR`, how it ended, its output.
#[derive(Debug)]
pub struct Call {
    pub args: String,
    pub finished: Finished,
}

impl Call {
    pub fn code(&self) -> Option<i32> {
        match self.finished.exit {
            crate::kernel::child::Exit::Code(c) => Some(c),
            _ => None,
        }
    }

    /// The `status` of the JSON it printed, if it printed one.
    pub fn status(&self) -> Option<String> {
        let text = self.finished.stdout.join("\n");
        let at = text.find("\"status\"")?;
        let rest = text[at + 8..].trim_start().strip_prefix(':')?.trim_start();
        let rest = rest.strip_prefix('"')?;
        Some(rest[..rest.find('"')?].to_string())
    }
}

/// The kernel's view of CG/ID at one moment.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Members of CG/ID (`None`: it does not exist).
    pub procs: Option<Vec<i32>>,
    /// /proc/PID/exe of the container's process.
    pub exe: Option<PathBuf>,
    /// Each member's state letter.
    pub states: Vec<(i32, char)>,
    /// What the freezer says of CG/ID.
    pub freezer: Option<FreezerState>,
    /// DIR/ID exists.
    pub record: bool,
}

/// CPU time of CG/ID's members over a window: before and after.
#[derive(Debug, Clone, Copy)]
pub struct Cpu {
    pub before: Duration,
    pub after: Duration,
    pub window: Duration,
}

impl Cpu {
    pub fn grew(&self) -> Duration {
        self.after.saturating_sub(self.before)
    }
}

/// A whole life. Each stage is `None` when an earlier one left nothing to look at.
#[derive(Debug, Default)]
pub struct Life {
    /// The container's process, as CG/ID listed it after `create`.
    pub pid: Option<i32>,
    pub create: Option<Call>,
    /// Right after `create` returned, and WATCH_CREATED later.
    pub created: Option<(Seen, Seen)>,
    pub created_state: Option<Call>,
    pub start: Option<Call>,
    pub running: Option<(Seen, Cpu)>,
    pub running_state: Option<Call>,
    pub start_again: Option<(Call, Seen)>,
    pub delete_running: Option<(Call, Seen)>,
    pub pause: Option<Call>,
    /// The freezer's report the moment `pause` had exited.
    pub at_pause_return: Option<Seen>,
    pub paused: Option<(Seen, Cpu)>,
    pub paused_state: Option<Call>,
    pub resume: Option<Call>,
    pub resumed: Option<(Seen, Cpu)>,
    pub resumed_state: Option<Call>,
    /// `state` after the verifier SIGKILLed every member itself.
    pub killed_state: Option<Call>,
    pub delete: Option<Call>,
    pub deleted: Option<Seen>,
    pub unknown_state: Option<Call>,
}

/// Where the program keeps its state, and the cgroup parent it is given.
pub struct Place<'a> {
    pub state: &'a Path,
    pub parent: &'a Cgroup,
    /// A cgroup with a CPU quota over the container, made tight around `pause`: its busy
    /// processes then wait throttled, off the CPU, where the freezer cannot reach them
    /// until the next period, so a `pause` that returns without waiting returns while
    /// the kernel still says freezing, every time (see [`Throttle`]).
    pub throttle: Option<Throttle<'a>>,
}

/// The cgroup whose quota holds the container back, and (v1 and hybrid, where the cpu
/// controller has a tree of its own) the one its process is moved into after `create`.
pub struct Throttle<'a> {
    pub cpu: &'a Cgroup,
    pub join: bool,
}

/// The quota set around `pause`: 30 ms of CPU time per second, used up by nine busy
/// processes in about 15 ms, after which they wait off the CPU for the rest of the
/// second. (Enough for each of them to be scheduled once in the next period, which is
/// all the freezer needs to finish; a 1 ms quota lets one process run per period.)
const HOLD: CpuLimit = CpuLimit {
    quota_us: Some(30_000),
    period_us: 1_000_000,
};

impl Place<'_> {
    fn cgroup(&self) -> Cgroup {
        Cgroup::open(&self.parent.path.join(ID), self.parent.version)
    }

    fn see(&self, pid: Option<i32>) -> Seen {
        let cg = self.cgroup();
        let procs = cg.procs().ok();
        let states = procs
            .iter()
            .flatten()
            .filter_map(|p| Some((*p, procfs::state(*p)?)))
            .collect();
        Seen {
            exe: pid.and_then(|p| std::fs::read_link(format!("/proc/{p}/exe")).ok()),
            freezer: cg.freezer_state().ok(),
            procs,
            states,
            record: self.state.join(ID).exists(),
        }
    }

    fn cpu(&self) -> Duration {
        let procs = self.cgroup().procs().unwrap_or_default();
        procs
            .iter()
            .filter_map(|p| procfs::cpu_clock(*p).or_else(|_| procfs::cpu_time(*p)).ok())
            .sum()
    }

    fn measure(&self, window: Duration) -> Cpu {
        let before = self.cpu();
        std::thread::sleep(window);
        Cpu {
            before,
            after: self.cpu(),
            window,
        }
    }
}

fn call(cx: &Context, state: &Path, args: &[&str]) -> Result<Call> {
    let mut full = vec!["--state".to_string(), state.display().to_string()];
    full.extend(args.iter().map(|a| a.to_string()));
    let mut running = cx.start(&full)?;
    running.close_stdin();
    // The verifier kills the program's process group once it has exited; the process
    // `create` forks may not have reached its setsid() by then, through no fault of the
    // program's. It gets LEAVE_GROUP to do so; one that never does is still killed.
    Ok(Call {
        args: args.join(" "),
        finished: running.finish_letting_go(CALL_TIMEOUT, LEAVE_GROUP),
    })
}

/// Drives one whole life; stops early when there is no container left to look at.
pub fn observe(cx: &Context, place: &Place) -> Result<Life> {
    let mut life = Life::default();
    let parent = place.parent.path.display().to_string();
    let script = burner_script();
    let st = place.state;
    let create = call(
        cx,
        st,
        &[
            "create",
            ID,
            "--cgroup-parent",
            &parent,
            "--",
            "bash",
            "-c",
            &script,
        ],
    )?;
    let first = place.see(None);
    life.create = Some(create);
    let Some(pid) = first.procs.as_ref().and_then(|p| p.first().copied()) else {
        life.created = Some((first.clone(), first));
        return Ok(life);
    };
    life.pid = Some(pid);
    if let Some(t) = place.throttle.as_ref().filter(|t| t.join) {
        // Before `start`: CMD and everything it forks are born under the quota.
        let _ = t.cpu.add_process(pid);
    }
    let first = place.see(Some(pid));
    std::thread::sleep(WATCH_CREATED);
    life.created = Some((first, place.see(Some(pid))));
    life.created_state = Some(call(cx, st, &["state", ID])?);

    life.start = Some(call(cx, st, &["start", ID])?);
    // The burner's children take a moment to be forked.
    std::thread::sleep(Duration::from_millis(100));
    let cpu = place.measure(RUN_WINDOW);
    life.running = Some((place.see(Some(pid)), cpu));
    life.running_state = Some(call(cx, st, &["state", ID])?);

    let again = call(cx, st, &["start", ID])?;
    life.start_again = Some((again, place.see(Some(pid))));
    let delete = call(cx, st, &["delete", ID])?;
    life.delete_running = Some((delete, place.see(Some(pid))));

    if let Some(t) = &place.throttle {
        // The quota is spent within ~15 ms, then nothing runs until the next period, a
        // second after the write: the freeze can only complete then.
        let _ = t.cpu.set(&HOLD);
        std::thread::sleep(Duration::from_millis(100));
    }
    life.pause = Some(call(cx, st, &["pause", ID])?);
    life.at_pause_return = Some(place.see(Some(pid)));
    if let Some(t) = &place.throttle {
        let _ = t.cpu.set(&CpuLimit::unlimited());
    }
    // Frozen or not, judged from here: a freeze still under way settles first.
    std::thread::sleep(Duration::from_millis(100));
    let cpu = place.measure(PAUSE_WINDOW);
    life.paused = Some((place.see(Some(pid)), cpu));
    life.paused_state = Some(call(cx, st, &["state", ID])?);

    life.resume = Some(call(cx, st, &["resume", ID])?);
    let seen = place.see(Some(pid));
    let cpu = place.measure(RUN_WINDOW);
    life.resumed = Some((seen, cpu));
    life.resumed_state = Some(call(cx, st, &["state", ID])?);

    kill_from_outside(place);
    life.killed_state = Some(call(cx, st, &["state", ID])?);
    life.delete = Some(call(cx, st, &["delete", ID])?);
    life.deleted = Some(place.see(None));
    life.unknown_state = Some(call(cx, st, &["state", "lc-no-such-box"])?);
    Ok(life)
}

/// SIGKILLs every member of CG/ID, as something outside the runtime would (the OOM
/// killer, an operator), and waits until the cgroup is empty. A cgroup still frozen
/// (a resume that failed) is thawed first: frozen v1 tasks do not die.
fn kill_from_outside(place: &Place) {
    let cg = place.cgroup();
    if cg.freezer_state().is_ok_and(|s| s != FreezerState::Thawed) {
        let _ = cg.thaw();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while let Ok(procs) = cg.procs() {
        if procs.is_empty() || std::time::Instant::now() > deadline {
            break;
        }
        for p in procs {
            let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
