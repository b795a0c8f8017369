//! Chapter 8 · IPC, cgroup and time namespaces: the last three, and all eight observed.

mod demo;
mod observe;
mod tour;
pub mod verify;

use crate::catalogue::{Chapter, Exercise, Need};

pub static CHAPTER: Chapter = Chapter {
    number: 8,
    slug: "ipc-cgroup-time",
    title: "unshare --ipc --cgroup --time: the last three namespaces",
    book_page: "ch08-ipc-cgroup-time.md",
    steps: demo::STEPS,
    demo: demo::run,
    exercises: &[Exercise {
        id: "ch08_more_namespaces",
        summary: "run a command in its own cgroup and in new IPC, cgroup and time namespaces, its clocks ahead by SECONDS",
        path: "src/more_namespaces.rs",
        shipped: include_str!("../../../exercises/src/more_namespaces.rs"),
        verify: verify::verify,
    }],
    hints: &[
        "Run `unshare --cgroup cat /proc/self/cgroup` in a shell, then `unshare --time --boottime 86400 cat /proc/uptime`: why does the first show `/` although you did not move, and why does `unshare --time` without `--fork` still work? Which cgroup is a cgroup namespace rooted at, and which process enters the time namespace that unshare(CLONE_NEWTIME) makes?",
        "Book: \"The cgroup namespace: join first, then unshare\" and \"The time namespace: offsets before anyone enters\". Man pages: man 7 cgroup_namespaces (the namespace root is the caller's cgroup at unshare time), man 7 time_namespaces (\"Clock offsets\": /proc/PID/timens_offsets is writable only while no process is in the namespace), man 7 ipc_namespaces, man 2 unshare (CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWTIME).",
        "The shape: in the parent, before fork: unshare(CLONE_NEWTIME) and set_time_offsets(offset), one write of two lines, `monotonic S 0` and `boottime S 0`. Then fork. In the child, before exec: chapter 4's join(cgroup), then unshare(CLONE_NEWIPC | CLONE_NEWCGROUP), then exec. The parent returns wait_for(child).",
        "What the verifier's messages mean. `EACCES on timens_offsets`: a process was already in the time namespace (the child, born in it at fork): write before fork. CMD sees `/learn-containers/...` or `/../...` inside: the cgroup namespace was made before the join, or the parent moved the child after fork. `/proc/uptime` not ahead though monotonic is: only CLOCK_MONOTONIC was offset; uptime counts CLOCK_BOOTTIME. The verifier's queue in CMD's /proc/sysvipc/msg: no CLONE_NEWIPC.",
        "The answer. `unshare(CLONE_NEWTIME).map_err(|e| format!(\"unshare(CLONE_NEWTIME): {e}\"))?; set_time_offsets(offset)?;` then a fork as chapter 4's start_in does it, with, in the child, `cgroup_cpu::join(cgroup)`, `unshare(CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_NEWCGROUP)` (each error to child_failed) and `child_failed(&exec(cmd))`, and in the parent `wait_for(child)`. set_time_offsets: `std::fs::write(\"/proc/self/timens_offsets\", format!(\"monotonic {offset} 0\\nboottime {offset} 0\\n\"))` with its error mapped to a String.",
    ],
    quiz: include_str!("../../../../book/src/quiz/ch08.md"),
    // Namespaces and a cgroup together: root (a cgroup in the cpu hierarchy, as chapter
    // 5); and a kernel with time namespaces.
    needs: &[Need::Root, Need::CpuController, Need::TimeNamespaces],
};
