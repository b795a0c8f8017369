//! Verifying ch10_lifecycle from outside: the verifier makes a cgroup parent CG where
//! the freezer is (the v1 freezer hierarchy on v1 and hybrid hosts, the one tree on v2)
//! and a state dir DIR, drives one container through its whole life with a CPU burner
//! as CMD (see [`super::observe`]), and judges each stage by what the kernel said.

use std::time::Duration;

use crate::error::Result;

use super::observe::{self, Call, Cpu, ID, Life, PAUSE_WINDOW, Place, Seen, Throttle};
use crate::kernel::cgroup::{CgroupFs, FreezerState};
use crate::verify::run::describe;
use crate::verify::{Check, CheckId, Context, all_failed};

crate::checks! {
    pub enum Ch10 {
        Created => "created: after `create`, a process waits in CG/ID and is not CMD yet",
        CreatedState => "`state` says created",
        Started => "start: the process execs CMD, and CMD burns CPU",
        RunningState => "`state` says running",
        StartTwice => "a second `start` exits 1 and changes nothing",
        DeleteRunning => "`delete` of a running container exits 1 and removes nothing",
        Frozen => "pause: the kernel reports CG/ID frozen when `pause` returns",
        Still => "paused: CPU time stands still, and no process is in state T",
        PausedState => "`state` says paused",
        Resumed => "resume: thawed, CPU time grows again, `state` says running",
        Stopped => "killed from outside: `state` says stopped",
        Deleted => "delete: CG/ID and DIR/ID are gone",
        Unknown => "`state` of an unknown id exits 1",
    }
}

/// Less CPU time than this in RUN_WINDOW means the burner is not running.
const MIN_GROWTH: Duration = Duration::from_millis(30);
/// More than this while paused means something ran.
const MAX_PAUSED: Duration = Duration::from_millis(5);

pub fn verify(cx: &Context) -> Result<Vec<Check>> {
    let fs = CgroupFs::detect()?;
    let freezer = fs.freezer()?;
    let cpu = fs.controller("cpu");
    // On v2 the quota goes on CG itself (CG/ID is below it); on v1 and hybrid on a cgroup
    // of its own in the cpu tree, which the container's process joins after `create`.
    let together = cpu.as_ref().is_some_and(|c| c.dir == freezer.dir);
    // Made before CG, so that CG goes first on every way out (drop order, and the undo
    // registry's newest-first): the container may be frozen, and only CG's removal thaws
    // it; a frozen process SIGKILLed through the cpu cgroup does not die, which would
    // leave that cgroup behind.
    let apart = match cpu {
        Some(_) if !together => Some(fs.create_owned("cpu", "ch10-verify-cpu")?),
        _ => None,
    };
    let parent = if together {
        let p = fs.create_owned("cpu", "ch10-verify")?;
        p.enable_for_children("cpu")?;
        p
    } else {
        fs.create_owned_freezable("ch10-verify")?
    };
    let throttle = match (&apart, together) {
        (Some(c), _) => Some(Throttle { cpu: c, join: true }),
        (None, true) => Some(Throttle {
            cpu: &parent,
            join: false,
        }),
        (None, false) => None,
    };
    let state = cx.scratch.subdir("state")?;
    let life = observe::observe(
        cx,
        &Place {
            state: &state,
            parent: &parent,
            throttle,
        },
    )?;
    let checks = judge(cx.source(), &life, &|f| cx.describe(f));
    // Thaws, kills whatever the program left, removes CG/ID and CG.
    parent.remove()?;
    if let Some(c) = apart {
        c.remove()?;
    }
    Ok(checks)
}

