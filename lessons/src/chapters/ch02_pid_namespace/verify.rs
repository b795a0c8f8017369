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

use anyhow::Result;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::kernel::mountinfo::{self, Mount};
use crate::kernel::ns::{Propagation, Sandbox};
use crate::kernel::{procfs, scratch::Scratch};
use crate::verify::run::{Finished, Running};
use crate::verify::{Candidate, Check, all_failed};

const TIMEOUT: Duration = Duration::from_secs(20);
/// What the script inside exits with once stdin closes: the program must pass it on.
pub(crate) const STATUS: i32 = 7;

pub(crate) const NAMES: [&str; 9] = [
    "PID 1: CMD is PID 1 of its own PID namespace",
    "/proc: inside, it lists only the namespace's processes",
    "kernel: from the host, CMD's NSpid has two levels, the inner one 1",
    "kernel: CMD's ns/pid inode differs from the verifier's",
    "exit: the program exits with CMD's exit status",
    "mounts: nothing appears outside CMD's own mount namespace",
    "two instances: neither can see or signal the other",
    "--rootfs: CMD runs in DIR, and /proc there is its own",
    "PID 1 dies: nothing of its namespace is left behind",
];

pub fn verify(c: &Candidate) -> Result<Vec<Check>> {
    let scratch = Scratch::new()?;
    // mkdtemp already chose an unpredictable suffix: it tags the processes we start.
    let token = scratch
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let host_before = mountinfo::read(None)?;
    let me = std::process::id() as i32;
    let my_pidns = procfs::ns_inode(me, "pid")?;

    let alone = match run_alone(c, &scratch, &format!("{token}-one"))? {
        Ok(a) => a,
        Err(first) => return Ok(all_failed(&NAMES, first)),
    };
    let mut checks = judge_alone(&alone, my_pidns);
    let pair = run_pair(c, &scratch, &token)?;
    let host_after = mountinfo::read(None)?;
    checks.push(judge_mounts(&alone, &pair, &host_before, &host_after));
    match &pair {
        Ok(p) => checks.extend(judge_pair(p, my_pidns)),
        Err(why) => checks.extend(NAMES[6..].iter().map(|n| why.clone().renamed(n))),
    }
    // Order the checks as NAMES lists them.
    checks.sort_by_key(|c| NAMES.iter().position(|n| *n == c.name));
    Ok(checks)
}

trait Renamed {
    fn renamed(self, name: &str) -> Check;
}

impl Renamed for Check {
    fn renamed(mut self, name: &str) -> Check {
        name.clone_into(&mut self.name);
        self
    }
}

/// What one CMD reported and what the host saw of it.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// CMD's PID as seen from the host.
    pub(crate) host_pid: i32,
    /// `$$` inside.
    pub(crate) inner_pid: Option<i32>,
    /// The comm of /proc/1 inside.
    pub(crate) proc1: Option<String>,
    /// The numbered entries of /proc inside.
    pub(crate) listed: BTreeSet<i32>,
    pub(crate) nspid: Vec<i32>,
    pub(crate) nspid_line: String,
    pub(crate) pidns: u64,
    pub(crate) mntns: u64,
    /// The namespace's members, as (inner PID, host PID, comm).
    pub(crate) members: Vec<(i32, i32, String)>,
    pub(crate) root: Option<PathBuf>,
    pub(crate) lines: Vec<String>,
}

pub(crate) struct Alone {
    pub(crate) seen: Seen,
    pub(crate) done: Finished,
    pub(crate) outer: Outer,
}

