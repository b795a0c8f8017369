//! Verifying ch08_more_namespaces from outside (see observe.rs for what one run shows).
//! The program runs in an IPC namespace of the verifier's own, with a queue in it (the
//! host's IPC objects are never touched, and a program with no IPC namespace shows it),
//! under the adversary (a parent that moves CMD into its cgroup, or writes its offsets,
//! after fork does it too late, every time), with an offset that is no round number. The
//! cgroup namespace is judged as CMD sees it once the program has had time to do
//! everything it does, read from inside that namespace.

use crate::error::Result;

use super::observe::{self, CONTROLLER, Cmd, INNER_KEY, OUTER_KEY, Run, STATUS, TOLERANCE};
use crate::kernel::cgroup::membership::{self, line_for, not_at_root};
use crate::kernel::cgroup::{CgroupFs, Version};
use crate::kernel::child::Exit;
use crate::kernel::sysvipc::hex;
use crate::kernel::timens::{Clock, offset_of, parse_offsets};
use crate::verify::run::Finished;
use crate::verify::{Check, CheckId, Context, failed_at};

crate::checks! {
    /// The checks of chapter 8, in report order.
    pub enum Ch08 {
        IpcNs => "IPC namespace: CMD is in a new one, not the one the program was started in",
        CgroupNs => "cgroup namespace: CMD is in a new one",
        TimeNs => "time namespace: CMD is in a new one",
        Queues => "IPC: CMD does not see the verifier's queue, and a queue made in CMD's namespace is not seen outside",
        CgroupHost => "cgroup: from the host, CMD is in a new cgroup CG/ch08-PID",
        CgroupInside => "cgroup: inside, /proc/self/cgroup shows `/`: the namespace is rooted at CMD's cgroup",
        Offsets => "time: /proc/PID/timens_offsets holds SECONDS for monotonic and boottime",
        Uptime => "time: CMD's /proc/uptime is the host's plus SECONDS (within 1 s)",
        Exit => "exit: the program exits with CMD's status",
        Residue => "nothing is left: the cgroup removed, no process of the run alive",
    }
}

pub fn verify(cx: &Context) -> Result<Vec<Check>> {
    let fs = CgroupFs::detect()?;
    let ctrl = fs.require(CONTROLLER)?;
    let cg = fs.create_owned(CONTROLLER, "ch08-verify")?;
    let run = observe::observe(cx, &fs, &cg.path, ctrl.version);
    // Kills whatever the program left in CG, removes its cgroups, then CG.
    cg.remove()?;
    let run = run?;
    Ok(judge(cx.source(), &|f| cx.describe(f), &run))
}

/// One check alone, from one run under the adversary: the cgroup namespace's view
/// (`offsets` false) or the time offsets (`offsets` true). For repeating the races of a
/// parent that moves CMD, or writes its offsets, after fork many times (tests/races.rs);
/// `verify` judges the same run, and everything else.
pub fn verify_race(cx: &Context, offsets: bool) -> Result<Check> {
    let fs = CgroupFs::detect()?;
    let ctrl = fs.require(CONTROLLER)?;
    let cg = fs.create_owned(CONTROLLER, "ch08-verify")?;
    let run = observe::observe(cx, &fs, &cg.path, ctrl.version);
    cg.remove()?;
    let run = run?;
    let at = if offsets {
        Ch08::Offsets
    } else {
        Ch08::CgroupInside
    };
    Ok(match &run.cmd {
        Some(cmd) if offsets => judge_offsets(&run, cmd),
        Some(cmd) => judge_cgroup_inside(&run, cmd),
        None => at.fail(format!("the program {}", cx.describe(&run.finished))),
    })
}