fn judge(
    source: &str,
    life: &Life,
    describe: &dyn Fn(&crate::verify::run::Finished) -> String,
) -> Vec<Check> {
    let said = |c: &Call| format!("`{}` {}", c.args_short(), describe(&c.finished));
    let Some(pid) = life.pid else {
        let create = life.create.as_ref().map(said).unwrap_or_default();
        return all_failed::<Ch10>(
            Ch10::Created
                .fail(format!("{create}, and CG/{ID} holds no process"))
                .expected("a process in CG/ID, waiting on its fifo, after `create` exits 0")
                .hint(early_hint(life, source)),
        );
    };
    let mut out = vec![judge_created(pid, life)];
    out.push(judge_state(
        Ch10::CreatedState,
        life.created_state.as_ref(),
        "created",
        "",
    ));
    out.push(judge_started(pid, life, &said));
    let started = out.last().is_some_and(Check::passed);
    out.push(judge_state(
        Ch10::RunningState,
        life.running_state.as_ref(),
        "running",
        "CMD has exec'd: /proc/PID/exe is no longer the runtime",
    ));
    if !started {
        for id in &Ch10::ALL[4..Ch10::ALL.len() - 1] {
            out.push(id.not_judged("the container never ran"));
        }
    } else {
        out.push(judge_unchanged(
            Ch10::StartTwice,
            life.start_again.as_ref(),
            pid,
        ));
        out.push(judge_unchanged(
            Ch10::DeleteRunning,
            life.delete_running.as_ref(),
            pid,
        ));
        if let Some((_, seen)) = &life.delete_running
            && !(seen.record && seen.procs.as_ref().is_some_and(|p| p.contains(&pid)))
        {
            // What is left of the container is not a container any more.
            for id in &Ch10::ALL[6..Ch10::ALL.len() - 1] {
                out.push(id.not_judged("`delete` removed a running container"));
            }
            out.push(judge_unknown(life, &said));
            return out;
        }
        out.push(judge_frozen(life));
        out.push(judge_still(life));
        out.push(judge_state(
            Ch10::PausedState,
            life.paused_state.as_ref(),
            "paused",
            "the kernel reports the cgroup frozen",
        ));
        out.push(judge_resumed(life));
        out.push(judge_state(
            Ch10::Stopped,
            life.killed_state.as_ref(),
            "stopped",
            "the verifier SIGKILLed every process of CG/ID itself, telling the program nothing: only the kernel knows",
        ));
        out.push(judge_deleted(life));
    }
    out.push(judge_unknown(life, &said));
    out
}

fn judge_unknown(life: &Life, said: &dyn Fn(&Call) -> String) -> Check {
    match &life.unknown_state {
        Some(c) if c.code() == Some(1) => Ch10::Unknown.pass(""),
        Some(c) => Ch10::Unknown
            .fail(said(c))
            .expected("exit status 1 and a message")
            .hint("an id with no DIR/ID is an error"),
        None => Ch10::Unknown.not_judged("the life ended early"),
    }
}

impl Call {
    fn args_short(&self) -> String {
        match self.args.split_once(" -- ") {
            Some((a, _)) => format!("{a} -- bash -c BURNER"),
            None => self.args.clone(),
        }
    }
}

fn early_hint(life: &Life, source: &str) -> String {
    let Some(create) = &life.create else {
        return format!("fix `create` in {source}");
    };
    let text = describe(&create.finished, None);
    if text.contains("todo!()") {
        format!("write the part that todo!() names in {source}; `learn-containers hint 10` helps")
    } else if create.code() == Some(0) {
        "`create` exited 0 but nothing is in CG/ID: move the child into CG/ID (its pid into \
         cgroup.procs) before returning, and give it a session of its own (setsid) so it \
         outlives the caller's process group"
            .into()
    } else {
        format!("fix what the message names in {source}")
    }
}

fn exe(s: &Seen) -> String {
    s.exe
        .as_ref()
        .map_or("unreadable".into(), |e| e.display().to_string())
}

fn is_cmd(s: &Seen) -> bool {
    s.exe.as_ref().is_some_and(|e| e.ends_with("bash"))
}