/// What the sandbox the candidate ran in gained.
#[derive(Debug, Default, Clone)]
pub(crate) struct Outer {
    pub(crate) sandbox_mnt: u64,
    /// The sandbox's / line, showing its shared:N.
    pub(crate) root_line: String,
    pub(crate) gained: Vec<Mount>,
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

fn run_alone(
    c: &Candidate,
    scratch: &Scratch,
    token: &str,
) -> Result<std::result::Result<Alone, Check>> {
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
    let mut running = Running::start_in(&c.binary, &args, scratch.path(), &sandbox)?;
    let ready = running.wait_for(TIMEOUT, |l| l == "READY").is_some();
    let seen = if ready {
        observe(token, running.seen())
    } else {
        None
    };
    let at_ready = sandbox.mounts().unwrap_or_default();
    let done = running.finish(Duration::from_secs(5));
    kill_tagged(token);
    let Some(seen) = seen.filter(|_| ready) else {
        let why = if ready {
            "printed READY, but no process running CMD could be found from the host".to_owned()
        } else {
            done.describe()
        };
        return Ok(Err(Check::fail(
            NAMES[0],
            format!("`{} -- bash -c SCRIPT` {why}", c.source),
        )
        .expected("CMD starts, prints its PID and /proc, and waits for stdin to close")
        .hint(format!("fix what the message names in {}", c.source))));
    };
    let outer = outer(&sandbox, &before, &[at_ready, sandbox.mounts()?])?;
    Ok(Ok(Alone { seen, done, outer }))
}

/// Everything the sandbox gained while the candidate ran (by mount id).
pub(crate) fn outer(sandbox: &Sandbox, before: &[Mount], during: &[Vec<Mount>]) -> Result<Outer> {
    let old: BTreeSet<u32> = before.iter().map(|m| m.id).collect();
    let mut gained: Vec<Mount> = Vec::new();
    for m in during.iter().flatten() {
        if !old.contains(&m.id) && !gained.iter().any(|g| g.id == m.id) {
            gained.push(m.clone());
        }
    }
    let root_line = mountinfo::mount_at(before, Path::new("/"))
        .map(Mount::line)
        .unwrap_or_default();
    Ok(Outer {
        sandbox_mnt: sandbox.mnt_inode()?,
        root_line,
        gained,
    })
}

/// Finds CMD (the topmost bash carrying `token` in its arguments) and reads what the
/// kernel says about it and its namespace.
pub(crate) fn observe(token: &str, lines: &[String]) -> Option<Seen> {
    let host_pid = find_cmd(token)?;
    let nspid_line = procfs::status_line(host_pid, "NSpid").ok()?;
    let pidns = procfs::ns_inode(host_pid, "pid").ok()?;
    let mut members: Vec<(i32, i32, String)> = procfs::members("pid", pidns)
        .into_iter()
        .filter_map(|p| {
            let inner = *procfs::nspid(p).ok()?.last()?;
            Some((inner, p, procfs::comm(p).unwrap_or_default()))
        })
        .collect();
    members.sort();
    let value = |key: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(key).map(str::to_owned))
    };
    Some(Seen {
        host_pid,
        inner_pid: value("pid ").and_then(|v| v.parse().ok()),
        proc1: value("proc1 "),
        listed: lines
            .iter()
            .filter_map(|l| l.strip_prefix("proc ")?.parse().ok())
            .collect(),
        nspid: procfs::parse_nspid(&nspid_line).ok()?,
        nspid_line: nspid_line.replace('\t', " "),
        pidns,
        mntns: procfs::ns_inode(host_pid, "mnt").ok()?,
        members,
        root: procfs::root(host_pid).ok(),
        lines: lines.to_vec(),
    })
}

pub(crate) fn tagged(token: &str) -> Vec<i32> {
    procfs::pids()
        .into_iter()
        .filter(|p| {
            procfs::alive(*p)
                && procfs::cmdline(*p).is_some_and(|a| a.iter().any(|x| x.contains(token)))
        })
        .collect()
}

/// The candidate itself carries the token in its arguments too, and so does a bash
/// subshell before it execs the sleeper: CMD is the bash whose parent is not a tagged bash.
pub(crate) fn find_cmd(token: &str) -> Option<i32> {
    let tagged = tagged(token);
    let is_bash = |p: i32| procfs::comm(p).as_deref() == Some("bash");
    tagged.iter().copied().filter(|p| is_bash(*p)).find(|p| {
        procfs::ppid(*p).is_none_or(|parent| !(tagged.contains(&parent) && is_bash(parent)))
    })
}