/// Judges the run (`source`: the learner's file; `describe` says how a program ended).
fn judge(source: &str, describe: &dyn Fn(&Finished) -> String, run: &Run) -> Vec<Check> {
    let Some(cmd) = &run.cmd else {
        return not_started(source, describe, run);
    };
    vec![
        judge_ns(Ch08::IpcNs, run, cmd),
        judge_ns(Ch08::CgroupNs, run, cmd),
        judge_ns(Ch08::TimeNs, run, cmd),
        judge_queues(run, cmd),
        judge_cgroup_host(run, cmd),
        judge_cgroup_inside(run, cmd),
        judge_offsets(run, cmd),
        judge_uptime(run, cmd),
        judge_exit(describe, run),
        judge_residue(run),
    ]
}

fn says(text: &str, any: &[&str]) -> bool {
    any.iter().any(|s| text.contains(s))
}

/// CMD never came up: every check fails, the one the program's last words belong to
/// with the diagnosis.
fn not_started(source: &str, describe: &dyn Fn(&Finished) -> String, run: &Run) -> Vec<Check> {
    let how = describe(&run.finished);
    let said = run.finished.stderr.as_str();
    let (at, hint) = if how.contains("todo!()") && how.contains("cgroup_cpu") {
        (
            Ch08::IpcNs,
            "the todo!() is in chapter 4's src/cgroup_cpu.rs: chapter 8 calls its `join` and \
             `remove`, so finish chapter 4 first (`learn-containers verify 4`)"
                .to_owned(),
        )
    } else if how.contains("todo!()") {
        (
            Ch08::IpcNs,
            format!(
                "write the part that todo!() names in {source}; `learn-containers hint 8` helps"
            ),
        )
    } else if said.contains("timens_offsets") && says(said, &["EACCES", "Permission denied"]) {
        (Ch08::Offsets, EACCES_OFFSETS.to_owned())
    } else if said.contains("cgroup.procs") && says(said, &["ENOENT", "No such file"]) {
        (Ch08::CgroupInside, ENOENT_JOIN.to_owned())
    } else if said.contains("CLONE_NEWTIME") && says(said, &["EINVAL", "Invalid argument"]) {
        (
            Ch08::TimeNs,
            "EINVAL from unshare(CLONE_NEWTIME): this kernel has no time namespaces (Linux 5.6 \
             and later, CONFIG_TIME_NS); `learn-containers doctor` says so"
                .to_owned(),
        )
    } else {
        (
            Ch08::IpcNs,
            format!("fix what the message names in {source}"),
        )
    };
    failed_at(
        at,
        at.fail(format!("the program {how}; CMD never printed READY"))
            .expected("CMD started in its cgroup and namespaces, waiting for stdin to close")
            .hint(hint),
    )
}

const EACCES_OFFSETS: &str = "EACCES on timens_offsets: a process was already in that time \
    namespace. The kernel freezes a time namespace's offsets once a process enters it: a \
    child forked after unshare(CLONE_NEWTIME) is born in it. Write the offsets right after \
    unshare, before fork (or before execve, which moves the caller in on Linux 6.0 and later), \
    by the process itself or by a parent that the child waits for. Written before unshare, they \
    go to the namespace the process is already in, and are refused the same way";

const ENOENT_JOIN: &str = "ENOENT writing cgroup.procs: the process was already in a cgroup \
    namespace of its own, whose root is the cgroup it was in then; where cgroup2 is mounted \
    with nsdelegate (systemd does it) the kernel refuses to move it to a cgroup outside that \
    root. Join the new cgroup first, then unshare(CLONE_NEWCGROUP)";

