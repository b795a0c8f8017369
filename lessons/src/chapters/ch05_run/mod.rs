//! Chapter 5 · run: one container from the four primitives.

mod demo;
mod observe;
mod stages;
pub mod verify;

use crate::catalogue::{Chapter, Exercise, Need};

pub static CHAPTER: Chapter = Chapter {
    number: 5,
    slug: "run",
    title: "run: one container from the four primitives",
    book_page: "ch05-run.md",
    steps: demo::STEPS,
    demo: demo::run,
    exercises: &[Exercise {
        id: "ch05_run",
        summary: "compose chapters 1-4: cgroup, PID + mount + UTS namespaces, pivot_root, /proc, hostname, exec",
        path: "src/bin/ch05_run.rs",
        shipped: include_str!("../../../exercises/src/bin/ch05_run.rs"),
        verify: verify::verify,
    }],
    hints: &[
        "Which steps must run in PID 1, and which in the parent? pivot_root changes the root of every process of the mount namespace that had the old one: who may share it? A process stays in the cgroup it was born in: when must PID 1 join? And which namespace does sethostname rename?",
        "Book: \"The order matters\" (its table is the whole program) and \"pivot_root, not chroot\". Man pages: man 2 pivot_root (ERRORS, and NOTES: \"pivot_root(\".\", \".\")\"), man 2 umount (MNT_DETACH), man 7 uts_namespaces, man 2 sethostname, man 7 cgroups (\"Creating cgroups and moving processes\").",
        "The shape: `run` is three calls of your own library, `cgroup_cpu::create`, `pid_namespace::run_as_pid1(|| be_pid1(a, &cgroup))` and `cgroup_cpu::remove`, the last whatever the second returned. `prepare` is seven steps, each ending in `?`: a join, a mount namespace, a UTS namespace, pivot_into, two mounts, a hostname. `pivot_into` is five calls: a bind mount, chdir, pivot_root, umount2, chdir.",
        "pivot_root says EBUSY: DIR is not a mount point (the bind mount is missing); EINVAL: / is still shared. The verifier's `nsenter` lands at the host's /: chroot instead of pivot_root, or the old root was never detached. The hostname outside changed: sethostname ran before unshare(CLONE_NEWUTS). The burner is outside the cgroup: the join came after exec. rmdir fails with ENOENT: the parent made the mount namespace.",
        "The answer. prepare: `cgroup_cpu::join(cgroup)?; pid_namespace::private_mount_namespace()?;` `unshare(CloneFlags::CLONE_NEWUTS)`, `pivot_into(&a.rootfs)?; pid_namespace::mount_proc()?;` `mount(Some(\"tmpfs\"), \"/tmp\", Some(\"tmpfs\"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, None::<&str>)`, `sethostname(&a.hostname)`. pivot_into: `mount(Some(dir), dir, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)`, `chdir(dir)`, `pivot_root(\".\", \".\")`, `umount2(\".\", MntFlags::MNT_DETACH)`, `chdir(\"/\")`.",
    ],
    quiz: include_str!("../../../../book/src/quiz/ch05.md"),
    needs: &[Need::Root, Need::CpuController],
};