/// Ends whatever is left of the processes this verifier started (tagged with `token`).
pub(crate) fn kill_tagged(token: &str) {
    for p in tagged(token) {
        let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
    }
}

pub(crate) fn pid_link(inode: u64) -> String {
    format!("pid:[{inode}]")
}

fn list(pids: &BTreeSet<i32>, max: usize) -> String {
    let mut s: Vec<String> = pids.iter().take(max).map(i32::to_string).collect();
    if pids.len() > max {
        s.push("…".into());
    }
    s.join(" ")
}

pub(crate) fn judge_alone(a: &Alone, my_pidns: u64) -> Vec<Check> {
    let s = &a.seen;
    let new_ns = s.pidns != my_pidns;
    let mut checks = Vec::new();

    checks.push(match s.inner_pid {
        Some(1) => Check::pass(NAMES[0], "echo $$ inside printed 1"),
        other => {
            let shown = other.map_or("nothing".to_owned(), |p| p.to_string());
            if !new_ns {
                Check::fail(
                    NAMES[0],
                    format!(
                        "echo $$ inside printed {shown}: CMD (host PID {}) is still in the host's PID namespace, {}",
                        s.host_pid,
                        pid_link(s.pidns)
                    ),
                )
                .expected("1")
                .hint(
                    "unshare(CLONE_NEWPID) does not move the calling process: only the children it \
                     creates afterwards are in the new namespace, and the first of them is its PID 1. \
                     fork() after unshare, exec CMD in the child, and have the parent wait for it \
                     (that is what `unshare --pid --fork` does). man 7 pid_namespaces.",
                )
            } else {
                Check::fail(
                    NAMES[0],
                    format!("echo $$ inside printed {shown}: CMD is in a new PID namespace, but not its first process"),
                )
                .expected("1")
                .hint("exec CMD in the first child forked after unshare(CLONE_NEWPID): that child is PID 1")
            }
        }
    });

    let inner: BTreeSet<i32> = s.members.iter().map(|m| m.0).collect();
    let proc1 = s.proc1.as_deref().unwrap_or("unreadable");
    checks.push(if !new_ns {
        Check::fail(
            NAMES[1],
            format!(
                "/proc inside lists {} processes, the host's: CMD never left the host's PID namespace, so every proc shows the host",
                s.listed.len()
            ),
        )
        .expected("only the processes of CMD's own namespace")
        .hint("put CMD in a new PID namespace first (see the first check)")
    } else if s.listed.is_empty() {
        Check::fail(NAMES[1], "/proc inside is empty: no proc is mounted there")
            .expected(format!("the namespace's processes: {}", list(&inner, 10)))
            .hint("mount a fresh proc at /proc from inside the new namespace: mount(\"proc\", \"/proc\", \"proc\", ...)")
    } else if s.listed.is_subset(&inner) {
        Check::pass(
            NAMES[1],
            format!("PIDs {}; /proc/1 is {proc1}", list(&s.listed, 10)),
        )
    } else {
        let foreign: BTreeSet<i32> = s.listed.difference(&inner).copied().collect();
        Check::fail(
            NAMES[1],
            format!(
                "/proc inside lists {} processes and its /proc/1 is {proc1}, but CMD's namespace {} holds only {} (PIDs {}): this /proc still shows the host's PID namespace ({} not in CMD's: {})",
                s.listed.len(),
                pid_link(s.pidns),
                inner.len(),
                list(&inner, 10),
                foreign.len(),
                list(&foreign, 8)
            ),
        )
        .expected("only the namespace's processes")
        .hint(
            "a proc filesystem shows the PID namespace of the process that mounted it, so the /proc \
             CMD inherited still lists the host's processes. In the child (PID 1), after \
             unshare(CLONE_NEWNS) and making / private, mount a fresh proc at /proc \
             (`unshare --pid --fork --mount-proc`).",
        )
    });

    checks.push(
        if s.nspid.len() == 2 && s.nspid.last() == Some(&1) {
            Check::pass(NAMES[2], format!("/proc/{}/status: {}", s.host_pid, s.nspid_line))
        } else {
            let hint = if s.nspid.len() == 1 {
                "one level means CMD is in no namespace but the host's: fork after unshare(CLONE_NEWPID) and exec CMD in the child"
            } else if s.nspid.len() > 2 {
                "CMD is nested more than one namespace deep: unshare(CLONE_NEWPID) once, then fork once"
            } else {
                "CMD is in a new namespace but is not its first process: exec it in the first child"
            };
            Check::fail(NAMES[2], format!("/proc/{}/status: {}", s.host_pid, s.nspid_line))
                .expected(format!("NSpid: {} 1  (its PID on the host, then 1 inside)", s.host_pid))
                .hint(hint)
        },
    );

    checks.push(if new_ns {
        Check::pass(
            NAMES[3],
            format!("CMD {} · verifier {}", pid_link(s.pidns), pid_link(my_pidns)),
        )
    } else {
        Check::fail(
            NAMES[3],
            format!(
                "/proc/{}/ns/pid is {}, the same as the verifier's",
                s.host_pid,
                pid_link(s.pidns)
            ),
        )
        .expected("a PID namespace of its own")
        .hint("unshare(CLONE_NEWPID) and then fork: the child, not the caller, is in the new namespace")
    });

    checks.push(match a.done.exit {
        crate::kernel::child::Exit::Code(STATUS) => {
            Check::pass(NAMES[4], format!("CMD exited {STATUS}, so did the program"))
        }
        _ => Check::fail(
            NAMES[4],
            format!("CMD exited {STATUS}; the program {}", a.done.describe()),
        )
        .expected(format!("exit status {STATUS}"))
        .hint("the parent waits for the child (waitpid) and exits with its status: exit(code), or 128+N when signal N killed it"),
    });
    checks
}