fn judge_ns(id: Ch08, run: &Run, cmd: &Cmd) -> Check {
    let (kind, name, flag, theirs, start) = match id {
        Ch08::IpcNs => ("ipc", "an IPC", "CLONE_NEWIPC", cmd.ns.ipc, run.start.ipc),
        Ch08::CgroupNs => (
            "cgroup",
            "a cgroup",
            "CLONE_NEWCGROUP",
            cmd.ns.cgroup,
            run.start.cgroup,
        ),
        _ => (
            "time",
            "a time",
            "CLONE_NEWTIME",
            cmd.ns.time,
            run.start.time,
        ),
    };
    if theirs != 0 && theirs != start {
        return id.pass(format!(
            "CMD (host PID {}) is in {kind}:[{theirs}]; the program was started in {kind}:[{start}]",
            cmd.pid
        ));
    }
    let hint = if id == Ch08::TimeNs {
        "unshare(CLONE_NEWTIME) moves no one: CMD must be born after it (a fork) or exec after it \
         (Linux 6.0 and later move the caller in at execve)"
            .to_owned()
    } else {
        format!("CMD's process (or its parent before fork) calls unshare({flag}) before exec")
    };
    id.fail(format!(
        "CMD (host PID {}) is in {kind}:[{start}], the namespace the program was started in",
        cmd.pid
    ))
    .expected(format!("{name} namespace of CMD's own"))
    .hint(hint)
}

fn judge_queues(run: &Run, cmd: &Cmd) -> Check {
    let seen: Vec<i32> = run
        .said("msg")
        .iter()
        .filter_map(|k| k.parse().ok())
        .collect();
    let outer = hex(OUTER_KEY);
    let inner = hex(INNER_KEY);
    let shared = cmd.ns.ipc == run.start.ipc;
    if seen.contains(&OUTER_KEY) {
        return Ch08::Queues
            .fail(format!(
                "CMD's /proc/sysvipc/msg lists the verifier's queue {outer}, made before the run in the IPC namespace the program was started in"
            ))
            .expected("no queue of that namespace")
            .hint("unshare(CLONE_NEWIPC) in CMD's process before exec: a new IPC namespace starts with no queues, semaphores or shared memory");
    }
    match &cmd.made {
        Err(e) => Ch08::Queues
            .fail(format!("no queue could be made in CMD's IPC namespace: {e}"))
            .expected("a queue made there, seen only there")
            .hint("CMD needs an IPC namespace of its own: unshare(CLONE_NEWIPC)"),
        Ok(_) if cmd.outer_queues.iter().any(|q| q.key == INNER_KEY) || shared => Ch08::Queues
            .fail(format!(
                "a queue {inner} made in CMD's IPC namespace shows in the namespace the program was started in"
            ))
            .expected("a queue seen only in CMD's namespace")
            .hint("unshare(CLONE_NEWIPC) in CMD's process before exec"),
        Ok(id) => Ch08::Queues.pass(format!(
            "CMD listed no queue of the namespace it was started in (not {outer}); queue {inner} (msqid {id}), made in CMD's namespace, is not seen there"
        )),
    }
}

fn judge_cgroup_host(run: &Run, cmd: &Cmd) -> Check {
    let want = format!("CG/ch08-{}", run.program);
    let shown = match cmd.dir.as_deref() {
        Some(d) => rel(d, run),
        None => "no line for its hierarchy".to_owned(),
    };
    match cmd.dir.as_deref() {
        Some(d) if d.parent() == Some(run.cg.as_path()) => Ch08::CgroupHost.pass(format!(
            "/proc/{}/cgroup, read on the host: {shown} (CG is {})",
            cmd.pid,
            run.cg.display()
        )),
        _ => Ch08::CgroupHost
            .fail(format!(
                "/proc/{}/cgroup, read on the host: {shown} (`{}`)",
                cmd.pid,
                cmd.outside.lines().collect::<Vec<_>>().join("`, `")
            ))
            .expected(want)
            .hint(
                "CMD's process joins the cgroup the program made (chapter 4's join: \"0\" into \
                 its cgroup.procs) before exec",
            ),
    }
}

fn rel(dir: &std::path::Path, run: &Run) -> String {
    match dir.strip_prefix(&run.cg) {
        Ok(r) if r.as_os_str().is_empty() => "CG itself".into(),
        Ok(r) => format!("CG/{}", r.display()),
        Err(_) => dir.display().to_string(),
    }
}

