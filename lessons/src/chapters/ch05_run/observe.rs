//! What chapter 5's verifier sees of one run: it prepares a rootfs, a sandbox mount
//! namespace, a UTS sandbox and a marker file outside the rootfs, runs the program with a
//! script as CMD, and reads from outside CMD's namespaces, cgroups, CPU share, hostname
//! and what entering its mount namespace finds. Judging is verify.rs's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Result;
use crate::kernel::cgroup::{Cgroup, CgroupFs, CpuLimit};
use crate::kernel::mountinfo::{self, Mount};
use crate::kernel::procfs;
use crate::kernel::sandbox::{Propagation, Sandbox, UtsSandbox, hostname_of};
use crate::kernel::scratch::Scratch;
use crate::verify::Context;
use crate::verify::adversary::first_child;
use crate::verify::probe::cpu_share::{self, Measure, Share};
use crate::verify::probe::mount_ns::{NsView, enter_and_look};
use crate::verify::probe::mounts::{Layout, Outer, outer};
use crate::verify::probe::pid_ns::{Seen, observe};
use crate::verify::probe::tagged::kill_tagged;
use crate::verify::run::Finished;

pub(super) const TIMEOUT: Duration = Duration::from_secs(20);
/// The CPU cap asked for.
pub const CPUS: f64 = 0.5;
/// Time for the burner to settle under its cap before measuring.
pub(super) const SETTLE: Duration = Duration::from_millis(300);
/// The measurement window: 16 periods of 100 ms.
pub(super) const MEASURE: Duration = Duration::from_millis(1600);

/// What the script exits with once stdin closes: the program must pass it on.
pub(super) const STATUS: i32 = 7;

/// CMD: forks a CPU burner first thing (so a cgroup joined after exec misses it), then
/// prints what chapter 2's checks read, its hostname, and waits for stdin to close. Only
/// bash builtins: the rootfs holds bash alone.
pub(super) fn script() -> String {
    format!(
        "shopt -s nullglob; \
         ( while :; do :; done ) & \
         echo \"burner $!\"; \
         echo \"pid $$\"; \
         read -r c1 < /proc/1/comm && echo \"proc1 $c1\"; \
         for d in /proc/[0-9]*; do echo \"proc ${{d#/proc/}}\"; done; \
         echo READY; read -r _; kill -9 $!; exit {}",
        STATUS
    )
}

/// Everything seen of one run.
pub(super) struct Run {
    pub(super) name: String,
    pub(super) seen: Seen,
    pub(super) done: Finished,
    pub(super) outer: Outer,
    pub(super) burner: Option<(i32, i32)>,
    pub(super) cmd_cgroup: Option<PathBuf>,
    pub(super) burner_cgroup: Option<PathBuf>,
    /// CMD's first child (host pid), and the cgroup it was born in (read by the tracer
    /// before it ran).
    pub(super) first_child: Option<(i32, Option<PathBuf>)>,
    pub(super) share: Result<Share, String>,
    pub(super) limit: Option<CpuLimit>,
    pub(super) cmd_uts: u64,
    /// The mount namespace the program itself (the parent) was in while CMD ran.
    pub(super) program_mnt: u64,
    pub(super) start_uts: u64,
    pub(super) inside_name: Option<String>,
    pub(super) outside_before: String,
    pub(super) outside_after: String,
    pub(super) view: Result<NsView, String>,
    pub(super) marker: PathBuf,
    pub(super) host: Vec<Mount>,
    pub(super) left: Vec<PathBuf>,
}

/// A program whose CMD never came up: whether it printed READY, and how it ended.
pub(super) struct NotStarted {
    pub(super) ready: bool,
    pub(super) described: String,
}