/// Whether any mount reached the sandbox (a namespace the candidate was only started in)
/// or the host, and why.
pub(crate) fn judge_mounts(
    alone: &Alone,
    pair: &std::result::Result<Pair, Check>,
    host_before: &[Mount],
    host_after: &[Mount],
) -> Check {
    let host_old: BTreeSet<String> = host_before.iter().map(Mount::line).collect();
    let host_new: Vec<String> = host_after
        .iter()
        .map(Mount::line)
        .filter(|l| !host_old.contains(l))
        .collect();
    if !host_new.is_empty() {
        return Check::fail(
            NAMES[5],
            format!(
                "the verifier's own mount table changed: {}",
                host_new.join(" | ")
            ),
        )
        .expected("the host's mounts untouched")
        .hint("mount only in a new mount namespace whose / was made private first");
    }
    let mut runs: Vec<(&str, &Outer, u64)> = vec![("alone", &alone.outer, alone.seen.mntns)];
    if let Ok(p) = pair {
        runs.push(("with --rootfs", &p.outer, p.a.mntns));
    }
    for (what, outer, cmd_mnt) in runs {
        let Some(m) = outer.gained.first() else {
            continue;
        };
        if cmd_mnt == outer.sandbox_mnt {
            return Check::fail(
                NAMES[5],
                format!(
                    "run {what}: a {} mount appeared at {} in the mount namespace the program was started in, and CMD's /proc/PID/ns/mnt is that same namespace: `{}`",
                    m.fstype,
                    m.mount_point.display(),
                    m.line()
                ),
            )
            .expected("the fresh proc only in CMD's own mount namespace")
            .hint(
                "the proc was mounted without a new mount namespace. On a real host it would cover the \
                 host's /proc for every process on the machine (here it only hit the verifier's \
                 sandbox). unshare(CLONE_NEWNS) in the child and make / private before mounting proc.",
            );
        }
        return Check::fail(
            NAMES[5],
            format!(
                "run {what}: CMD has a mount namespace of its own, yet a {} mount appeared at {} outside it: `{}`. There / is shared (`{}`), as systemd mounts it, and CMD's copy of / was still its peer",
                m.fstype,
                m.mount_point.display(),
                m.line(),
                outer.root_line
            ),
        )
        .expected("nothing propagating out of CMD's mount namespace")
        .hint(
            "propagation: a new mount namespace copies / together with its shared:N peer group, so \
             mounts made in it reach the host. Make / private, recursively, right after \
             unshare(CLONE_NEWNS): mount(None, \"/\", None, MS_REC | MS_PRIVATE, None) \
             (`mount --make-rprivate /`). man 7 mount_namespaces.",
        );
    }
    let peer = alone
        .outer
        .root_line
        .split(' ')
        .find(|f| f.starts_with("shared:"))
        .unwrap_or("shared");
    Check::pass(
        NAMES[5],
        format!(
            "the sandbox the program ran in (its / {peer}, like a systemd host's) gained no mount; the host's mount table is unchanged"
        ),
    )
}

