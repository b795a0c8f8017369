//! What chapter 8's verifier sees of one run. It prepares a cgroup CG under
//! learn-containers/ (in the cpu hierarchy: a v1 one on v1 and hybrid hosts, the v2 tree
//! on v2), an IPC namespace of its own with a System V queue in it, and a time offset
//! SECONDS that is no round number; it runs the program in that IPC namespace, under the
//! adversary, with a script as CMD. CMD reads its /proc/uptime, its /proc/self/cgroup and
//! /proc/sysvipc/msg, and waits. From outside, once the program has had time to do what
//! it does: CMD's namespaces, /proc/CMD/cgroup from the host and from inside CMD's cgroup
//! namespace, /proc/CMD/timens_offsets, and the sandbox's queues after a queue was made
//! in CMD's IPC namespace. Then how the program ended and what is left. Judging is
//! verify.rs's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Result;
use crate::kernel::cgroup::{CgroupFs, Version};
use crate::kernel::procfs;
use crate::kernel::sysvipc::{IpcSandbox, KEY_BASE, Queue, make_queue_in};
use crate::kernel::timens;
use crate::verify::Context;
use crate::verify::probe::cgroup_ns::view_from_inside;
use crate::verify::probe::tagged::{find_cmd, kill_tagged, tagged};
use crate::verify::run::Finished;

pub(super) const START_TIMEOUT: Duration = Duration::from_secs(10);
pub(super) const EXIT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for the program to have done whatever it does after fork (a parent that moves
/// CMD late, say) before the verifier looks.
pub(super) const SETTLE: Duration = Duration::from_millis(300);
/// What the script exits with once stdin closes: the program must pass it on.
pub(super) const STATUS: i32 = 7;
/// The queue the verifier makes in its IPC namespace, before the run.
pub(super) const OUTER_KEY: i32 = KEY_BASE | 0x08;
/// The queue the verifier makes in CMD's IPC namespace, while CMD waits.
pub(super) const INNER_KEY: i32 = KEY_BASE | 0x88;
/// How far CMD's uptime may stray from the host's plus SECONDS, in seconds.
pub(super) const TOLERANCE: f64 = 1.0;
/// The controller whose hierarchy CG is made in.
pub(super) const CONTROLLER: &str = "cpu";

/// The offset to ask for: more than two days, and no round number, so that no mistake
/// (no offset, one clock, the wrong unit) lands within the tolerance by chance.
pub(super) fn offset() -> i64 {
    200_000 + i64::from(std::process::id() % 50_000) + 37
}

/// CMD: a fork first (which ends the adversary's hold on the program's parent), then what
/// it sees: its uptime, its cgroups, the queues of its IPC namespace; then it waits for
/// stdin to close. Only bash builtins.
pub(super) fn script() -> String {
    format!(
        "(exit 0); \
         read -r up _ < /proc/uptime; echo \"uptime $up\"; \
         while read -r l; do echo \"cgroup $l\"; done < /proc/self/cgroup; \
         while read -r k _; do [ \"$k\" = key ] || echo \"msg $k\"; done < /proc/sysvipc/msg; \
         echo READY; read -r _; exit {STATUS}"
    )
}

/// The three namespaces of the chapter, by inode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Ns {
    pub(super) ipc: u64,
    pub(super) cgroup: u64,
    pub(super) time: u64,
}

impl Ns {
    fn of(pid: i32) -> Ns {
        let ino = |kind| procfs::ns_inode(pid, kind).unwrap_or(0);
        Ns {
            ipc: ino("ipc"),
            cgroup: ino("cgroup"),
            time: ino("time"),
        }
    }
}

/// CMD, seen from outside while it waits.
#[derive(Debug, Clone)]
pub(super) struct Cmd {
    pub(super) pid: i32,
    pub(super) ns: Ns,
    /// /proc/CMD/cgroup as the host reads it.
    pub(super) outside: String,
    /// CMD's cgroup in CG's hierarchy, as a path on the host.
    pub(super) dir: Option<PathBuf>,
    /// /proc/CMD/cgroup read from inside CMD's cgroup namespace, after SETTLE.
    pub(super) inside: Result<String, String>,
    /// /proc/CMD/timens_offsets.
    pub(super) offsets: Option<String>,
    /// The queue made in CMD's IPC namespace (its msqid), or why not.
    pub(super) made: Result<i32, String>,
    /// The queues of the namespace the program was started in, after that.
    pub(super) outer_queues: Vec<Queue>,
}