pub(super) fn run(
    cx: &Context,
    fs: &CgroupFs,
    parent: &Cgroup,
    measure: Measure,
) -> Result<std::result::Result<Run, NotStarted>> {
    // mkdtemp chose an unpredictable suffix: it tags the processes and names the host.
    let token = cx.token();
    let name = format!("ch05-{}", token.to_ascii_lowercase());
    let tag = format!("learn-containers-ch05-{token}");
    // The rootfs on the sandbox's / (in /var/tmp, which systemd does not mount apart), as
    // a learner's rootfs on / or /home is: a pivot_root there succeeds even after a
    // non-recursive MS_PRIVATE, and detaching the old root then takes the shared mounts
    // under it away from the namespace the program was started in, which shows.
    let on_root = Scratch::new_in(Path::new("/var/tmp")).or_else(|_| Scratch::new())?;
    let rootfs = on_root.rootfs("rootfs", &["bash"])?;
    // A file outside DIR: whoever can open it still reaches the host's tree.
    let marker = cx.scratch.path().join(format!("host-only-{token}"));
    std::fs::write(&marker, "outside the rootfs\n")?;

    let host = mountinfo::read(None)?;
    let sandbox = Sandbox::start(Propagation::Shared)?;
    let uts = UtsSandbox::start()?;
    let before = sandbox.mounts()?;
    let outside_before = uts.hostname()?;
    let start_uts = uts.inode()?;
    let args = vec![
        "--rootfs".to_owned(),
        rootfs.display().to_string(),
        "--hostname".into(),
        name.clone(),
        "--cpus".into(),
        CPUS.to_string(),
        "--cgroup-parent".into(),
        parent.path.display().to_string(),
        "--".into(),
        "/bin/bash".into(),
        "-c".into(),
        script(),
        tag.clone(),
    ];
    // Under the adversary: a parent that moves CMD into the cgroup after fork does it only
    // once CMD has forked, every time (see verify::adversary).
    let mut running = cx.start_traced(&args, &[sandbox.entry(), uts.entry()])?;
    let ready = running.wait_for(TIMEOUT, |l| l == "READY").is_some();
    let seen = if ready {
        observe(&tag, running.seen())
    } else {
        None
    };
    let Some(seen) = seen else {
        let done = running.finish(Duration::from_secs(5));
        kill_tagged(&tag);
        return Ok(Err(NotStarted {
            ready,
            described: cx.describe(&done),
        }));
    };
    let cmd = seen.host_pid;
    let burner = seen
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("burner ")?.trim().parse::<i32>().ok())
        .and_then(|inner| {
            seen.members
                .iter()
                .find(|m| m.0 == inner)
                .map(|m| (inner, m.1))
        });
    let cmd_uts = procfs::ns_inode(cmd, "uts").unwrap_or(0);
    let program_mnt = procfs::ns_inode(running.pid(), "mnt").unwrap_or(0);
    // From outside, in CMD's UTS namespace: not through CMD's /proc, which has its own
    // check.
    let inside_name = hostname_of(cmd).ok();
    let view = enter_and_look(cmd, std::slice::from_ref(&marker)).map_err(|e| format!("{e:#}"));

    // Time for the program to have done whatever it does with cgroups.
    std::thread::sleep(SETTLE);
    let cmd_cgroup = fs.cgroup_of(cmd, "cpu").ok();
    let burner_cgroup = burner.and_then(|(_, host)| fs.cgroup_of(host, "cpu").ok());
    let limit = cmd_cgroup
        .as_ref()
        .filter(|d| inside(d, &parent.path))
        .and_then(|d| Cgroup::open(d, parent.version).limit::<CpuLimit>().ok());
    let share = match burner {
        Some(_) if measure == Measure::Skip => Err("not measured".into()),
        Some((_, pid)) => cpu_share::measure(pid, MEASURE),
        None => Err("the burner's pid could not be found among CMD's namespace".into()),
    };
    let at_ready = sandbox.mounts().unwrap_or_default();
    let (done, events) = running.finish_traced(Duration::from_secs(5));
    kill_tagged(&tag);
    let first_child = first_child(&events, cmd).map(|(pid, text)| {
        let born = fs.dir_in_proc_cgroup(&text, "cpu");
        (pid, born)
    });
    let outside_after = uts
        .hostname()
        .unwrap_or_else(|e| format!("unreadable ({e:#})"));
    let mut outer = outer(&sandbox, &before, &[at_ready, sandbox.mounts()?])?;
    outer.cmd = view.as_ref().ok().map(|v| Layout::of(&v.mounts));
    Ok(Ok(Run {
        name,
        seen,
        done,
        outer,
        burner,
        cmd_cgroup,
        burner_cgroup,
        first_child,
        share,
        limit,
        cmd_uts,
        program_mnt,
        start_uts,
        inside_name,
        outside_before,
        outside_after,
        view,
        marker,
        host,
        left: parent.children(),
    }))
}

/// Is `dir` strictly below `parent`?
pub(super) fn inside(dir: &Path, parent: &Path) -> bool {
    dir != parent && dir.starts_with(parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_forks_the_burner_first() {
        let s = script();
        let burner = s.find("while :; do :; done").unwrap();
        assert!(burner < s.find("echo \"pid").unwrap());
        assert!(s.ends_with(&format!("exit {}", STATUS)));
    }
}