pub(crate) struct Pair {
    a: Seen,
    b_host_pid: i32,
    b_pidns: u64,
    rootfs_a: PathBuf,
    /// Tagged processes of A still alive after its PID 1 was killed: (host PID, comm, NSpid).
    leftovers: Vec<(i32, String, String)>,
    /// Members of A's PID namespace killed by the kernel with PID 1.
    others_killed: usize,
    a_done: Finished,
    b_alive_after: bool,
    outer: Outer,
}

/// Two instances at once, each chrooted in a rootfs of its own (the two "containers" of
/// the book): A tries to reach B's PID 1, then A's PID 1 is killed.
fn run_pair(
    c: &Candidate,
    scratch: &Scratch,
    token: &str,
) -> Result<std::result::Result<Pair, Check>> {
    let rootfs_a = scratch.rootfs("container-a", &["bash", "sleep"])?;
    let rootfs_b = scratch.rootfs("container-b", &["bash", "sleep"])?;
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
    let failed = |who: &str, why: String| {
        Check::fail(NAMES[6], format!("instance {who} with --rootfs {why}"))
            .expected("CMD starts inside DIR and prints READY")
            .hint(
                "with --rootfs DIR, chroot into DIR (and chdir(\"/\")) in the child, then mount proc at /proc; \
                 DIR holds only /bin/bash, /bin/sleep and their libraries",
            )
    };

    let mut b = Running::start_in(
        &c.binary,
        &args(&rootfs_b, script(&token_b, "/bin/sleep", ""), &token_b),
        scratch.path(),
        &sandbox,
    )?;
    let b_ready = b.wait_for(TIMEOUT, |l| l == "READY").is_some();
    let b_cmd = find_cmd(&token_b).filter(|_| b_ready);
    let Some(b_host_pid) = b_cmd else {
        let done = b.finish(Duration::from_secs(5));
        kill_tagged(&token_b);
        return Ok(Err(failed("B", done.describe())));
    };
    let b_pidns = procfs::ns_inode(b_host_pid, "pid")?;

    let probe = format!(
        "if kill -0 {b_host_pid} 2>&1; then echo peer-signalable; else echo peer-unreachable; fi; \
         if [ -e /proc/{b_host_pid} ]; then echo peer-listed; else echo peer-unlisted; fi;"
    );
    let mut a = Running::start_in(
        &c.binary,
        &args(&rootfs_a, script(&token_a, "/bin/sleep", &probe), &token_a),
        scratch.path(),
        &sandbox,
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
        return Ok(Err(failed("A", done.describe())));
    };
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
    let leftovers: Vec<(i32, String, String)> = tagged(&token_a)
        .into_iter()
        .filter(|p| *p != a_pid)
        .map(|p| {
            let nspid = procfs::status_line(p, "NSpid")
                .unwrap_or_default()
                .replace('\t', " ");
            (p, procfs::comm(p).unwrap_or_default(), nspid)
        })
        .collect();
    let others_killed = others.iter().filter(|p| !procfs::alive(**p)).count();
    let a_done = a.finish(Duration::from_secs(3));
    kill_tagged(&token_a);
    let b_alive_after = procfs::alive(b_host_pid);
    drop(b.finish(Duration::from_secs(5)));
    kill_tagged(&token_b);
    let outer = outer(&sandbox, &before, &[at_ready, sandbox.mounts()?])?;
    Ok(Ok(Pair {
        a: seen,
        b_host_pid,
        b_pidns,
        rootfs_a,
        leftovers,
        others_killed,
        a_done,
        b_alive_after,
        outer,
    }))
}

