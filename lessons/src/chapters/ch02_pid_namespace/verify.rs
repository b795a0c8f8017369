//! Verifying ch02_pid_namespace by what the kernel reports about the processes it starts:
//! their `NSpid:` lines and ns/pid inodes, what their /proc lists, whether two instances
//! can reach each other, what survives their PID 1, and whether any mount escaped.
//!
//! Every candidate runs inside a sandbox mount namespace of the verifier's own whose / is
//! shared (as systemd mounts it): a proc mounted without a mount namespace of its own, or
//! one that propagates out, lands in the sandbox instead of on the host's /proc, and the
//! sandbox's mountinfo before and after shows it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::Result;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::kernel::child::Exit;
use crate::kernel::mountinfo;
use crate::kernel::procfs;
use crate::kernel::sandbox::{Propagation, Sandbox};
use crate::verify::probe::mount_ns::enter_and_look;
use crate::verify::probe::mounts::{self, Layout, Outer, outer};
use crate::verify::probe::pid_ns::{self, Seen, list, observe, pid_link};
use crate::verify::probe::tagged::{find_cmd, kill_tagged, tagged};
use crate::verify::run::Finished;
use crate::verify::{Check, CheckId, Context, all_failed, in_order};

const TIMEOUT: Duration = Duration::from_secs(20);
/// What the script inside exits with once stdin closes: the program must pass it on.
pub(crate) const STATUS: i32 = 7;

crate::checks! {
    /// The checks of chapter 2, in report order.
    pub enum Ch02 {
        Pid1 => pid_ns::title::PID1,
        Proc => pid_ns::title::PROC,
        NsPid => pid_ns::title::NSPID,
        Inode => pid_ns::title::INODE,
        Exit => "exit: the program exits with CMD's exit status",
        Mounts => mounts::NOTHING_OUTSIDE,
        TwoInstances => "two instances: neither can see or signal the other",
        Rootfs => "--rootfs: CMD runs in DIR, and /proc there is its own",
        Pid1Dies => "PID 1 dies: nothing of its namespace is left behind",
    }
}

/// Where chapter 2's checks of the PID namespace go.
const IDS: pid_ns::Ids<Ch02> = pid_ns::Ids {
    pid1: Ch02::Pid1,
    proc: Ch02::Proc,
    nspid: Ch02::NsPid,
    inode: Ch02::Inode,
};

pub fn verify(cx: &Context) -> Result<Vec<Check>> {
    // mkdtemp already chose an unpredictable suffix: it tags the processes we start.
    let token = format!("{}{}", crate::kernel::scratch::PREFIX, cx.token());
    let host_before = mountinfo::read(None)?;
    let me = std::process::id() as i32;
    let my_pidns = procfs::ns_inode(me, "pid")?;

    let alone = match run_alone(cx, &format!("{token}-one"))? {
        Ok(a) => a,
        Err(first) => return Ok(all_failed::<Ch02>(first)),
    };
    let mut checks = pid_ns::judge(IDS, &alone.seen, my_pidns);
    checks.push(judge_exit(&alone.done, &cx.describe(&alone.done)));
    let pair = run_pair(cx, &token)?;
    let host_after = mountinfo::read(None)?;
    let mut runs = vec![("alone", &alone.outer, alone.seen.mntns)];
    if let Ok(p) = &pair {
        runs.push(("with --rootfs", &p.outer, p.a.mntns));
    }
    checks.push(mounts::judge_nothing_outside(
        Ch02::Mounts,
        &runs,
        &host_before,
        &host_after,
    ));
    match &pair {
        Ok(p) => checks.extend(judge_pair(p, my_pidns)),
        Err(why) => checks.extend(pair_failed_all(why)),
    }
    in_order::<Ch02>(&mut checks);
    Ok(checks)
}

/// The checks of the pair all fail for the reason `why` gives.
fn pair_failed_all(why: &Check) -> [Check; 3] {
    [Ch02::TwoInstances, Ch02::Rootfs, Ch02::Pid1Dies].map(|id| Check {
        name: id.title().to_owned(),
        ..why.clone()
    })
}

