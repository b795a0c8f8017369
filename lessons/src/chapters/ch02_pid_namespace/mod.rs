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
        "Why does `sudo unshare --pid sh -c 'echo $$'` print an ordinary PID, when `sudo unshare --pid --fork sh -c 'echo $$'` prints 1? Which process does unshare(CLONE_NEWPID) put in the new namespace? And once CMD is PID 1, whose processes does the /proc it inherited list?",
        "Book: \"PID 1 only for the children\" and \"A /proc of its own\". Man pages: man 2 unshare (CLONE_NEWPID), man 7 pid_namespaces (\"/proc and PID namespaces\"), man 2 fork, man 2 waitpid, man 2 mount and man 5 proc.",
        "The shape: `run_as_pid1` is unshare(CloneFlags::CLONE_NEWPID), then fork() (an unsafe call in nix); the child calls `child_failed(&pid1())`, the parent calls `waitpid(child, None)` until the child has exited or was killed and returns `exit_code(status)`. `be_pid1` is four steps, each returning its error as the message: private_mount_namespace(), chroot_into(dir) when there is a rootfs, mount_proc(), and exec(cmd). `mount_proc` is one nix::mount::mount call with a source, a target, a type and flags.",
        "If `echo $$` prints 1 but `ls /proc` lists hundreds of processes, /proc is still the host's: mount_proc must run in the child, after private_mount_namespace. With --rootfs, chroot first and mount proc after, so that it lands at DIR/proc, the /proc inside. If the verifier says a proc appeared outside CMD's mount namespace, the mount came before private_mount_namespace().",
        "The answer. mount_proc: `mount(Some(\"proc\"), \"/proc\", Some(\"proc\"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC, None::<&str>)`, its error mapped to a message. run_as_pid1: `unshare(...)?`, then match on the fork (an `unsafe` call, with a `// SAFETY:` comment): `ForkResult::Child => child_failed(&pid1()), ForkResult::Parent { child } => loop { match waitpid(child, None) { Ok(s @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => return Ok(exit_code(s)), Ok(_) | Err(Errno::EINTR) => continue, Err(e) => return Err(...) } }`.",
    ],
    quiz: include_str!("../../../../book/src/quiz/ch02.md"),
    needs: &[Need::Root],
};