fn judge_pair(p: &Pair, my_pidns: u64) -> Vec<Check> {
    let a = &p.a;
    let has = |l: &str| a.lines.iter().any(|x| x == l);
    let mut checks = Vec::new();

    let reached = has("peer-signalable");
    let listed = has("peer-listed");
    checks.push(if !reached && !listed && a.pidns != p.b_pidns {
        Check::pass(
            NAMES[6],
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
        Check::fail(
            NAMES[6],
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

    let dir = p
        .rootfs_a
        .canonicalize()
        .unwrap_or_else(|_| p.rootfs_a.clone());
    let inner: BTreeSet<i32> = a.members.iter().map(|m| m.0).collect();
    let root_ok = a.root.as_deref() == Some(dir.as_path());
    let root_shown = a
        .root
        .as_ref()
        .map_or("unreadable".into(), |r| r.display().to_string());
    checks.push(if !root_ok {
        Check::fail(
            NAMES[7],
            format!("/proc/{}/root → {root_shown}", a.host_pid),
        )
        .expected(dir.display().to_string())
        .hint("with --rootfs DIR, chroot(DIR) and chdir(\"/\") in the child before exec")
    } else if a.pidns == my_pidns {
        Check::fail(
            NAMES[7],
            format!(
                "CMD runs in DIR, but in the host's PID namespace: /proc inside lists {} processes",
                a.listed.len()
            ),
        )
        .expected("only the processes of CMD's own namespace")
        .hint("put CMD in a new PID namespace first (see the first check)")
    } else if a.listed.is_empty() {
        Check::fail(
            NAMES[7],
            format!("CMD runs in DIR, but /proc inside it ({}/proc) is empty", dir.display()),
        )
        .expected(format!("the namespace's processes: {}", list(&inner, 10)))
        .hint("mount proc after chroot, so it lands at /proc inside DIR: mounted before, it covers the old /proc, which CMD no longer sees")
    } else if a.pidns != my_pidns && a.listed.is_subset(&inner) {
        Check::pass(
            NAMES[7],
            format!(
                "/proc/{}/root → {}; /proc inside lists {}",
                a.host_pid,
                dir.display(),
                list(&a.listed, 10)
            ),
        )
    } else {
        Check::fail(
            NAMES[7],
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
        let (pid, comm, nspid) = &p.leftovers[0];
        let own_init = nspid.split_whitespace().last() == Some("1")
            && procfs::ns_inode(*pid, "pid").ok() != Some(a.pidns);
        let hint = if own_init {
            "that process is PID 1 of another namespace: after unshare(CLONE_NEWPID) without fork, the \
             first child CMD forks becomes the new namespace's init, and killing CMD leaves it running. \
             fork after unshare and exec CMD in the child, so CMD is PID 1 and takes everything with it."
        } else {
            "when PID 1 of a namespace dies the kernel kills every other process in it, so a survivor is \
             outside CMD's namespace: start CMD as PID 1 of the new namespace"
        };
        Check::fail(
            NAMES[8],
            format!(
                "3 s after SIGKILL to CMD (host PID {}), {comm} (host PID {pid}, {nspid}) is still running",
                a.host_pid
            ),
        )
        .expected("every process of the namespace gone")
        .hint(hint)
    } else if matches!(p.a_done.exit, crate::kernel::child::Exit::TimedOut) {
        Check::fail(
            NAMES[8],
            format!(
                "CMD (host PID {}) was killed, but the program itself was still running 3 s later",
                a.host_pid
            ),
        )
        .expected("the program exits when CMD does")
        .hint("the parent waits for its child with waitpid and then exits with its status")
    } else if !p.b_alive_after {
        Check::fail(
            NAMES[8],
            format!("killing A's PID 1 also ended instance B (host PID {})", p.b_host_pid),
        )
        .expected("B unaffected")
        .hint("each instance needs a PID namespace of its own")
    } else {
        Check::pass(
            NAMES[8],
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
