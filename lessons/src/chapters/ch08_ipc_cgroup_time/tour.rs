//! What lesson 8's forked children do, each reporting what it sees as `key value` lines
//! (demo.rs prints them): the IPC step, the cgroup step, the time step and the tour of
//! the eight namespaces. Each runs in a child of the lesson, never in the CLI.

use std::ffi::CString;
use std::path::Path;
use std::time::Duration;

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::unistd::{ForkResult, fork};

use crate::error::Result;
use crate::kernel::child::{self, Exit, emit, failed};
use crate::kernel::mountinfo;
use crate::kernel::timens::{self, CLONE_NEWTIME};
use crate::kernel::{ns, procfs, sysvipc};

/// How long each child may take.
pub(super) const LIMIT: Duration = Duration::from_secs(20);
/// The offset of steps 3 and 4: a day.
pub(super) const DAY: i64 = 86_400;
/// The eight kinds, as /proc/PID/ns names them.
pub(super) const KINDS: [&str; 8] = ["mnt", "uts", "ipc", "pid", "net", "cgroup", "time", "user"];

/// A namespace link of `pid`, as the kernel shows it.
pub(super) fn link(pid: i32, kind: &str) -> String {
    procfs::ns_link(pid, kind).unwrap_or_else(|e| format!("{e:#}"))
}

/// A namespace link of the calling process (/proc/self/ns/KIND): right whatever PID
/// namespace it is in, where /proc is the host's.
fn own_link(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .map(|l| l.to_string_lossy().into_owned())
        .unwrap_or_else(|e| format!("({e})"))
}

/// The super options a v1 hierarchy is mounted with (`cpu`, or `cpu,cpuacct`): mounting
/// it again takes the same. Empty on v2.
pub(super) fn hierarchy_options(dir: &Path) -> Result<String> {
    let mounts = mountinfo::read(None)?;
    Ok(mounts
        .iter()
        .find(|m| m.mount_point == dir && m.fstype == "cgroup")
        .map(|m| {
            m.super_options
                .split(',')
                .filter(|o| !o.is_empty() && *o != "rw" && *o != "ro")
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default())
}

/// Forks; `f` runs in the child (which dies with its parent) and gives its exit code.
fn in_child(f: impl FnOnce() -> i32) -> Exit {
    // SAFETY: the lesson's forked children have one thread.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            child::die_with_parent();
            let c = f();
            child::exit_now(c)
        }
        Ok(ForkResult::Parent { child }) => child::wait_exit(child).unwrap_or(Exit::Code(1)),
        Err(e) => {
            emit(&failed("fork", e));
            Exit::Code(1)
        }
    }
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("({path}: {e})"))
}

/// The names in a directory, sorted, or `(nothing)`.
fn names(dir: &Path) -> String {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    n.sort();
    if n.is_empty() {
        "(nothing)".into()
    } else {
        n.join(" ")
    }
}