/// The program passes CMD's exit status on (`described`: how it ended).
fn judge_exit(done: &Finished, described: &str) -> Check {
    match done.exit {
        Exit::Code(STATUS) => Ch02::Exit.pass(format!("CMD exited {STATUS}, so did the program")),
        _ => Ch02::Exit
            .fail(format!("CMD exited {STATUS}; the program {described}"))
            .expected(format!("exit status {STATUS}"))
            .hint("the parent waits for the child (waitpid) and exits with its status: exit(code), or 128+N when signal N killed it"),
    }
}

/// One run of the program alone: what CMD showed, how the program ended, and what the
/// sandbox it was started in gained.
struct Alone {
    seen: Seen,
    done: Finished,
    outer: Outer,
}

/// The script CMD runs: the sleeper starts first, so that even a program that forgets to
/// fork keeps a live PID 1 in the namespace it created, and later forks still work. Only
/// builtins, and no /dev/null: the rootfs has neither a ps nor a /dev.
fn script(token: &str, sleep: &str, extra: &str) -> String {
    format!(
        "shopt -s nullglob; \
         (exec -a {token}-sleeper {sleep} 600) <&- & \
         echo \"pid $$\"; \
         read -r c1 < /proc/1/comm && echo \"proc1 $c1\"; \
         for d in /proc/[0-9]*; do echo \"proc ${{d#/proc/}}\"; done; \
         {extra} \
         echo READY; read -r _; exit {STATUS}"
    )
}

/// How CMD's mount namespace propagates, read by entering it (its own /proc/PID/mountinfo
/// would leave out whatever lies outside a chrooted root).
fn cmd_layout(pid: i32) -> Option<Layout> {
    enter_and_look(pid, &[]).ok().map(|v| Layout::of(&v.mounts))
}

fn run_alone(cx: &Context, token: &str) -> Result<std::result::Result<Alone, Check>> {
    let sandbox = Sandbox::start(Propagation::Shared)?;
    let before = sandbox.mounts()?;
    let bash = rootfs_builder::resolve_binary("bash")?;
    let sleep = rootfs_builder::resolve_binary("sleep")?;
    let args = [
        "--".to_owned(),
        bash.display().to_string(),
        "-c".into(),
        script(token, &sleep.display().to_string(), ""),
        token.to_owned(),
    ];
    let mut running = cx.start_in(&args, &[sandbox.entry()])?;
    let ready = running.wait_for(TIMEOUT, |l| l == "READY").is_some();
    let seen = if ready {
        observe(token, running.seen())
    } else {
        None
    };
    let layout = seen.as_ref().and_then(|s| cmd_layout(s.host_pid));
    let at_ready = sandbox.mounts().unwrap_or_default();
    let done = running.finish(Duration::from_secs(5));
    kill_tagged(token);
    let Some(seen) = seen.filter(|_| ready) else {
        return Ok(Err(not_started(cx.source(), ready, &cx.describe(&done))));
    };
    let mut outer = outer(&sandbox, &before, &[at_ready, sandbox.mounts()?])?;
    outer.cmd = layout;
    Ok(Ok(Alone { seen, done, outer }))
}

/// The first check, failed: the program alone never showed CMD (`ready`: it printed
/// READY; `described`: how it ended).
fn not_started(source: &str, ready: bool, described: &str) -> Check {
    let why = if ready {
        "printed READY, but no process running CMD could be found from the host"
    } else {
        described
    };
    Ch02::Pid1
        .fail(format!("`{source} -- bash -c SCRIPT` {why}"))
        .expected("CMD starts, prints its PID and /proc, and waits for stdin to close")
        .hint(format!("fix what the message names in {source}"))
}

