//! Chapter 2 · PID namespace: PID 1 and its own /proc.

mod demo;
pub(crate) mod verify;

use crate::catalogue::{Chapter, Exercise, Need};

pub static CHAPTER: Chapter = Chapter {
    number: 2,
    slug: "pid-namespace",
    title: "unshare --pid: PID 1 and its own /proc",
    book_page: "ch02-pid-namespace.md",
    steps: demo::STEPS,
    demo: demo::run,
    exercises: &[Exercise {
        id: "ch02_pid_namespace",
        summary: "run a command as PID 1 of a new PID namespace, with a /proc of its own",
        path: "src/pid_namespace.rs",
        shipped: include_str!("../../../exercises/src/pid_namespace.rs"),
        verify: verify::verify,
    }],
    hints: &[
        "Try it in a shell first: `sudo unshare --pid sh -c 'echo $$'` prints a normal PID, `sudo unshare --pid --fork sh -c 'echo $$'` prints 1. Your program has to do what --fork does.",
        "unshare(CLONE_NEWPID) changes where the caller's *next children* are born; the caller keeps its PID. So: unshare, then fork(); the child is PID 1 and execs CMD, the parent calls waitpid and exits with exit_code(status).",
        "If `echo $$` prints 1 but `ls /proc` shows hundreds of processes, /proc is still the host's: a proc filesystem shows the PID namespace of the process that mounted it. Mount a new one from the child: mount(Some(\"proc\"), \"/proc\", Some(\"proc\"), flags, None).",
        "Mount proc only in a mount namespace of the child's own, made private first: unshare(CLONE_NEWNS), then mount(None, \"/\", None, MS_REC | MS_PRIVATE, None). Without the namespace the new proc covers the host's /proc; without MS_PRIVATE it propagates back to a host whose / is shared (systemd).",
        "With --rootfs: chroot_into(dir) after making / private and before mounting proc, so the proc lands at DIR/proc, the /proc inside.",
    ],
    quiz: include_str!("../../../../book/src/quiz/ch02.md"),
    needs: &[Need::Root],
};
