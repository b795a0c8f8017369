//! Chapter 6 · User namespace: root inside, nobody outside.

mod demo;
mod observe;
mod steps;
pub mod verify;

use crate::catalogue::{Chapter, Exercise, Need};

pub static CHAPTER: Chapter = Chapter {
    number: 6,
    slug: "user-namespace",
    title: "unshare --user: root inside, nobody outside",
    book_page: "ch06-user-namespace.md",
    steps: demo::STEPS,
    demo: demo::run,
    exercises: &[Exercise {
        id: "ch06_user_namespace",
        summary: "run a command as uid 0 of a new user namespace, mapped to your own uid and gid, without root",
        path: "src/user_namespace.rs",
        shipped: include_str!("../../../exercises/src/user_namespace.rs"),
        verify: verify::verify,
    }],
    hints: &[
        "Run `unshare --user bash` as yourself and type `id`: why does it say 65534, and why does `touch /tmp/x` then make a file that is yours on the host? Which uid does getuid() give just after unshare(CLONE_NEWUSER), and what may a process with no privilege write into uid_map, gid_map and setgroups, in which order?",
        "Book: \"A user namespace with no map yet\" and \"Writing the maps\". Man pages: man 7 user_namespaces (\"Defining user and group ID mappings: writing to uid_map and gid_map\", \"The /proc/pid/setgroups file\", \"Unmapped user and group IDs\"), man 2 unshare (CLONE_NEWUSER), and man 7 capabilities (\"Transformation of capabilities during execve()\") for why the maps must come before exec.",
        "The shape: `root_in_new_user_namespace` is five steps in one process, the child, before it execs: getuid() and getgid() (nix::unistd), then unshare(CloneFlags::CLONE_NEWUSER), then three calls of the given write_proc_self: \"deny\" into setgroups, a one-line map into uid_map, a one-line map into gid_map. Each error goes back with `?`; the messages already name the file.",
        "What the verifier's messages mean. `EPERM on gid_map`: setgroups was not \"deny\" yet. `EPERM on uid_map`: the line mapped more than one id, or an id that is not yours (65534 is what getuid() says after unshare: ask before). `CMD started as uid 65534 ... written after CMD had exec'd`: the maps came after exec; exec as an unmapped uid also cost CMD every capability (CapEff 0). The verifier runs your program as an unprivileged uid, so root's privileges never hide a mistake.",
        "The answer. `let (uid, gid) = (getuid(), getgid());` then `unshare(CloneFlags::CLONE_NEWUSER).map_err(|e| format!(\"unshare(CLONE_NEWUSER): {e}\"))?;` then `write_proc_self(\"setgroups\", \"deny\")?; write_proc_self(\"uid_map\", &format!(\"0 {uid} 1\"))?; write_proc_self(\"gid_map\", &format!(\"0 {gid} 1\"))` as the function's last expression.",
    ],
    quiz: include_str!("../../../../book/src/quiz/ch06.md"),
    // Made by the chapter itself, as the user (root drops to an unprivileged uid): no
    // namespace is entered for it first, and it needs no cgroup.
    needs: &[Need::UnprivilegedUserNamespaces],
};