struct Pair {
    a: Seen,
    b_host_pid: i32,
    b_pidns: u64,
    /// A's rootfs, canonical.
    rootfs_a: PathBuf,
    /// Tagged processes of A still alive after its PID 1 was killed: (host PID, comm,
    /// NSpid, and its ns/pid inode as read once the verifier has ended what was left).
    leftovers: Vec<(i32, String, String, Option<u64>)>,
    /// Members of A's PID namespace killed by the kernel with PID 1.
    others_killed: usize,
    a_done: Finished,
    b_alive_after: bool,
    outer: Outer,
}

/// Two instances at once, each chrooted in a rootfs of its own (the two "containers" of
/// the book): A tries to reach B's PID 1, then A's PID 1 is killed.
fn run_pair(cx: &Context, token: &str) -> Result<std::result::Result<Pair, Check>> {
    let rootfs_a = cx.scratch.rootfs("container-a", &["bash", "sleep"])?;
    let rootfs_b = cx.scratch.rootfs("container-b", &["bash", "sleep"])?;
    let sandbox = Sandbox::start(Propagation::Shared)?;
    let before = sandbox.mounts()?;
    let (token_a, token_b) = (format!("{token}-a"), format!("{token}-b"));
    let args = |rootfs: &Path, script: String, token: &str| {
        vec![
            "--rootfs".to_owned(),
            rootfs.display().to_string(),
            "--".into(),
            "/bin/bash".into(),
            "-c".into(),
            script,
            token.to_owned(),
        ]
    };
    let mut b = cx.start_in(
        &args(&rootfs_b, script(&token_b, "/bin/sleep", ""), &token_b),
        &[sandbox.entry()],
    )?;
    let b_ready = b.wait_for(TIMEOUT, |l| l == "READY").is_some();
    let b_cmd = find_cmd(&token_b).filter(|_| b_ready);
    let Some(b_host_pid) = b_cmd else {
        let done = b.finish(Duration::from_secs(5));
        kill_tagged(&token_b);
        return Ok(Err(pair_failed("B", &cx.describe(&done))));
    };
    let b_pidns = procfs::ns_inode(b_host_pid, "pid")?;

    let probe = format!(
        "if kill -0 {b_host_pid} 2>&1; then echo peer-signalable; else echo peer-unreachable; fi; \
         if [ -e /proc/{b_host_pid} ]; then echo peer-listed; else echo peer-unlisted; fi;"
    );
    let mut a = cx.start_in(
        &args(&rootfs_a, script(&token_a, "/bin/sleep", &probe), &token_a),
        &[sandbox.entry()],
    )?;
    let a_ready = a.wait_for(TIMEOUT, |l| l == "READY").is_some();
    let seen = if a_ready {
        observe(&token_a, a.seen())
    } else {
        None
    };
    let Some(seen) = seen else {
        let done = a.finish(Duration::from_secs(5));
        drop(b.finish(Duration::from_secs(5)));
        kill_tagged(&token_a);
        kill_tagged(&token_b);
        return Ok(Err(pair_failed("A", &cx.describe(&done))));
    };
    let layout = cmd_layout(seen.host_pid);
    let at_ready = sandbox.mounts().unwrap_or_default();

    // SIGKILL A's PID 1; the kernel must take the rest of its namespace with it.
    let _ = kill(Pid::from_raw(seen.host_pid), Signal::SIGKILL);
    let others: Vec<i32> = seen
        .members
        .iter()
        .map(|m| m.1)
        .filter(|p| *p != seen.host_pid)
        .collect();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline && !tagged(&token_a).is_empty() {
        std::thread::sleep(Duration::from_millis(20));
    }
    // The program itself is judged by how it ends, below.
    let a_pid = a.pid();
    // Read while they still live: kill_tagged below ends them.
    let leftovers: Vec<(i32, String, String, Option<u64>)> = tagged(&token_a)
        .into_iter()
        .filter(|p| *p != a_pid)
        .map(|p| {
            let nspid = procfs::status_line(p, "NSpid")
                .unwrap_or_default()
                .replace('\t', " ");
            let pidns = procfs::ns_inode(p, "pid").ok();
            (p, procfs::comm(p).unwrap_or_default(), nspid, pidns)
        })
        .collect();
    let others_killed = others.iter().filter(|p| !procfs::alive(**p)).count();
    let a_done = a.finish(Duration::from_secs(3));
    kill_tagged(&token_a);
    let b_alive_after = procfs::alive(b_host_pid);
    drop(b.finish(Duration::from_secs(5)));
    kill_tagged(&token_b);
    let mut outer = outer(&sandbox, &before, &[at_ready, sandbox.mounts()?])?;
    outer.cmd = layout;
    Ok(Ok(Pair {
        a: seen,
        b_host_pid,
        b_pidns,
        rootfs_a: rootfs_a.canonicalize().unwrap_or_else(|_| rootfs_a.clone()),
        leftovers,
        others_killed,
        a_done,
        b_alive_after,
        outer,
    }))
}