fn judge_cgroup_inside(run: &Run, cmd: &Cmd) -> Check {
    let text = match &cmd.inside {
        Ok(t) => t,
        Err(e) => {
            return Ch08::CgroupInside
                .fail(format!("CMD's cgroup namespace could not be entered: {e}"))
                .expected("/proc/CMD/cgroup as CMD sees it");
        }
    };
    if cmd.ns.cgroup == run.start.cgroup {
        return Ch08::CgroupInside.not_judged("CMD has no cgroup namespace of its own");
    }
    let lines = membership::parse(text);
    let hierarchy = match run.version {
        Version::V1 => format!("the {CONTROLLER} hierarchy's line"),
        Version::V2 => "the `0::` line".to_owned(),
    };
    let off: Vec<String> = not_at_root(&lines)
        .into_iter()
        .map(membership::show)
        .collect();
    let mine = line_for(&lines, run.version, CONTROLLER).map(membership::show);
    if off.is_empty() && mine.is_some() {
        let printed = membership::parse(&run.said("cgroup").join("\n"));
        let also = if !printed.is_empty() && not_at_root(&printed).is_empty() {
            "; CMD read the same at its start"
        } else {
            ""
        };
        return Ch08::CgroupInside.pass(format!(
            "/proc/{}/cgroup inside CMD's cgroup namespace: every line `/` ({}, {} lines){also}",
            cmd.pid,
            mine.unwrap_or_default(),
            lines.len()
        ));
    }
    let outside = cmd.dir.as_deref().map(|d| rel(d, run)).unwrap_or_default();
    Ch08::CgroupInside
        .fail(format!(
            "/proc/{}/cgroup inside CMD's cgroup namespace: {} (on the host: {outside})",
            cmd.pid,
            if off.is_empty() {
                format!("no line for {hierarchy}")
            } else {
                format!("`{}`", off.join("`, `"))
            }
        ))
        .expected(format!("`/` on {hierarchy}, and on every other"))
        .hint(
            "a cgroup namespace is rooted at the cgroup its creator is in when it unshares: \
             CMD's process must join CG/ch08-PID first, then unshare(CLONE_NEWCGROUP). Made \
             earlier (or with the parent moving the child after fork) its root is where the \
             process came from, and CMD sees the host's path to its cgroup",
        )
}

fn judge_offsets(run: &Run, cmd: &Cmd) -> Check {
    let s = run.offset;
    let Some(text) = &cmd.offsets else {
        return Ch08::Offsets
            .fail(format!(
                "/proc/{}/timens_offsets could not be read",
                cmd.pid
            ))
            .expected(format!("monotonic {s} 0, boottime {s} 0"));
    };
    let o = parse_offsets(text);
    let (mono, boot) = (
        offset_of(&o, Clock::Monotonic),
        offset_of(&o, Clock::Boottime),
    );
    let shown = format!("monotonic {mono}, boottime {boot}");
    if mono == s && boot == s {
        return Ch08::Offsets.pass(format!(
            "/proc/{}/timens_offsets: {shown} (SECONDS = {s})",
            cmd.pid
        ));
    }
    let wrote_late = run.finished.stderr.contains("timens_offsets")
        && says(&run.finished.stderr, &["EACCES", "Permission denied"]);
    let hint = if wrote_late {
        EACCES_OFFSETS.to_owned()
    } else if mono == s && boot == 0 {
        "only CLOCK_MONOTONIC is offset: write a line for boottime too (/proc/uptime and \
         CLOCK_BOOTTIME count from it), both in one write"
            .to_owned()
    } else if boot == s && mono == 0 {
        "only CLOCK_BOOTTIME is offset: write a line for monotonic too".to_owned()
    } else if mono == 0 && boot == 0 && cmd.ns.time != run.start.time {
        "the namespace's offsets are 0: they were never written, or written after a process had \
         entered it (the kernel says EACCES then). Write them right after unshare(CLONE_NEWTIME), \
         before anyone enters"
            .to_owned()
    } else if cmd.ns.time == run.start.time {
        "CMD is in the time namespace the program was started in: see the time namespace check"
            .to_owned()
    } else {
        format!("`<clock> <seconds> <nanoseconds>`, one line per clock, SECONDS = {s}")
    };
    Ch08::Offsets
        .fail(format!("/proc/{}/timens_offsets: {shown}", cmd.pid))
        .expected(format!("monotonic {s}, boottime {s}"))
        .hint(hint)
}