fn judge_created(pid: i32, life: &Life) -> Check {
    let Some((first, later)) = &life.created else {
        return Ch10::Created.not_judged("nothing was seen after create");
    };
    for (s, when) in [(first, "when `create` returned"), (later, "200 ms later")] {
        if is_cmd(s) {
            return Ch10::Created
                .fail(format!(
                    "{when}, /proc/{pid}/exe is {}: CMD had already exec'd",
                    exe(s)
                ))
                .expected("the process still the runtime (not CMD) until `start`")
                .hint("the child must block before exec: open the fifo for writing first (it blocks until `start` opens it for reading), exec only after");
        }
        if !s.procs.as_ref().is_some_and(|p| p.contains(&pid)) {
            return Ch10::Created
                .fail(format!("{when}, process {pid} is not in CG/{ID} any more"))
                .expected("the created process waiting in CG/ID")
                .hint("the created process must wait, not exit: and in a session of its own (setsid), since the caller's process group can be killed when the caller exits");
        }
    }
    Ch10::Created.pass(format!(
        "process {pid} in CG/{ID}, /proc/{pid}/exe {}",
        exe(later)
    ))
}

fn judge_state(id: Ch10, call: Option<&Call>, want: &str, why: &str) -> Check {
    let Some(c) = call else {
        return id.not_judged("the life ended early");
    };
    match c.status() {
        Some(s) if s == want && c.code() == Some(0) => id.pass(format!("\"status\":\"{s}\"")),
        got => {
            let saw = match got {
                Some(s) => format!("`{}` printed \"status\":\"{s}\"", c.args),
                None => format!(
                    "`{}` printed no status ({}): {:?}",
                    c.args,
                    describe(&c.finished, None),
                    c.finished.stdout.join("\n")
                ),
            };
            let hint = if why.is_empty() {
                "read the status from the kernel: is the process in its cgroup, is the cgroup frozen, has it exec'd (/proc/PID/exe)?".to_string()
            } else {
                format!("{why}; read the status from the kernel each time, never from a file")
            };
            id.fail(saw)
                .expected(format!("exit 0 and \"status\":\"{want}\""))
                .hint(hint)
        }
    }
}

fn cpu_text(c: &Cpu) -> String {
    format!(
        "{} ms of CPU in {} ms",
        c.grew().as_millis(),
        c.window.as_millis()
    )
}

fn judge_started(pid: i32, life: &Life, said: &dyn Fn(&Call) -> String) -> Check {
    let (Some(start), Some((seen, cpu))) = (&life.start, &life.running) else {
        return Ch10::Started.not_judged("the life ended early");
    };
    if start.code() != Some(0) {
        return Ch10::Started.fail(said(start)).expected("exit 0").hint(
            "`start` opens the fifo for reading, which lets the waiting process go on to exec",
        );
    }
    if !is_cmd(seen) {
        return Ch10::Started
            .fail(format!("after `start`, /proc/{pid}/exe is {}", exe(seen)))
            .expected("CMD (bash)")
            .hint("the process must exec CMD once its open of the fifo returns");
    }
    if cpu.grew() < MIN_GROWTH {
        return Ch10::Started
            .fail(format!("CG/{ID}'s processes used {}", cpu_text(cpu)))
            .expected("the burner spinning")
            .hint("is the cgroup frozen already, or CMD stopped?");
    }
    Ch10::Started.pass(format!("/proc/{pid}/exe {}; {}", exe(seen), cpu_text(cpu)))
}