/// Instance `who` of the pair never showed CMD (`why`: how it ended).
fn pair_failed(who: &str, why: &str) -> Check {
    Ch02::TwoInstances
        .fail(format!("instance {who} with --rootfs {why}"))
        .expected("CMD starts inside DIR and prints READY")
        .hint(
            "with --rootfs DIR, chroot into DIR (and chdir(\"/\")) in the child, then mount proc at /proc; \
             DIR holds only /bin/bash, /bin/sleep and their libraries",
        )
}

fn judge_pair(p: &Pair, my_pidns: u64) -> Vec<Check> {
    let a = &p.a;
    let has = |l: &str| a.lines.iter().any(|x| x == l);
    let mut checks = Vec::new();

    let reached = has("peer-signalable");
    let listed = has("peer-listed");
    checks.push(if !reached && !listed && a.pidns != p.b_pidns {
        Ch02::TwoInstances.pass(
            format!(
                "A {} · B {}; from A, `kill -0 {}` (B's PID 1 on the host): no such process",
                pid_link(a.pidns),
                pid_link(p.b_pidns),
                p.b_host_pid
            ),
        )
    } else {
        let what = match (reached, listed) {
            (true, true) => "could signal it and sees it in /proc",
            (true, false) => "could signal it",
            (false, true) => "sees it in /proc",
            (false, false) => "shares its PID namespace",
        };
        let hint = if a.pidns == my_pidns {
            "CMD runs in the host's PID namespace, where every process can reach every other: see the first check".to_owned()
        } else if a.pidns == p.b_pidns {
            format!("both instances share {}: each run needs a PID namespace of its own", pid_link(a.pidns))
        } else {
            "a process in a new PID namespace can only name processes in it; check that CMD is in the namespace the first check found".to_owned()
        };
        Ch02::TwoInstances.fail(
            format!(
                "instance A {what}: B's PID 1 is host PID {} ({}); A is in {}",
                p.b_host_pid,
                pid_link(p.b_pidns),
                pid_link(a.pidns)
            ),
        )
        .expected("B invisible and unreachable from A: `kill -0` fails with ESRCH")
        .hint(hint)
    });

    let dir = &p.rootfs_a;
    let inner: BTreeSet<i32> = a.members.iter().map(|m| m.0).collect();
    let root_ok = a.root.as_deref() == Some(dir.as_path());
    let root_shown = a
        .root
        .as_ref()
        .map_or("unreadable".into(), |r| r.display().to_string());
    checks.push(if !root_ok {
        Ch02::Rootfs.fail(
            format!("/proc/{}/root → {root_shown}", a.host_pid),
        )
        .expected(dir.display().to_string())
        .hint("with --rootfs DIR, chroot(DIR) and chdir(\"/\") in the child before exec")
    } else if a.pidns == my_pidns {
        Ch02::Rootfs.fail(
            format!(
                "CMD runs in DIR, but in the host's PID namespace: /proc inside lists {} processes",
                a.listed.len()
            ),
        )
        .expected("only the processes of CMD's own namespace")
        .hint("put CMD in a new PID namespace first (see the first check)")
    } else if a.listed.is_empty() {
        Ch02::Rootfs.fail(
            format!("CMD runs in DIR, but /proc inside it ({}/proc) is empty", dir.display()),
        )
        .expected(format!("the namespace's processes: {}", list(&inner, 10)))
        .hint("mount proc after chroot, so it lands at /proc inside DIR: mounted before, it covers the old /proc, which CMD no longer sees")
    } else if a.pidns != my_pidns && a.listed.is_subset(&inner) {
        Ch02::Rootfs.pass(
            format!(
                "/proc/{}/root → {}; /proc inside lists {}",
                a.host_pid,
                dir.display(),
                list(&a.listed, 10)
            ),
        )
    } else {
        Ch02::Rootfs.fail(
            format!(
                "CMD runs in DIR, but /proc inside lists {} processes, not just its namespace's {}",
                a.listed.len(),
                list(&inner, 10)
            ),
        )
        .expected("only the namespace's processes")
        .hint("mount a fresh proc at /proc inside DIR from the child, after chroot")
    });

    checks.push(if !p.leftovers.is_empty() {
        let (pid, comm, nspid, pidns) = &p.leftovers[0];
        let own_init =
            nspid.split_whitespace().last() == Some("1") && *pidns != Some(a.pidns);
        let hint = if own_init {
            "that process is PID 1 of another namespace: after unshare(CLONE_NEWPID) without fork, the \
             first child CMD forks becomes the new namespace's init, and killing CMD leaves it running. \
             fork after unshare and exec CMD in the child, so CMD is PID 1 and takes everything with it."
        } else {
            "when PID 1 of a namespace dies the kernel kills every other process in it, so a survivor is \
             outside CMD's namespace: start CMD as PID 1 of the new namespace"
        };
        Ch02::Pid1Dies.fail(
            format!(
                "3 s after SIGKILL to CMD (host PID {}), {comm} (host PID {pid}, {nspid}) is still running",
                a.host_pid
            ),
        )
        .expected("every process of the namespace gone")
        .hint(hint)
    } else if matches!(p.a_done.exit, Exit::TimedOut) {
        Ch02::Pid1Dies.fail(
            format!(
                "CMD (host PID {}) was killed, but the program itself was still running 3 s later",
                a.host_pid
            ),
        )
        .expected("the program exits when CMD does")
        .hint("the parent waits for its child with waitpid and then exits with its status")
    } else if !p.b_alive_after {
        Ch02::Pid1Dies.fail(
            format!("killing A's PID 1 also ended instance B (host PID {})", p.b_host_pid),
        )
        .expected("B unaffected")
        .hint("each instance needs a PID namespace of its own")
    } else {
        Ch02::Pid1Dies.pass(
            format!(
                "SIGKILL to PID 1 (host PID {}): the kernel ended the {} other process(es) of {}; the program ended ({}); B kept running",
                a.host_pid,
                p.others_killed,
                pid_link(a.pidns),
                p.a_done.exit
            ),
        )
    });
    checks
}