fn judge_uptime(run: &Run, cmd: &Cmd) -> Check {
    let s = run.offset as f64;
    let (h0, h1) = run.host_uptime;
    let Some(up) = run
        .said("uptime")
        .first()
        .and_then(|u| u.parse::<f64>().ok())
    else {
        return Ch08::Uptime
            .fail("CMD printed no uptime: it never ran the verifier's script")
            .expected("a line `uptime SECONDS`")
            .hint("exec CMD with its arguments as given");
    };
    let lag = up - s;
    if lag >= h0 - TOLERANCE && lag <= h1 + TOLERANCE {
        return Ch08::Uptime.pass(format!(
            "CMD's /proc/uptime said {up:.2}; the host's was {h0:.2} to {h1:.2} meanwhile: {s} s ahead"
        ));
    }
    let ahead = up - h1;
    let hint = if ahead.abs() <= TOLERANCE + (h1 - h0) {
        if offset_of(
            &parse_offsets(cmd.offsets.as_deref().unwrap_or_default()),
            Clock::Monotonic,
        ) == run.offset
        {
            "/proc/uptime counts CLOCK_BOOTTIME, and only CLOCK_MONOTONIC is offset: offset \
             boottime too"
        } else {
            "CMD's clocks are not offset at all: see the time checks above"
        }
    } else {
        "the offset is in seconds, and applies to both clocks: `monotonic SECONDS 0` and \
         `boottime SECONDS 0`"
    };
    Ch08::Uptime
        .fail(format!(
            "CMD's /proc/uptime said {up:.2}; the host's was {h0:.2} to {h1:.2}: {ahead:.0} s ahead"
        ))
        .expected(format!("{s} s ahead, within {TOLERANCE} s"))
        .hint(hint)
}

fn judge_exit(describe: &dyn Fn(&Finished) -> String, run: &Run) -> Check {
    if run.finished.exit == Exit::Code(STATUS) {
        return Ch08::Exit.pass(format!("CMD exited {STATUS}, so did the program"));
    }
    Ch08::Exit
        .fail(format!(
            "CMD exited {STATUS}; the program {}",
            describe(&run.finished)
        ))
        .expected(format!("exit status {STATUS}"))
        .hint(
            "the parent waits for CMD (wait_for) and returns its exit code, which the program \
             exits with",
        )
}

fn judge_residue(run: &Run) -> Check {
    let cgroups: Vec<String> = run.left_cgroups.iter().map(|d| rel(d, run)).collect();
    let procs: Vec<String> = run
        .left
        .iter()
        .map(|(p, comm)| format!("{comm} (PID {p})"))
        .collect();
    if cgroups.is_empty() && procs.is_empty() {
        return Ch08::Residue.pass(
            "once the program had ended, CG held no cgroup and no process of the run was alive",
        );
    }
    let mut saw = Vec::new();
    if !cgroups.is_empty() {
        saw.push(format!("left in CG: {}", cgroups.join(", ")));
    }
    if !procs.is_empty() {
        saw.push(format!("still alive: {}", procs.join(", ")));
    }
    Ch08::Residue.fail(saw.join("; ")).expected("nothing").hint(
        "the program removes CG/ch08-PID once CMD has ended; a process still in it (the \
             program itself, if it joined the cgroup instead of CMD) keeps rmdir from working",
    )
}

#[cfg(test)]
mod tests {
    //! The judges, fed made-up runs: no namespace, no process.

    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::kernel::sysvipc::Queue;
    use crate::verify::Status;
    use crate::verify::run::describe;

