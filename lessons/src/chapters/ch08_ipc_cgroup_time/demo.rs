//! The guided demo of chapter 8: a System V queue seen on one side of `unshare --ipc`
//! only, and a POSIX queue that needs its own mqueue mount; /proc/self/cgroup before and
//! after `unshare --cgroup`, the process first moved into a new cgroup; a time namespace
//! whose clocks run a day ahead, and the rule that freezes its offsets; then one process
//! in a new namespace of each of the eight kinds, each with the observation that shows
//! it. Every namespace is made in a forked child, never in the CLI; IPC objects only in
//! IPC namespaces of the lesson's own.

use crate::error::Result;

use super::tour::{self, DAY, LIMIT};
use crate::kernel::cgroup::membership::{self, line_for};
use crate::kernel::cgroup::{CgroupFs, Version};
use crate::kernel::child::{self, run_captured};
use crate::kernel::scratch::Scratch;
use crate::kernel::sysvipc::{KEY_BASE, hex};
use crate::present::Presenter;

pub const STEPS: usize = 4;

/// The queue of step 1.
const KEY: i32 = KEY_BASE | 0x01;

/// What a child emitted, as `key value` lines.
fn field<'a>(out: &'a str, key: &str) -> Vec<&'a str> {
    out.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
        .collect()
}

fn first<'a>(out: &'a str, key: &str) -> &'a str {
    field(out, key).first().copied().unwrap_or("(not seen)")
}