/// Everything seen of the run.
#[derive(Debug)]
pub(super) struct Run {
    pub(super) offset: i64,
    /// CG, and the interface of its hierarchy.
    pub(super) cg: PathBuf,
    pub(super) version: Version,
    /// The namespaces the program was started in.
    pub(super) start: Ns,
    pub(super) program: i32,
    pub(super) cmd: Option<Cmd>,
    /// What CMD printed.
    pub(super) lines: Vec<String>,
    /// The host's uptime before the start, and when CMD's uptime line came.
    pub(super) host_uptime: (f64, f64),
    pub(super) finished: Finished,
    /// What is left in CG once the program has ended.
    pub(super) left_cgroups: Vec<PathBuf>,
    /// Processes of the run still alive once the program had ended: (pid, comm).
    pub(super) left: Vec<(i32, String)>,
}

impl Run {
    /// The values of CMD's lines `key value`.
    pub(super) fn said(&self, key: &str) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
            .map(str::trim)
            .collect()
    }
}

/// The run, as chapter 8's verifier makes it, in CG (made by the caller in `fs`).
pub(super) fn observe(cx: &Context, fs: &CgroupFs, cg: &Path, version: Version) -> Result<Run> {
    let token = format!("{}{}", crate::kernel::scratch::PREFIX, cx.token());
    let offset = offset();
    let sandbox = IpcSandbox::start(OUTER_KEY)?;
    let me = std::process::id() as i32;
    let start = Ns {
        ipc: sandbox.inode()?,
        ..Ns::of(me)
    };
    let bash = rootfs_builder::resolve_binary("bash")?;
    let args = [
        "--cgroup-parent".to_owned(),
        cg.display().to_string(),
        "--offset".into(),
        offset.to_string(),
        "--".into(),
        bash.display().to_string(),
        "-c".into(),
        script(),
        token.clone(),
    ];
    let h0 = timens::uptime().unwrap_or(0.0);
    let mut running = cx.start_traced(&args, &[sandbox.entry()])?;
    let program = running.pid();
    let h1 = match running.wait_for(START_TIMEOUT, |l| l.starts_with("uptime ")) {
        Some(_) => timens::uptime().unwrap_or(0.0),
        None => h0,
    };
    // READY may have come in the same read as the uptime line: wait_for tests only what
    // comes after its last call.
    let ready = running.seen().iter().any(|l| l == "READY")
        || running.wait_for(START_TIMEOUT, |l| l == "READY").is_some();
    let cmd = match find_cmd(&token).filter(|_| ready) {
        Some(pid) => {
            std::thread::sleep(SETTLE);
            Some(look(pid, fs, &sandbox)?)
        }
        None => None,
    };
    let lines = running.seen().to_vec();
    let (finished, _) = running.finish_traced(EXIT_TIMEOUT);
    let left: Vec<(i32, String)> = tagged(&token)
        .into_iter()
        .map(|p| (p, procfs::comm(p).unwrap_or_default()))
        .collect();
    kill_tagged(&token);
    let left_cgroups = crate::kernel::cgroup::Cgroup::open(cg, version).children();
    Ok(Run {
        offset,
        cg: cg.to_path_buf(),
        version,
        start,
        program,
        cmd,
        lines,
        host_uptime: (h0, h1),
        finished,
        left_cgroups,
        left,
    })
}

/// CMD, read from outside.
fn look(pid: i32, fs: &CgroupFs, sandbox: &IpcSandbox) -> Result<Cmd> {
    let outside = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let dir = fs.dir_in_proc_cgroup(&outside, CONTROLLER);
    let inside = view_from_inside(pid).map_err(|e| format!("{e:#}"));
    let offsets = timens::read_offsets(Some(pid)).ok();
    let made = make_queue_in(pid, INNER_KEY).map_err(|e| format!("{e:#}"));
    let outer_queues = sandbox.queues()?;
    Ok(Cmd {
        pid,
        ns: Ns::of(pid),
        outside,
        dir,
        inside,
        offsets,
        made,
        outer_queues,
    })
}