    use super::super::observe::Ns;

    const SOURCE: &str = "exercises/src/more_namespaces.rs";
    const CG: &str = "/sys/fs/cgroup/cpu/learn-containers/ch08-verify-100";
    const S: i64 = 201_234;
    const START: Ns = Ns {
        ipc: 4026532178,
        cgroup: 4026531835,
        time: 4026531834,
    };
    const NEW: Ns = Ns {
        ipc: 4026532180,
        cgroup: 4026532181,
        time: 4026532179,
    };

    fn ended(exit: Exit, stderr: &str) -> Finished {
        Finished {
            exit,
            stdout: Vec::new(),
            stderr: stderr.to_owned(),
            took: Duration::from_millis(40),
        }
    }

    const INSIDE: &str = "9:name=systemd:/\n8:pids:/\n1:cpu:/\n0::/\n";

    /// CMD as a right answer leaves it, seen from the host.
    fn cmd() -> Cmd {
        Cmd {
            pid: 4242,
            ns: NEW,
            outside: "8:pids:/learn-containers/verify-100\n1:cpu:/learn-containers/ch08-verify-100/ch08-4241\n0::/\n".into(),
            dir: Some(PathBuf::from(format!("{CG}/ch08-4241"))),
            inside: Ok(INSIDE.into()),
            offsets: Some(format!(
                "monotonic {S:>12} {:>9}\nboottime {S:>12} {:>9}\n",
                0, 0
            )),
            made: Ok(0),
            outer_queues: vec![Queue {
                key: OUTER_KEY,
                msqid: 0,
                qnum: 0,
            }],
        }
    }

    /// A run of a right answer on a hybrid host (CG in the cpu hierarchy, v1).
    fn good() -> Run {
        let mut lines = vec![format!("uptime {:.2}", 22835.78 + S as f64)];
        lines.extend(INSIDE.lines().map(|l| format!("cgroup {l}")));
        lines.push("READY".into());
        Run {
            offset: S,
            cg: PathBuf::from(CG),
            version: Version::V1,
            start: START,
            program: 4241,
            cmd: Some(cmd()),
            lines,
            host_uptime: (22835.77, 22835.79),
            finished: ended(Exit::Code(STATUS), ""),
            left_cgroups: Vec::new(),
            left: Vec::new(),
        }
    }

    fn judged(run: &Run) -> Vec<Check> {
        judge(SOURCE, &|f| describe(f, None), run)
    }

    fn failing(checks: &[Check]) -> Vec<Ch08> {
        Ch08::ALL
            .iter()
            .zip(checks)
            .filter(|(_, c)| c.status == Status::Fail)
            .map(|(id, _)| *id)
            .collect()
    }

    fn of(checks: &[Check], id: Ch08) -> &Check {
        let i = Ch08::ALL.iter().position(|c| *c == id).unwrap();
        &checks[i]
    }

    fn saw(c: &Check) -> &str {
        c.saw.as_deref().unwrap_or("")
    }

    fn hint(c: &Check) -> &str {
        c.hint.as_deref().unwrap_or("")
    }

    fn with_cmd(mut run: Run, f: impl FnOnce(&mut Cmd)) -> Run {
        f(run.cmd.as_mut().unwrap());
        run
    }

    #[test]
    fn a_right_answer_passes_every_check_in_order() {
        let checks = judged(&good());
        assert_eq!(checks.len(), Ch08::ALL.len());
        for (c, id) in checks.iter().zip(Ch08::ALL) {
            assert_eq!(c.name, id.title());
        }
        assert_eq!(failing(&checks), vec![], "{checks:#?}");
        assert!(saw(of(&checks, Ch08::CgroupHost)).contains("CG/ch08-4241"));
        assert!(saw(of(&checks, Ch08::CgroupInside)).contains("read the same at its start"));
    }