fn mount_mqueue(at: &Path) -> std::result::Result<(), String> {
    mount(
        Some("learn-containers"),
        at,
        Some("mqueue"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| failed(&format!("mount(mqueue, \"{}\")", at.display()), e))
}

/// Step 1, in a child: an IPC namespace of the lesson's own with a queue, a new one below
/// it, and a POSIX queue seen through an mqueue mount in each.
pub(super) fn ipc_step(key: i32, mq_out: &Path, mq_in: &Path) -> i32 {
    if let Err(e) = unshare(CloneFlags::CLONE_NEWIPC) {
        emit(&failed("unshare(CLONE_NEWIPC)", e));
        return 1;
    }
    if let Err(e) = ns::private_mount_namespace() {
        emit(&e.to_string());
        return 1;
    }
    let id = match sysvipc::make_queue(key) {
        Ok(id) => id,
        Err(e) => {
            emit(&e.to_string());
            return 1;
        }
    };
    for l in read("/proc/sysvipc/msg").lines().skip(1) {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() >= 5 {
            emit(&format!(
                "outer key {} msqid {} perms {} cbytes {} qnum {}",
                f[0], f[1], f[2], f[3], f[4]
            ));
        }
    }
    let inner = in_child(|| {
        if let Err(e) = unshare(CloneFlags::CLONE_NEWIPC) {
            emit(&failed("unshare(CLONE_NEWIPC)", e));
            return 1;
        }
        let queues = sysvipc::parse_msg(&read("/proc/sysvipc/msg"));
        emit(&format!("inner-count {}", queues.len()));
        let name = CString::new("/learn-containers").expect("no NUL");
        // SAFETY: a NUL-terminated name, flags, a mode and a null attr pointer, as
        // mq_open(3) takes them with O_CREAT; the descriptor is closed at once.
        let mq = unsafe {
            libc::mq_open(
                name.as_ptr(),
                libc::O_CREAT | libc::O_RDWR,
                0o600 as libc::mode_t,
                std::ptr::null::<libc::mq_attr>(),
            )
        };
        if mq < 0 {
            emit(&format!(
                "mq-inner mq_open failed: {}",
                nix::errno::Errno::last()
            ));
            return 0;
        }
        // SAFETY: mq is the descriptor mq_open just returned.
        unsafe { libc::mq_close(mq) };
        match mount_mqueue(mq_in) {
            Ok(()) => emit(&format!("mq-inner {}", names(mq_in))),
            Err(e) => emit(&format!("mq-inner {e}")),
        }
        0
    });
    if inner != Exit::Code(0) {
        return 1;
    }
    match mount_mqueue(mq_out) {
        Ok(()) => emit(&format!("mq-outer {}", names(mq_out))),
        Err(e) => emit(&format!("mq-outer {e}")),
    }
    let _ = sysvipc::remove_queue(id);
    0
}

/// Step 2, in a child: /proc/self/cgroup at the start, after joining the cgroup whose
/// cgroup.procs is `procs`, and after unshare(CLONE_NEWCGROUP); the host's hierarchy at
/// `hierarchy`, and a cgroup filesystem mounted from inside at `view`.
pub(super) fn cgroup_step(
    procs: &Path,
    hierarchy: &Path,
    fstype: &str,
    options: &str,
    view: &Path,
) -> i32 {
    let say = |key: &str| {
        for l in read("/proc/self/cgroup").lines() {
            emit(&format!("{key} {l}"));
        }
    };
    say("before");
    if let Err(e) = std::fs::write(procs, "0") {
        emit(&format!("writing 0 to {}: {e}", procs.display()));
        return 1;
    }
    say("joined");
    if let Err(e) = unshare(CloneFlags::CLONE_NEWCGROUP) {
        emit(&failed("unshare(CLONE_NEWCGROUP)", e));
        return 1;
    }
    say("unshared");
    let ours = hierarchy.join(crate::kernel::cgroup::OURS).is_dir();
    emit(&format!(
        "sysfs {}",
        if ours {
            "still lists learn-containers/: the host's tree, from the host's root"
        } else {
            "(no learn-containers/ there)"
        }
    ));
    if let Err(e) = ns::private_mount_namespace() {
        emit(&format!("remounted {e}"));
        return 0;
    }
    let data = (!options.is_empty()).then_some(options);
    match mount(
        Some("learn-containers"),
        view,
        Some(fstype),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        data,
    ) {
        Ok(()) => {
            let dirs = std::fs::read_dir(view)
                .map(|rd| rd.flatten().filter(|e| e.path().is_dir()).count())
                .unwrap_or(0);
            emit(&format!(
                "remounted its root is the namespace's: {dirs} child cgroup(s), no learn-containers/ (cgroup.procs lists this process)"
            ));
        }
        Err(e) => emit(&format!(
            "remounted {}",
            failed(&format!("mount({fstype}, \"{}\")", view.display()), e)
        )),
    }
    0
}

/// CLOCK_BOOTTIME, CLOCK_MONOTONIC, CLOCK_REALTIME and /proc/uptime, in seconds.
fn readings() -> (f64, f64, f64, f64) {
    let (boot, mono) = timens::clocks().unwrap_or_default();
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (
        boot.as_secs_f64(),
        mono.as_secs_f64(),
        real.as_secs_f64(),
        timens::uptime().unwrap_or(0.0),
    )
}

/// Step 3, in a child: a time namespace for its children, its offsets, a child born in
/// it, and a write after that.
pub(super) fn time_step() -> i32 {
    if let Err(e) = unshare(CLONE_NEWTIME) {
        emit(&failed("unshare(CLONE_NEWTIME)", e));
        return 1;
    }
    emit(&format!("time {}", own_link("time")));
    emit(&format!("for-children {}", own_link("time_for_children")));
    if let Err(e) = timens::write_offsets(DAY) {
        emit(&e.to_string());
        return 1;
    }
    for l in timens::read_offsets(None).unwrap_or_default().lines() {
        emit(&format!(
            "offsets {}",
            l.split_whitespace().collect::<Vec<_>>().join(" ")
        ));
    }
    let outside = readings();
    let born = in_child(|| {
        let inside = readings();
        let ahead = |a: f64, b: f64| (a - b).round() as i64;
        emit(&format!("boottime-ahead {}", ahead(inside.0, outside.0)));
        emit(&format!("monotonic-ahead {}", ahead(inside.1, outside.1)));
        emit(&format!("realtime-ahead {}", ahead(inside.2, outside.2)));
        emit(&format!("uptime-ahead {}", ahead(inside.3, outside.3)));
        0
    });
    if born != Exit::Code(0) {
        return 1;
    }
    match timens::write_offsets(DAY * 2) {
        Ok(()) => emit("late-write accepted (it should not be)"),
        Err(e) => emit(&format!("late-write {e}")),
    }
    0
}

/// Step 4, in a child: new namespaces of every kind but user, a child born in them that
/// shows each, then a user namespace last (it takes the privileges the rest need).
pub(super) fn eight(mnt: &Path, lesson: i32) -> i32 {
    let flags = CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWNET
        | CloneFlags::CLONE_NEWCGROUP
        | CLONE_NEWTIME;
    if let Err(e) = unshare(flags) {
        emit(&failed("unshare(all but CLONE_NEWUSER)", e));
        return 1;
    }
    let setup = timens::write_offsets(DAY)
        .map_err(|e| e.to_string())
        .and_then(|()| ns::make_root_private().map_err(|e| e.to_string()));
    if let Err(e) = setup {
        emit(&e);
        return 1;
    }
    let outside = readings();
    let done = in_child(|| {
        emit(&format!(
            "pid getpid() says {}: PID 1 of a new PID namespace",
            nix::unistd::getpid()
        ));
        let at = mnt.display().to_string();
        let mounted = ns::mount_tmpfs(mnt, "size=64k").is_ok();
        let seen_by_lesson = read(&format!("/proc/{lesson}/mountinfo")).contains(&at);
        emit(&format!(
            "mnt a tmpfs at {at}: {} in its mountinfo, {} in the lesson's",
            if mounted { "listed" } else { "NOT" },
            if seen_by_lesson {
                "listed too"
            } else {
                "absent"
            }
        ));
        let _ = nix::unistd::sethostname("lc-eight");
        let name = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        emit(&format!(
            "uts hostname {name}, set inside; the host's is unchanged"
        ));
        let q = sysvipc::parse_msg(&read("/proc/sysvipc/msg")).len();
        emit(&format!("ipc /proc/sysvipc/msg lists {q} queues"));
        let links: Vec<String> = read("/proc/self/net/dev")
            .lines()
            .skip(2)
            .filter_map(|l| Some(l.split(':').next()?.trim().to_owned()))
            .collect();
        emit(&format!("net /proc/self/net/dev: {}", links.join(" ")));
        let cg = read("/proc/self/cgroup");
        let all_root = cg.lines().all(|l| l.ends_with(":/"));
        emit(&format!(
            "cgroup /proc/self/cgroup: {} lines, {}",
            cg.lines().count(),
            if all_root {
                "every one `/`"
            } else {
                "not all `/`"
            }
        ));
        let now = readings();
        emit(&format!(
            "time /proc/uptime {} s ahead of the lesson's",
            (now.3 - outside.3).round() as i64
        ));
        for k in KINDS.iter().filter(|k| **k != "user") {
            emit(&format!("ns-{k} {}", own_link(k)));
        }
        if let Err(e) = unshare(CloneFlags::CLONE_NEWUSER) {
            emit(&failed("unshare(CLONE_NEWUSER)", e));
            return 1;
        }
        emit(&format!(
            "user uid {} here: no uid_map written, so root outside is the overflow uid inside",
            nix::unistd::getuid()
        ));
        emit(&format!("ns-user {}", own_link("user")));
        0
    });
    if done == Exit::Code(0) { 0 } else { 1 }
}
