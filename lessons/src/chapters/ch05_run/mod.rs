//! Chapter 5 · run: one container from the four primitives.

mod demo;
mod observe;
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
        "Start from your own chapters: create_cgroup is chapter 4's mkdir and limit; run is chapter 2's run (unshare(CLONE_NEWPID), fork, waitpid) plus an rmdir of the cgroup at the end; be_pid1 is chapter 2's be_pid1 with pivot_into where chroot_into was, and a few more steps.",
        "Order inside be_pid1: write \"0\" to the cgroup's cgroup.procs first (\"0\" moves the writer itself; after pivot_root /sys/fs/cgroup is out of reach, and after exec it is too late for what CMD forks), then unshare(CLONE_NEWNS | CLONE_NEWUTS), MS_REC|MS_PRIVATE on /, pivot_into, proc at /proc, tmpfs at /tmp, sethostname, exec.",
        "Why CLONE_NEWNS in the child and not in the parent: pivot_root moves the root of every process of the mount namespace that had the old root. If the parent shared it, it would lose the host's files too, and its rmdir of the cgroup would fail with ENOENT.",
        "pivot_root(2) refuses a new root that is not a mount point (EBUSY or EINVAL): mount(Some(dir), dir, None, MS_BIND | MS_REC, None) makes DIR one. It also answers EINVAL while / is shared, which is why / must be made private first.",
        "pivot_root(\".\", \".\") after chdir(DIR) stacks the old root on top of the new one; umount2(\".\", MntFlags::MNT_DETACH) then takes the whole host tree out of the namespace, and chdir(\"/\") lands in the new root. If the verifier says `nsenter` lands at the host's /, you used chroot, or never detached the old root.",
        "If the verifier says the hostname outside changed: sethostname ran before unshare(CLONE_NEWUTS), in the namespace the program started in. If it says the burner is outside the cgroup: CMD was moved after it forked; join before exec.",
    ],
    quiz: include_str!("../../../../book/src/quiz/ch05.md"),
    needs: &[Need::Root, Need::CpuController],
};