    #[test]
    fn the_same_on_v2_judges_the_unified_line() {
        let mut run = good();
        run.version = Version::V2;
        run.cg = PathBuf::from("/sys/fs/cgroup/learn-containers/ch08-verify-100");
        let run = with_cmd(run, |c| {
            c.dir = Some(PathBuf::from(
                "/sys/fs/cgroup/learn-containers/ch08-verify-100/ch08-4241",
            ));
            c.inside = Ok("0::/\n".into());
        });
        let checks = judged(&run);
        assert_eq!(failing(&checks), vec![], "{checks:#?}");
        assert!(saw(of(&checks, Ch08::CgroupInside)).contains("0::/"));
        // On v2, the namespace made before the join: `0::/ch08-4241` (rooted at CG).
        let early = with_cmd(run, |c| c.inside = Ok("0::/ch08-4241\n".into()));
        let c = judge_cgroup_inside(&early, early.cmd.as_ref().unwrap());
        assert_eq!(c.status, Status::Fail);
        assert!(saw(&c).contains("`0::/ch08-4241`"), "{c:#?}");
        assert!(c.expected.as_deref().unwrap().contains("`0::` line"));
    }

    #[test]
    fn only_monotonic_leaves_uptime_where_it_was() {
        let mut run = with_cmd(good(), |c| {
            c.offsets = Some(format!("monotonic {S} 0\nboottime 0 0\n"));
        });
        run.lines[0] = "uptime 22835.78".into();
        let checks = judged(&run);
        assert_eq!(
            failing(&checks),
            vec![Ch08::Offsets, Ch08::Uptime],
            "{checks:#?}"
        );
        assert!(hint(of(&checks, Ch08::Offsets)).contains("only CLOCK_MONOTONIC"));
        assert!(hint(of(&checks, Ch08::Uptime)).contains("counts CLOCK_BOOTTIME"));
    }

    #[test]
    fn offsets_refused_after_a_process_entered_are_named() {
        let mut run = with_cmd(good(), |c| {
            c.offsets = Some("monotonic 0 0\nboottime 0 0\n".into())
        });
        run.lines[0] = "uptime 22835.78".into();
        run.finished = ended(
            Exit::Code(STATUS),
            "writing \"monotonic 201234 0\\nboottime 201234 0\\n\" to /proc/self/timens_offsets: Permission denied (os error 13)",
        );
        let checks = judged(&run);
        assert_eq!(failing(&checks), vec![Ch08::Offsets, Ch08::Uptime]);
        assert!(hint(of(&checks, Ch08::Offsets)).contains("EACCES on timens_offsets"));
        // The same refusal, passed on as an error: the program never started CMD.
        let mut stopped = run;
        stopped.cmd = None;
        stopped.finished.exit = Exit::Code(1);
        let checks = judged(&stopped);
        assert_eq!(failing(&checks).len(), Ch08::ALL.len());
        assert!(hint(of(&checks, Ch08::Offsets)).contains("EACCES"));
        assert!(saw(of(&checks, Ch08::IpcNs)).contains("not run"));
    }

    #[test]
    fn a_cgroup_namespace_made_before_the_join_shows_the_hosts_path() {
        let run = with_cmd(good(), |c| {
            c.inside = Ok(
                "9:name=systemd:/\n1:cpu:/learn-containers/ch08-verify-100/ch08-4241\n0::/\n"
                    .into(),
            )
        });
        let checks = judged(&run);
        assert_eq!(failing(&checks), vec![Ch08::CgroupInside], "{checks:#?}");
        let c = of(&checks, Ch08::CgroupInside);
        assert!(saw(c).contains("1:cpu:/learn-containers/"), "{c:#?}");
        assert!(hint(c).contains("join CG/ch08-PID first"), "{c:#?}");
        // Refused outright where cgroup2 has nsdelegate.
        let mut refused = good();
        refused.cmd = None;
        refused.finished = ended(
            Exit::Code(1),
            "writing 0 to /sys/fs/cgroup/x/ch08-7/cgroup.procs: No such file or directory (os error 2)",
        );
        let checks = judged(&refused);
        assert!(hint(of(&checks, Ch08::CgroupInside)).contains("nsdelegate"));
    }

