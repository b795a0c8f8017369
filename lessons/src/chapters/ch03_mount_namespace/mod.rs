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
        "`sudo unshare --mount bash`, then `mkdir -p /tmp/t; mount -t tmpfs x /tmp/t`: the host does not see /tmp/t, because unshare(1) makes every mount private for you (--propagation). Your program calls unshare(2), which does not. What does the `shared:N` field on the / line of the host's /proc/self/mountinfo mean for a mount table copied from it?",
        "Book: \"A mount table of its own\" and \"Propagation: the trap\". Man pages: man 2 unshare (CLONE_NEWNS), man 7 mount_namespaces (SHARED SUBTREES), man 2 mount (\"Changing the propagation type of an existing mount\" and \"Creating a new mount\"), man 5 tmpfs (\"Mount options\").",
        "The shape: `private_mount_namespace` is two calls, unshare with CLONE_NEWNS, then a mount(2) that only changes propagation: it takes a target and flags, and None for the source, the type and the data. `mount_tmpfs` is one mount(2) with all five parts: a label as the source, PATH, the type \"tmpfs\", flags, and options as the data.",
        "If the verifier's first run passes and its second (with the sandbox's / shared) says the tmpfs propagated: your namespace's / still shows shared:N in /proc/PID/mountinfo, the peer group it shares with the host. MS_PRIVATE takes / out of it; MS_REC does the same for every mount below /.",
        "The answer. private_mount_namespace: `unshare(CloneFlags::CLONE_NEWNS)`, then `mount(None::<&str>, \"/\", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)`. mount_tmpfs: `mount(Some(\"learn-containers\"), path, Some(\"tmpfs\"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some(\"size=1m\"))`. Each error mapped to a message that names the call.",
    ],
    quiz: include_str!("../../../../book/src/quiz/ch03.md"),
    needs: &[Need::Root],
};