fn judge_unchanged(id: Ch10, seen: Option<&(Call, Seen)>, pid: i32) -> Check {
    let Some((c, s)) = seen else {
        return id.not_judged("the life ended early");
    };
    let alive = s.procs.as_ref().is_some_and(|p| p.contains(&pid));
    if c.code() == Some(1) && alive && s.record && is_cmd(s) {
        return id.pass(format!("exit 1: {}", last_line(c)));
    }
    let mut what = vec![format!("`{}` {}", c.args, describe(&c.finished, None))];
    if s.procs.is_none() {
        what.push(format!("CG/{ID} is gone"));
    } else if !alive {
        what.push(format!("process {pid} is gone"));
    }
    if !s.record {
        what.push(format!("DIR/{ID} is gone"));
    }
    id.fail(what.join("; "))
        .expected("exit 1 with a message, the container still running, CG/ID and DIR/ID in place")
        .hint("check the status (from the kernel) first, and refuse: `start` only a created container, `delete` only a stopped one")
}

fn last_line(c: &Call) -> String {
    c.finished
        .stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

fn stopped_by_signal(s: &Seen) -> Vec<i32> {
    s.states
        .iter()
        .filter(|(_, st)| *st == 'T')
        .map(|(p, _)| *p)
        .collect()
}

fn judge_frozen(life: &Life) -> Check {
    let (Some(pause), Some(at)) = (&life.pause, &life.at_pause_return) else {
        return Ch10::Frozen.not_judged("the life ended early");
    };
    if pause.code() != Some(0) {
        return Ch10::Frozen
            .fail(format!(
                "`{}` {}",
                pause.args,
                describe(&pause.finished, None)
            ))
            .expected("exit 0 once the cgroup is frozen")
            .hint("v2: write 1 to cgroup.freeze; v1: write FROZEN to freezer.state");
    }
    // A signal takes a moment to stop a busy process: look again a little later too.
    let mut stopped = stopped_by_signal(at);
    if let Some((later, _)) = &life.paused {
        stopped.extend(stopped_by_signal(later));
        stopped.sort_unstable();
        stopped.dedup();
    }
    match at.freezer {
        Some(FreezerState::Frozen) => Ch10::Frozen.pass("frozen"),
        Some(FreezerState::Freezing) => Ch10::Frozen
            .fail("the kernel still reported CG/ID freezing (not frozen) when `pause` had returned")
            .expected("frozen: `frozen 1` in cgroup.events, FROZEN in freezer.state")
            .hint("writing the freezer file only starts the freeze; read the kernel's report again until it says frozen, then return"),
        _ if !stopped.is_empty() => Ch10::Frozen
            .fail(format!("CG/ID is not frozen, and processes {stopped:?} are in state T (stopped by a signal)"))
            .expected("the cgroup frozen by the freezer")
            .hint("that is SIGSTOP: the process tree sees it (state T, a parent's waitpid with WUNTRACED reports it), and it stops one process, not its children. Use the cgroup's freezer"),
        other => Ch10::Frozen
            .fail(format!("the kernel reports CG/ID {}", other.map_or("unreadable".into(), |s| format!("{s:?}").to_lowercase())))
            .expected("frozen")
            .hint("v2: write 1 to cgroup.freeze and wait for `frozen 1` in cgroup.events; v1: write FROZEN to freezer.state and wait until it reads FROZEN"),
    }
}

fn judge_still(life: &Life) -> Check {
    let Some((seen, cpu)) = &life.paused else {
        return Ch10::Still.not_judged("the life ended early");
    };
    let stopped = stopped_by_signal(seen);
    if !stopped.is_empty() {
        return Ch10::Still
            .fail(format!("processes {stopped:?} are in state T (stopped by a signal)"))
            .expected("frozen processes, which their parents cannot tell apart from running ones")
            .hint("SIGSTOP shows: state T, and a parent's waitpid(WUNTRACED) sees it. The freezer hides from the process tree");
    }
    if cpu.grew() > MAX_PAUSED {
        return Ch10::Still
            .fail(format!(
                "while paused, CG/ID's processes used {}",
                cpu_text(cpu)
            ))
            .expected(format!("no CPU time in {} ms", PAUSE_WINDOW.as_millis()))
            .hint("freeze the whole cgroup, not one process: CMD's children run on otherwise");
    }
    Ch10::Still.pass(cpu_text(cpu))
}

fn judge_resumed(life: &Life) -> Check {
    let (Some(resume), Some((seen, cpu))) = (&life.resume, &life.resumed) else {
        return Ch10::Resumed.not_judged("the life ended early");
    };
    if resume.code() != Some(0) {
        return Ch10::Resumed
            .fail(format!(
                "`{}` {}",
                resume.args,
                describe(&resume.finished, None)
            ))
            .expected("exit 0 once thawed")
            .hint("v2: write 0 to cgroup.freeze; v1: write THAWED to freezer.state");
    }
    if seen.freezer != Some(FreezerState::Thawed) {
        return Ch10::Resumed
            .fail(format!("when `resume` returned the kernel reported CG/ID {:?}", seen.freezer))
            .expected("thawed")
            .hint("wait for the kernel's report: `frozen 0` in cgroup.events, THAWED in freezer.state");
    }
    if cpu.grew() < MIN_GROWTH {
        return Ch10::Resumed
            .fail(format!("after `resume`, {}", cpu_text(cpu)))
            .expected("the burner spinning again")
            .hint("thaw the cgroup the processes are in");
    }
    let state = judge_state(Ch10::Resumed, life.resumed_state.as_ref(), "running", "");
    if !state.passed() {
        return state;
    }
    Ch10::Resumed.pass(format!("thawed; {}; running", cpu_text(cpu)))
}

fn judge_deleted(life: &Life) -> Check {
    let (Some(delete), Some(seen)) = (&life.delete, &life.deleted) else {
        return Ch10::Deleted.not_judged("the life ended early");
    };
    let mut left = Vec::new();
    if seen.procs.is_some() {
        left.push(format!("CG/{ID} is still there"));
    }
    if seen.record {
        left.push(format!("DIR/{ID} is still there"));
    }
    if delete.code() == Some(0) && left.is_empty() {
        return Ch10::Deleted.pass("both gone");
    }
    left.insert(
        0,
        format!("`{}` {}", delete.args, describe(&delete.finished, None)),
    );
    Ch10::Deleted
        .fail(left.join("; "))
        .expected("exit 0, CG/ID and DIR/ID removed")
        .hint("a stopped container's cgroup is empty: rmdir it (a cgroup is removed with rmdir, not rm -r), then remove DIR/ID")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::child::Exit;
    use crate::verify::run::Finished;
    use std::path::PathBuf;

    const PID: i32 = 4242;

    fn call(args: &str, code: i32, stdout: &str, stderr: &str) -> Call {
        Call {
            args: args.into(),
            finished: Finished {
                exit: Exit::Code(code),
                stdout: stdout.lines().map(str::to_owned).collect(),
                stderr: stderr.into(),
                took: Duration::ZERO,
            },
        }
    }

    fn state(s: &str) -> Call {
        call(
            "state lc-box",
            0,
            &format!(
                "{{\"ociVersion\":\"1.0.2\",\"id\":\"lc-box\",\"status\":\"{s}\",\"pid\":{PID}}}"
            ),
            "",
        )
    }

    fn seen(exe: &str, letter: char, freezer: FreezerState) -> Seen {
        Seen {
            procs: Some(vec![PID, PID + 1]),
            exe: Some(PathBuf::from(exe)),
            states: vec![(PID, letter), (PID + 1, letter)],
            freezer: Some(freezer),
            record: true,
        }
    }

    fn cpu(ms: u64) -> Cpu {
        Cpu {
            before: Duration::from_secs(1),
            after: Duration::from_secs(1) + Duration::from_millis(ms),
            window: Duration::from_millis(300),
        }
    }

    /// A right life: what the reference solution makes the kernel say.
    fn good() -> Life {
        let runtime = "/target/ch10_lifecycle";
        let bash = "/usr/bin/bash";
        let thawed = FreezerState::Thawed;
        Life {
            pid: Some(PID),
            create: Some(call(
                "create lc-box --cgroup-parent CG -- bash -c x",
                0,
                "",
                "",
            )),
            created: Some((seen(runtime, 'S', thawed), seen(runtime, 'S', thawed))),
            created_state: Some(state("created")),
            start: Some(call("start lc-box", 0, "", "")),
            running: Some((seen(bash, 'R', thawed), cpu(400))),
            running_state: Some(state("running")),
            start_again: Some((
                call("start lc-box", 1, "", "lc-box is running, not created"),
                seen(bash, 'R', thawed),
            )),
            delete_running: Some((
                call("delete lc-box", 1, "", "lc-box is running"),
                seen(bash, 'R', thawed),
            )),
            pause: Some(call("pause lc-box", 0, "", "")),
            at_pause_return: Some(seen(bash, 'D', FreezerState::Frozen)),
            paused: Some((seen(bash, 'D', FreezerState::Frozen), cpu(0))),
            paused_state: Some(state("paused")),
            resume: Some(call("resume lc-box", 0, "", "")),
            resumed: Some((seen(bash, 'R', thawed), cpu(400))),
            resumed_state: Some(state("running")),
            killed_state: Some(state("stopped")),
            delete: Some(call("delete lc-box", 0, "", "")),
            deleted: Some(Seen::default()),
            unknown_state: Some(call("state lc-no-such-box", 1, "", "no container")),
        }
    }

    fn judged(life: &Life) -> Vec<Check> {
        judge("exercises/src/bin/ch10_lifecycle.rs", life, &|f| {
            describe(f, None)
        })
    }

    fn failing(checks: &[Check]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| !c.passed())
            .map(|c| c.name.as_str())
            .collect()
    }

    fn the(checks: &[Check], id: Ch10) -> &Check {
        checks.iter().find(|c| c.name == id.title()).unwrap()
    }

    #[test]
    fn a_right_life_passes_every_check_in_order() {
        let checks = judged(&good());
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        let all: Vec<&str> = Ch10::ALL.iter().map(|c| c.title()).collect();
        assert_eq!(names, all);
        assert!(failing(&checks).is_empty(), "{checks:#?}");
    }

    #[test]
    fn names_are_unique() {
        let mut all: Vec<&str> = Ch10::ALL.iter().map(|c| c.title()).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), Ch10::ALL.len());
    }

    #[test]
    fn a_todo_at_create_fails_everything_and_names_it() {
        let life = Life {
            create: Some(call(
                "create lc-box --cgroup-parent CG -- bash -c x",
                101,
                "",
                "\nthread 'main' panicked at src/bin/ch10_lifecycle.rs:92:5:\nnot yet implemented: mkdir CG/ID\n",
            )),
            created: Some((Seen::default(), Seen::default())),
            ..Life::default()
        };
        let checks = judged(&life);
        assert_eq!(failing(&checks).len(), Ch10::ALL.len());
        assert!(checks[0].message().contains("todo!()"), "{checks:#?}");
    }

    #[test]
    fn cmd_execd_at_create_is_named() {
        let mut life = good();
        let thawed = FreezerState::Thawed;
        life.created = Some((
            seen("/usr/bin/bash", 'R', thawed),
            seen("/usr/bin/bash", 'R', thawed),
        ));
        life.created_state = Some(state("running"));
        let checks = judged(&life);
        assert_eq!(
            failing(&checks),
            vec![Ch10::Created.title(), Ch10::CreatedState.title()]
        );
        assert!(
            the(&checks, Ch10::Created)
                .message()
                .contains("already exec'd")
        );
    }

    #[test]
    fn sigstop_is_told_apart_from_the_freezer() {
        let mut life = good();
        let bash = "/usr/bin/bash";
        let mut stopped = seen(bash, 'R', FreezerState::Thawed);
        stopped.states[0].1 = 'T';
        life.at_pause_return = Some(stopped.clone());
        life.paused = Some((stopped, cpu(300)));
        life.paused_state = Some(state("running"));
        let checks = judged(&life);
        assert_eq!(
            failing(&checks),
            vec![
                Ch10::Frozen.title(),
                Ch10::Still.title(),
                Ch10::PausedState.title()
            ]
        );
        assert!(the(&checks, Ch10::Frozen).message().contains("SIGSTOP"));
        assert!(the(&checks, Ch10::Still).message().contains("state T"));
    }

    #[test]
    fn a_pause_that_returns_while_freezing_is_named() {
        let mut life = good();
        life.at_pause_return = Some(seen("/usr/bin/bash", 'R', FreezerState::Freezing));
        let checks = judged(&life);
        assert_eq!(failing(&checks), vec![Ch10::Frozen.title()]);
        assert!(the(&checks, Ch10::Frozen).message().contains("freezing"));
    }

    #[test]
    fn a_status_from_a_file_is_caught_after_an_outside_kill() {
        let mut life = good();
        life.killed_state = Some(state("running"));
        let checks = judged(&life);
        assert_eq!(failing(&checks), vec![Ch10::Stopped.title()]);
        assert!(
            the(&checks, Ch10::Stopped)
                .message()
                .contains("only the kernel knows")
        );
    }

    #[test]
    fn deleting_a_running_container_is_caught() {
        let mut life = good();
        let mut gone = seen("/usr/bin/bash", 'R', FreezerState::Thawed);
        gone.record = false;
        life.delete_running = Some((call("delete lc-box", 0, "", ""), gone));
        let checks = judged(&life);
        assert_eq!(failing(&checks)[0], Ch10::DeleteRunning.title());
        assert!(
            the(&checks, Ch10::DeleteRunning)
                .message()
                .contains("DIR/lc-box is gone")
        );
        // The rest is not judged, and says why; the unknown id still is.
        assert!(
            the(&checks, Ch10::Frozen)
                .message()
                .contains("removed a running container")
        );
        assert!(the(&checks, Ch10::Unknown).passed());
        assert_eq!(checks.len(), Ch10::ALL.len());
    }

    #[test]
    fn a_cgroup_left_behind_is_caught() {
        let mut life = good();
        life.deleted = Some(Seen {
            procs: Some(vec![]),
            ..Seen::default()
        });
        let checks = judged(&life);
        assert_eq!(failing(&checks), vec![Ch10::Deleted.title()]);
        assert!(
            the(&checks, Ch10::Deleted)
                .message()
                .contains("CG/lc-box is still there")
        );
    }

    #[test]
    fn a_second_start_that_succeeds_and_an_unknown_id_that_does_not_fail() {
        let mut life = good();
        life.start_again = Some((
            call("start lc-box", 0, "", ""),
            seen("/usr/bin/bash", 'R', FreezerState::Thawed),
        ));
        life.unknown_state = Some(call("state lc-no-such-box", 0, "{}", ""));
        let checks = judged(&life);
        assert_eq!(
            failing(&checks),
            vec![Ch10::StartTwice.title(), Ch10::Unknown.title()]
        );
    }

    #[test]
    fn a_burner_that_never_runs_leaves_the_rest_unjudged() {
        let mut life = good();
        life.running = Some((seen("/usr/bin/bash", 'R', FreezerState::Thawed), cpu(0)));
        let checks = judged(&life);
        assert!(
            the(&checks, Ch10::Started)
                .message()
                .contains("0 ms of CPU")
        );
        assert!(the(&checks, Ch10::Frozen).message().contains("not judged"));
        assert!(the(&checks, Ch10::Unknown).passed());
    }

    #[test]
    fn the_status_is_read_from_the_json() {
        assert_eq!(state("paused").status().as_deref(), Some("paused"));
        assert_eq!(
            call("x", 0, "{\"status\" : \"created\"}", "")
                .status()
                .as_deref(),
            Some("created")
        );
        assert_eq!(call("x", 0, "nothing", "").status(), None);
    }
}