    #[test]
    fn no_ipc_namespace_shows_the_verifiers_queue() {
        let mut run = with_cmd(good(), |c| c.ns.ipc = START.ipc);
        run.lines.insert(1, format!("msg {OUTER_KEY}"));
        let checks = judged(&run);
        assert_eq!(
            failing(&checks),
            vec![Ch08::IpcNs, Ch08::Queues],
            "{checks:#?}"
        );
        assert!(saw(of(&checks, Ch08::Queues)).contains("0x6c630008"));
        // Unseen inside, but what is made in CMD's namespace shows outside.
        let run = with_cmd(good(), |c| {
            c.outer_queues.push(Queue {
                key: INNER_KEY,
                msqid: 1,
                qnum: 0,
            })
        });
        let c = judge_queues(&run, run.cmd.as_ref().unwrap());
        assert_eq!(c.status, Status::Fail);
        assert!(saw(&c).contains("0x6c630088"), "{c:#?}");
    }

    #[test]
    fn namespaces_left_shared_are_each_named() {
        let run = with_cmd(good(), |c| c.ns = START);
        let checks = judged(&run);
        let f = failing(&checks);
        assert!(
            f.starts_with(&[Ch08::IpcNs, Ch08::CgroupNs, Ch08::TimeNs]),
            "{f:?}"
        );
        assert!(hint(of(&checks, Ch08::TimeNs)).contains("moves no one"));
        assert!(saw(of(&checks, Ch08::CgroupInside)).contains("not judged"));
    }

    #[test]
    fn cgroup_exit_and_residue_are_each_judged() {
        let mut run = with_cmd(good(), |c| c.dir = Some(PathBuf::from(CG)));
        run.finished = ended(Exit::Code(0), "");
        run.left_cgroups = vec![PathBuf::from(format!("{CG}/ch08-4241"))];
        run.left = vec![(4243, "sleep".into())];
        let checks = judged(&run);
        assert_eq!(
            failing(&checks),
            vec![Ch08::CgroupHost, Ch08::Exit, Ch08::Residue],
            "{checks:#?}"
        );
        assert!(saw(of(&checks, Ch08::CgroupHost)).contains("CG itself"));
        let r = saw(of(&checks, Ch08::Residue));
        assert!(
            r.contains("CG/ch08-4241") && r.contains("sleep (PID 4243)"),
            "{r}"
        );
    }

    #[test]
    fn an_offset_in_the_wrong_unit_is_out_of_tolerance() {
        let mut run = good();
        run.lines[0] = format!("uptime {:.2}", 22835.78 + S as f64 / 1000.0);
        let c = judge_uptime(&run, run.cmd.as_ref().unwrap());
        assert_eq!(c.status, Status::Fail);
        assert!(hint(&c).contains("in seconds"), "{c:#?}");
        // Within the tolerance on either side passes.
        run.lines[0] = format!("uptime {:.2}", 22835.79 + 0.9 + S as f64);
        assert_eq!(
            judge_uptime(&run, run.cmd.as_ref().unwrap()).status,
            Status::Pass
        );
    }

    #[test]
    fn todo_in_chapter_4s_file_sends_the_learner_there() {
        let mut run = good();
        run.cmd = None;
        run.finished = ended(
            Exit::Code(101),
            "thread 'main' panicked at src/cgroup_cpu.rs:97:5:\nnot yet implemented: write to the cgroup's cgroup.procs\n",
        );
        let checks = judged(&run);
        assert!(hint(of(&checks, Ch08::IpcNs)).contains("chapter 4"));
        run.finished.stderr =
            "thread 'main' panicked at src/more_namespaces.rs:70:5:\nnot yet implemented: fork\n"
                .into();
        let checks = judged(&run);
        assert!(hint(of(&checks, Ch08::IpcNs)).contains(SOURCE));
    }
}
