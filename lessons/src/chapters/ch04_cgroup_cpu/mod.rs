//! Chapter 4 · cgroups: capping CPU at half a core.

pub mod checks;
mod demo;
mod limit;
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
        "Look inside DIR with `ls`: a cgroup v2 directory has cgroup.controllers and cgroup.subtree_control; a v1 cpu cgroup has cpu.cfs_quota_us and cpu.cfs_period_us. `Path::is_file` on DIR.join(name) tells which.",
        "The quota is CPU time per period, both in microseconds: quota = CPUS × 100000, so 0.5 gives 50000 and 0.25 gives 25000. Round it to a whole number; the kernel refuses anything under 1000 with EINVAL.",
        "v2 takes one line, quota first: write \"50000 100000\" to cpu.max. v1 takes two files: write 100000 to cpu.cfs_period_us first, then 50000 to cpu.cfs_quota_us. `std::fs::write` is all you need.",
        "Move CMD, not yourself: after `Command::spawn`, write `child.id()` to the child cgroup's cgroup.procs. Writing `std::process::id()` (or 0) would move your own program, and CMD, already started, would stay outside.",
        "Remove the cgroup with `std::fs::remove_dir` after `child.wait()`. `remove_dir_all` tries to delete the kernel's interface files and fails; EBUSY means a process is still inside.",
    ],
    // Cgroups only: no namespace, no mount.
    quiz: include_str!("../../../../book/src/quiz/ch04.md"),
    needs: &[Need::CpuController],
};