#[cfg(test)]
mod tests {
    //! The chapter's own judges, fed made-up observations: no namespace, no process.
    //! (The four PID-namespace checks and the mount check are judged by the probes, and
    //! tested there.)

    use nix::sys::signal::Signal;

    use super::*;
    use crate::verify::Status;
    use crate::verify::run::describe;

    const SOURCE: &str = "exercises/src/bin/ch02_pid_namespace.rs";
    const MINE: u64 = 4026531836;
    const NS_A: u64 = 4026532901;
    const NS_B: u64 = 4026532911;
    const DIR: &str = "/tmp/learn-containers-AbC123/container-a";

    fn ended(exit: Exit, stderr: &str) -> Finished {
        Finished {
            exit,
            stdout: Vec::new(),
            stderr: stderr.to_owned(),
            took: Duration::from_secs(1),
        }
    }

    fn saw(c: &Check) -> &str {
        c.saw.as_deref().unwrap_or("")
    }

    fn hint(c: &Check) -> &str {
        c.hint.as_deref().unwrap_or("")
    }

    fn statuses(checks: &[Check]) -> Vec<Status> {
        checks.iter().map(|c| c.status).collect()
    }

    fn lines(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    // ---- the program alone ----

    #[test]
    fn passing_cmds_status_on_passes() {
        let done = ended(Exit::Code(STATUS), "");
        let c = judge_exit(&done, &describe(&done, None));
        assert_eq!(c.name, Ch02::Exit.title());
        assert_eq!(c.status, Status::Pass);
        assert_eq!(saw(&c), "CMD exited 7, so did the program");
    }

    #[test]
    fn an_exit_status_not_passed_through_is_named() {
        // ch02_exit_zero.
        let done = ended(Exit::Code(0), "");
        let c = judge_exit(&done, &describe(&done, None));
        assert_eq!(c.status, Status::Fail);
        assert_eq!(saw(&c), "CMD exited 7; the program exited with status 0");
        assert_eq!(c.expected.as_deref(), Some("exit status 7"));
        assert!(hint(&c).contains("waitpid"), "{c:#?}");
    }

    #[test]
    fn a_program_that_never_shows_cmd_is_named_by_how_it_ended() {
        // The untouched exercise: a todo!() before anything starts.
        let todo = "thread 'main' panicked at exercises/src/bin/ch02_pid_namespace.rs:30:5:\nnot yet implemented: unshare and fork\n";
        let c = not_started(
            SOURCE,
            false,
            &describe(&ended(Exit::Code(101), todo), None),
        );
        assert_eq!(c.name, Ch02::Pid1.title());
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(&c),
            "`exercises/src/bin/ch02_pid_namespace.rs -- bash -c SCRIPT` reached a todo!() at exercises/src/bin/ch02_pid_namespace.rs:30:5: unshare and fork"
        );
        assert_eq!(
            hint(&c),
            "fix what the message names in exercises/src/bin/ch02_pid_namespace.rs"
        );
        // READY, but no CMD to be found: how it ended does not matter then.
        let c = not_started(SOURCE, true, "exited with status 0");
        assert!(
            saw(&c).ends_with(
                "SCRIPT` printed READY, but no process running CMD could be found from the host"
            ),
            "{c:#?}"
        );
    }

