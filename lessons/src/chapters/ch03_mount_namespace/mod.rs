//! Chapter 3 · mount namespace: a tmpfs nobody else sees.

mod demo;
mod verify;

use crate::catalogue::{Chapter, Exercise, Need};

pub static CHAPTER: Chapter = Chapter {
    number: 3,
    slug: "mount-namespace",
    title: "unshare --mount: a tmpfs nobody sees",
    book_page: "ch03-mount-namespace.md",
    steps: demo::STEPS,
    demo: demo::run,
    exercises: &[Exercise {
        id: "ch03_mount_namespace",
        summary: "mount a tmpfs in a private mount namespace of its own; the host must not see it",
        path: "src/bin/ch03_mount_namespace.rs",
        shipped: include_str!("../../../exercises/src/bin/ch03_mount_namespace.rs"),
        verify: verify::verify,
    }],
    hints: &[
        "Try the seed's commands first: `sudo unshare --mount bash`, then `mkdir -p /tmp/t; mount -t tmpfs x /tmp/t; grep /tmp/t /proc/self/mountinfo`; in another terminal, grep the host's mountinfo for /tmp/t.",
        "Two calls make the namespace: nix::sched::unshare(CloneFlags::CLONE_NEWNS), then nix::mount::mount(None::<&str>, \"/\", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>).",
        "If the verifier says the tmpfs propagated: your namespace's / still shows shared:N in /proc/PID/mountinfo. That is the peer group it shares with the host (systemd makes / shared). MS_PRIVATE cuts it; MS_REC does the same for every mount below /.",
        "The tmpfs itself: mount(Some(\"learn-containers\"), path, Some(\"tmpfs\"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some(\"size=1m\")). The source is only a label in mountinfo.",
    ],
    quiz: include_str!("../../../../book/src/quiz/ch03.md"),
    needs: &[Need::Root],
};
