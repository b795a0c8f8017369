//! Chapter 4 · cgroups: capping CPU at half a core.

pub mod checks;
mod demo;
mod limit;
mod neither;
mod observe;
pub mod verify;

use crate::catalogue::{Chapter, Exercise, Need};

pub static CHAPTER: Chapter = Chapter {
    number: 4,
    slug: "cgroups-cpu",
    title: "cgroups: capping CPU at half a core",
    book_page: "ch04-cgroups-cpu.md",
    steps: demo::STEPS,
    demo: demo::run,
    exercises: &[Exercise {
        id: "ch04_cgroup_cpu",
        summary: "create a cgroup, cap a command's CPU with cpu.max (v2) or cpu.cfs_quota_us (v1), remove it",
        path: "src/cgroup_cpu.rs",
        shipped: include_str!("../../../exercises/src/cgroup_cpu.rs"),
        verify: verify::verify,
    }],
    hints: &[
        "`ls` a cgroup on your machine: which files does a v2 cgroup have that a v1 cpu cgroup does not, and the other way round? \"Half a CPU\" is half of what, per how long, in which unit? And which process should write to cgroup.procs so that CMD is in the cgroup before its first instruction?",
        "Book: \"Where cgroups live\", \"The CFS bandwidth model\" and \"The exact files\". Man pages: man 7 cgroups (\"Creating cgroups and moving processes\", \"Removing cgroups\", \"Cgroups v2 subtree control\"); the kernel's cgroup-v2 document (cpu.max) and sched-bwc document (cpu.cfs_quota_us).",
        "The shape: `detect` is `is_file()` on DIR.join(\"cgroup.controllers\") and DIR.join(\"cpu.cfs_quota_us\"), and on v2 a read of cgroup.subtree_control, looking for the word cpu. `set_limit`: quota = CPUS × PERIOD_US, rounded; v2 is one std::fs::write to cpu.max, v1 two writes, period first. `join` is one write to the cgroup's cgroup.procs, done by CMD's own process (start_in calls it after fork, before exec). `remove` is one std::fs::remove_dir.",
        "EINVAL from a write means the kernel refused the value: microseconds, not milliseconds, and never below 1000. \"Permission denied\" or \"No such file\" for cpu.cfs_quota_us means v1 names in a v2 cgroup. EBUSY from rmdir means a live process is still in the cgroup: retrying does not help, find out what is still running. `remove_dir_all` fails, because the kernel's files cannot be deleted.",
        "The answer. set_limit: `let quota = (cpus * PERIOD_US as f64).round() as u64;` then v2: `std::fs::write(cgroup.join(\"cpu.max\"), format!(\"{quota} {PERIOD_US}\"))`; v1: `std::fs::write(cgroup.join(\"cpu.cfs_period_us\"), PERIOD_US.to_string())`, then the quota to cpu.cfs_quota_us. join: `std::fs::write(cgroup.join(\"cgroup.procs\"), \"0\")`: \"0\" moves the writing process. remove: `std::fs::remove_dir(cgroup)`. Every error mapped to a message with the file's name.",
    ],
    // Cgroups only: no namespace, no mount.
    quiz: include_str!("../../../../book/src/quiz/ch04.md"),
    needs: &[Need::CpuController],
};