    // ---- the pair ----

    #[test]
    fn an_instance_of_the_pair_that_never_starts_fails_the_three_pair_checks() {
        let why = pair_failed(
            "B",
            &describe(
                &ended(Exit::Code(1), "chroot: No such file or directory\n"),
                None,
            ),
        );
        assert_eq!(
            saw(&why),
            "instance B with --rootfs exited with status 1: chroot: No such file or directory"
        );
        assert!(hint(&why).starts_with("with --rootfs DIR, chroot into DIR"));
        let all = pair_failed_all(&why);
        let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                Ch02::TwoInstances.title(),
                Ch02::Rootfs.title(),
                Ch02::Pid1Dies.title()
            ]
        );
        for c in &all {
            assert_eq!(c.status, Status::Fail);
            assert_eq!(c.saw, why.saw);
            assert_eq!(c.hint, why.hint);
        }
    }

    /// What a correct pair shows: A (CMD host PID 4242, its sleeper 4243) in a namespace
    /// of its own, chrooted in DIR, cannot reach B (host PID 5000); killing A's PID 1 ends
    /// its sleeper and the program, and B keeps running.
    fn correct() -> Pair {
        Pair {
            a: Seen {
                host_pid: 4242,
                inner_pid: Some(1),
                proc1: Some("bash".into()),
                listed: [1, 2].into(),
                nspid: vec![4242, 1],
                nspid_line: "NSpid: 4242 1".into(),
                pidns: NS_A,
                mntns: 4026532900,
                members: vec![(1, 4242, "bash".into()), (2, 4243, "sleep".into())],
                root: Some(PathBuf::from(DIR)),
                lines: lines(&["pid 1", "peer-unreachable", "peer-unlisted", "READY"]),
            },
            b_host_pid: 5000,
            b_pidns: NS_B,
            rootfs_a: PathBuf::from(DIR),
            leftovers: Vec::new(),
            others_killed: 1,
            a_done: ended(Exit::Code(128 + 9), ""),
            b_alive_after: true,
            outer: Outer::default(),
        }
    }

    #[test]
    fn a_correct_pair_passes() {
        let checks = judge_pair(&correct(), MINE);
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                Ch02::TwoInstances.title(),
                Ch02::Rootfs.title(),
                Ch02::Pid1Dies.title()
            ]
        );
        assert_eq!(statuses(&checks), vec![Status::Pass; 3], "{checks:#?}");
        assert_eq!(
            saw(&checks[0]),
            "A pid:[4026532901] · B pid:[4026532911]; from A, `kill -0 5000` (B's PID 1 on the host): no such process"
        );
        assert_eq!(
            saw(&checks[1]),
            format!("/proc/4242/root → {DIR}; /proc inside lists 1 2")
        );
        assert_eq!(
            saw(&checks[2]),
            "SIGKILL to PID 1 (host PID 4242): the kernel ended the 1 other process(es) of pid:[4026532901]; the program ended (exit status 137); B kept running"
        );
    }

    /// ch02_no_fork, as instance A: CMD in the host's namespace, /proc the host's, and
    /// the sleeper it forked became PID 1 of the namespace CMD never entered.
    fn no_fork() -> Pair {
        let p = correct();
        Pair {
            a: Seen {
                pidns: MINE,
                listed: [1, 2, 4242, 4243, 5000].into(),
                lines: lines(&["peer-signalable", "peer-listed"]),
                ..p.a
            },
            leftovers: vec![(4243, "sleep".into(), "NSpid: 4243 1".into(), None)],
            ..p
        }
    }

    #[test]
    fn unshare_without_fork_is_named_in_the_pair() {
        let checks = judge_pair(&no_fork(), MINE);
        assert_eq!(statuses(&checks), vec![Status::Fail; 3], "{checks:#?}");
        let pair = &checks[0];
        assert_eq!(
            saw(pair),
            "instance A could signal it and sees it in /proc: B's PID 1 is host PID 5000 (pid:[4026532911]); A is in pid:[4026531836]"
        );
        assert!(hint(pair).starts_with("CMD runs in the host's PID namespace"));
        let rootfs = &checks[1];
        assert_eq!(
            saw(rootfs),
            "CMD runs in DIR, but in the host's PID namespace: /proc inside lists 5 processes"
        );
        assert!(hint(rootfs).contains("see the first check"));
        let dies = &checks[2];
        assert_eq!(
            saw(dies),
            "3 s after SIGKILL to CMD (host PID 4242), sleep (host PID 4243, NSpid: 4243 1) is still running"
        );
        assert!(
            hint(dies).contains("PID 1 of another namespace"),
            "{dies:#?}"
        );
        // Read in time, the survivor's own namespace tells the same.
        let p = Pair {
            leftovers: vec![(4243, "sleep".into(), "NSpid: 4243 1".into(), Some(NS_B))],
            ..no_fork()
        };
        assert!(hint(&judge_pair(&p, MINE)[2]).contains("PID 1 of another namespace"));
    }

    #[test]
    fn a_proc_mounted_before_chroot_is_named() {
        // ch02_no_proc_remount with --rootfs: DIR's /proc is an empty directory.
        let p = correct();
        let p = Pair {
            a: Seen {
                listed: BTreeSet::new(),
                ..p.a
            },
            ..p
        };
        let checks = judge_pair(&p, MINE);
        assert_eq!(
            statuses(&checks),
            vec![Status::Pass, Status::Fail, Status::Pass],
            "{checks:#?}"
        );
        assert_eq!(
            saw(&checks[1]),
            format!("CMD runs in DIR, but /proc inside it ({DIR}/proc) is empty")
        );
        assert_eq!(
            checks[1].expected.as_deref(),
            Some("the namespace's processes: 1 2")
        );
        assert!(hint(&checks[1]).starts_with("mount proc after chroot"));
    }

    #[test]
    fn two_instances_in_one_namespace_are_named() {
        // Not provoked by a fixture.
        let p = correct();
        let p = Pair { b_pidns: NS_A, ..p };
        let c = &judge_pair(&p, MINE)[0];
        assert_eq!(c.status, Status::Fail);
        assert!(
            saw(c).starts_with("instance A shares its PID namespace:"),
            "{c:#?}"
        );
        assert_eq!(
            hint(c),
            "both instances share pid:[4026532901]: each run needs a PID namespace of its own"
        );
    }

    #[test]
    fn reaching_b_from_a_namespace_of_its_own_is_named() {
        // Not provoked by a fixture.
        let p = correct();
        let p = Pair {
            a: Seen {
                lines: lines(&["peer-signalable", "peer-unlisted"]),
                ..p.a
            },
            ..p
        };
        let c = &judge_pair(&p, MINE)[0];
        assert_eq!(c.status, Status::Fail);
        assert!(saw(c).starts_with("instance A could signal it: "), "{c:#?}");
        assert!(
            hint(c).starts_with("a process in a new PID namespace can only name processes in it")
        );
    }

    #[test]
    fn rootfs_ignored_is_named() {
        // Not provoked by a fixture: --rootfs DIR is not chrooted into.
        let p = correct();
        let p = Pair {
            a: Seen {
                root: Some(PathBuf::from("/")),
                ..p.a
            },
            ..p
        };
        let c = &judge_pair(&p, MINE)[1];
        assert_eq!(c.status, Status::Fail);
        assert_eq!(saw(c), "/proc/4242/root → /");
        assert_eq!(c.expected.as_deref(), Some(DIR));
        assert!(hint(c).contains("chroot(DIR) and chdir(\"/\") in the child"));
        let p = Pair {
            a: Seen { root: None, ..p.a },
            ..p
        };
        assert_eq!(
            saw(&judge_pair(&p, MINE)[1]),
            "/proc/4242/root → unreadable"
        );
    }

    #[test]
    fn the_hosts_proc_inside_dir_is_named() {
        // Not provoked by a fixture: a new namespace, but DIR/proc shows the host's.
        let p = correct();
        let p = Pair {
            a: Seen {
                listed: [1, 2, 300, 4242].into(),
                ..p.a
            },
            ..p
        };
        let c = &judge_pair(&p, MINE)[1];
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(c),
            "CMD runs in DIR, but /proc inside lists 4 processes, not just its namespace's 1 2"
        );
        assert!(hint(c).contains("after chroot"));
    }

    #[test]
    fn a_survivor_outside_cmds_namespace_is_named() {
        // Not provoked by a fixture: what is left is no PID 1 of its own namespace.
        let p = Pair {
            leftovers: vec![(4300, "sleep".into(), "NSpid: 4300".into(), Some(MINE))],
            ..correct()
        };
        let c = &judge_pair(&p, MINE)[2];
        assert_eq!(c.status, Status::Fail);
        assert!(saw(c).contains("sleep (host PID 4300, NSpid: 4300) is still running"));
        assert!(
            hint(c).contains("a survivor is outside CMD's namespace"),
            "{c:#?}"
        );
    }

    #[test]
    fn a_program_that_outlives_cmd_is_named() {
        // Not provoked by a fixture: CMD was killed and the program kept waiting.
        let p = Pair {
            a_done: ended(Exit::TimedOut, ""),
            ..correct()
        };
        let c = &judge_pair(&p, MINE)[2];
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(c),
            "CMD (host PID 4242) was killed, but the program itself was still running 3 s later"
        );
        assert!(hint(c).contains("waitpid"));
    }

    #[test]
    fn killing_a_that_ends_b_is_named() {
        // Not provoked by a fixture.
        let p = Pair {
            b_alive_after: false,
            a_done: ended(Exit::Signal(Signal::SIGKILL), ""),
            ..correct()
        };
        let c = &judge_pair(&p, MINE)[2];
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(c),
            "killing A's PID 1 also ended instance B (host PID 5000)"
        );
        assert_eq!(hint(c), "each instance needs a PID namespace of its own");
    }
}