pub fn run(p: &mut dyn Presenter) -> Result<()> {
    let scratch = Scratch::new()?;

    // 1
    p.step(
        "IPC: a message queue seen on one side only",
        "System V message queues, semaphores and shared memory, and POSIX message queues, \
         belong to an IPC namespace: any process in it can find them by key. The lesson makes \
         an IPC namespace of its own (never touching the host's), makes a queue there, and \
         lists /proc/sysvipc/msg in it and in a new IPC namespace made below it.",
    )?;
    p.shell(&format!(
        "unshare --ipc bash -c 'ipcmk -Q -k {k}; cat /proc/sysvipc/msg; unshare --ipc cat /proc/sysvipc/msg'",
        k = hex(KEY)
    ));
    let (mq_out, mq_in) = (
        scratch.subdir("mqueue-outer")?,
        scratch.subdir("mqueue-inner")?,
    );
    let out = run_captured(LIMIT, move || tour::ipc_step(KEY, &mq_out, &mq_in))?;
    if out.exit != child::Exit::Code(0) {
        crate::bail!("the IPC step failed: {}", out.output.trim());
    }
    p.kernel(&format!(
        "/proc/sysvipc/msg in the lesson's IPC namespace:\n  {}",
        first(&out.output, "outer")
    ));
    p.kernel(&format!(
        "/proc/sysvipc/msg after unshare --ipc: {} queue(s)",
        first(&out.output, "inner-count")
    ));
    p.say(&format!(
        "The queue (key {} is the decimal {KEY}) is listed where it was made, and the new \
         namespace starts with none. Nothing moved: the file shows the queues of the IPC \
         namespace of whoever opens it.",
        hex(KEY)
    ));
    p.shell(
        "unshare --ipc --mount bash -c 'mount -t mqueue learn-containers /dev/mqueue; ls /dev/mqueue'   # after an mq_open(3) of /learn-containers in it",
    );
    p.kernel(&format!(
        "an mqueue mounted in the new IPC namespace lists: {}",
        first(&out.output, "mq-inner")
    ));
    p.kernel(&format!(
        "an mqueue mounted in the lesson's first IPC namespace lists: {}",
        first(&out.output, "mq-outer")
    ));
    p.say(
        "A POSIX queue lives in the IPC namespace too, but its names are seen through a \
         filesystem, mqueue, which shows the namespace of whoever mounted it. A container \
         that gets a new IPC namespace needs a fresh mqueue mount at /dev/mqueue, or it lists \
         the old namespace's queues.",
    );

    // 2
    p.step(
        "cgroup: /proc/self/cgroup before and after unshare --cgroup",
        "A cgroup namespace changes how a process sees the cgroup tree: its root is the \
         cgroup the process was in when it unshared. Runtimes first move the container into \
         its cgroup, then unshare, so the container sees itself at /. The lesson makes a cgroup \
         under learn-containers/, moves a child into it, and reads /proc/self/cgroup.",
    )?;
    let fs = CgroupFs::detect()?;
    let ctrl = fs.require("cpu")?;
    let cg = fs.create_owned("cpu", "demo8")?;
    let dir = cg.path.display().to_string();
    let hierarchy = tour::hierarchy_options(&ctrl.dir)?;
    p.shell(&format!(
        "mkdir {dir}; echo $$ > {dir}/cgroup.procs; cat /proc/self/cgroup; unshare --cgroup cat /proc/self/cgroup"
    ));
    let (procs, version, view, hier) = (
        cg.file("cgroup.procs"),
        ctrl.version,
        scratch.subdir("cgroup-view")?,
        ctrl.dir.clone(),
    );
    let fstype = match version {
        Version::V1 => "cgroup",
        Version::V2 => "cgroup2",
    };
    let mount_options = hierarchy.clone();
    let out = run_captured(LIMIT, move || {
        tour::cgroup_step(&procs, &hier, fstype, &mount_options, &view)
    })?;
    let show = |key: &str| {
        let lines = membership::parse(&field(&out.output, key).join("\n"));
        line_for(&lines, version, "cpu")
            .map(membership::show)
            .unwrap_or_else(|| "(no line)".into())
    };
    p.kernel(&format!("before, at the start:         {}", show("before")));
    p.kernel(&format!("after joining the new cgroup: {}", show("joined")));
    p.kernel(&format!(
        "after unshare --cgroup:       {}",
        show("unshared")
    ));
    let all = field(&out.output, "unshared");
    p.output(&all.join("\n"));
    p.say(&format!(
        "Every line now says `/`: in each hierarchy, the namespace's root is where the process \
         was when it unshared. Had it unshared first and joined after, it would see the way \
         from its old cgroup to the new one. {}",
        match version {
            Version::V1 => "On cgroup v1 each hierarchy has its own line, and its own root.",
            Version::V2 => "On cgroup v2 the one line `0::/` is the container's whole view.",
        }
    ));
    p.shell(&format!(
        "ls {}; mount -t {fstype} -o {hierarchy} learn-containers /mnt; ls /mnt",
        ctrl.dir.display()
    ));
    p.kernel(&format!(
        "{} seen from inside the namespace: {}",
        ctrl.dir.display(),
        first(&out.output, "sysfs")
    ));
    p.kernel(&format!(
        "a {fstype} mounted inside the namespace: {}",
        first(&out.output, "remounted")
    ));
    p.say(
        "What a cgroup namespace does not hide: the files under /sys/fs/cgroup are the host's \
         mount, and show the host's tree from its root, learn-containers/ and all. A cgroup \
         filesystem mounted from inside the namespace starts at the namespace's root: that is \
         what a runtime mounts in the container.",
    );
    drop(cg);

    // 3
    p.step(
        "time: unshare --time --boottime 86400 --monotonic 86400",
        "A time namespace offsets two clocks, CLOCK_MONOTONIC and CLOCK_BOOTTIME (which \
         /proc/uptime counts). unshare(CLONE_NEWTIME) does not move the caller: the new \
         namespace is its time_for_children, which its next child is born into (and, since \
         Linux 6.0, the caller itself at its next execve). Its offsets are written before \
         anyone enters, and frozen after.",
    )?;
    p.shell(&format!(
        "unshare --fork --time --boottime {DAY} --monotonic {DAY} bash -c 'cat /proc/uptime /proc/self/timens_offsets'"
    ));
    let out = run_captured(LIMIT, tour::time_step)?;
    if out.exit != child::Exit::Code(0) {
        crate::bail!("the time step failed: {}", out.output.trim());
    }
    p.kernel(&format!(
        "after unshare(CLONE_NEWTIME), the caller: ns/time {}, ns/time_for_children {}",
        first(&out.output, "time"),
        first(&out.output, "for-children")
    ));
    p.kernel(&format!(
        "/proc/self/timens_offsets, written before anyone entered:\n  {}",
        field(&out.output, "offsets").join("\n  ")
    ));
    p.kernel(&format!(
        "the child born in it: /proc/uptime {} s ahead of its parent's, CLOCK_BOOTTIME {} s, CLOCK_MONOTONIC {} s, CLOCK_REALTIME {} s",
        first(&out.output, "uptime-ahead"),
        first(&out.output, "boottime-ahead"),
        first(&out.output, "monotonic-ahead"),
        first(&out.output, "realtime-ahead")
    ));
    p.kernel(&format!(
        "writing the offsets again, once the child is in: {}",
        first(&out.output, "late-write")
    ));
    p.say(
        "The parent's own clocks did not move: it is not in the namespace it made. \
         CLOCK_REALTIME, the wall clock, is not namespaced at all. A kernel before 5.6 has no \
         time namespaces (`learn-containers doctor` says so).",
    );

    // 4
    p.step(
        "All eight, observed",
        "One process in a new namespace of each of the eight kinds, each with the one \
         observation that shows it, and its /proc/self/ns links next to the lesson's own.",
    )?;
    p.shell(
        "unshare --mount --uts --ipc --pid --net --cgroup --time --fork bash, then unshare --user",
    );
    let mnt = scratch.subdir("eight")?;
    let me = std::process::id() as i32;
    let out = run_captured(LIMIT, move || tour::eight(&mnt, me))?;
    if out.exit != child::Exit::Code(0) {
        crate::bail!("the tour failed: {}", out.output.trim());
    }
    for kind in tour::KINDS {
        p.kernel(&format!("{kind:<7} {}", first(&out.output, kind)));
    }
    let table: Vec<String> = tour::KINDS
        .iter()
        .map(|k| {
            format!(
                "  {k:<7} lesson {:<22} new {}",
                tour::link(me, k),
                first(&out.output, &format!("ns-{k}"))
            )
        })
        .collect();
    p.output(&table.join("\n"));
    p.say(
        "Eight kinds, eight new namespaces: every link differs from the lesson's. \
         `learn-containers run` puts its container in new mount, UTS, PID, IPC and cgroup \
         namespaces (and user, without root); compare `ls -l /proc/PID/ns` of a container \
         with your shell's.",
    );
    Ok(())
}
