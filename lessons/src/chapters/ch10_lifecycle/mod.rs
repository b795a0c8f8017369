//! Chapter 10 · The container lifecycle: create, start, pause, resume, kill, delete.

mod demo;
pub mod observe;
pub mod verify;

use crate::catalogue::{Chapter, Exercise, Need};

pub static CHAPTER: Chapter = Chapter {
    number: 10,
    slug: "lifecycle",
    title: "The container lifecycle: create, start, pause, kill, delete",
    book_page: "ch10-lifecycle.md",
    steps: demo::STEPS,
    demo: demo::run,
    exercises: &[Exercise {
        id: "ch10_lifecycle",
        summary: "a small OCI runtime: create a container that waits before exec, start it, pause it with the freezer, and read its state from the kernel",
        path: "src/bin/ch10_lifecycle.rs",
        shipped: include_str!("../../../exercises/src/bin/ch10_lifecycle.rs"),
        verify: verify::verify,
    }],
    hints: &[
        "Between `runc create` and `runc start`, the container's PID 1 exists and sits in its cgroup: what is it doing, and what lets it go on? And when `runc state` says paused or stopped, who told runc: did anyone?",
        "Book: \"Created: a process waiting before exec\", \"The freezer\" and \"Reading the state from the kernel\". Man pages: man 7 fifo (opening a fifo blocks until the other end is opened), man 3 mkfifo, man 2 setsid, man 5 proc (/proc/[pid]/exe and /proc/[pid]/stat, the state letter), and the kernel's cgroup-v2.rst (cgroup.freeze, cgroup.events) and cgroup-v1/freezer-subsystem.rst.",
        "The shape: create_process is mkdir, mkfifo, fork; the child calls setsid(), opens the fifo for writing (it blocks there), writes one byte, execs; the parent writes the child's pid into CG/ID/cgroup.procs and returns it. start opens the fifo for reading, reads one byte, removes it. freeze writes one file, then reads the kernel's report in a loop until it agrees. status reads cgroup.procs and /proc/PID/stat, then the freezer's report, then compares /proc/PID/exe with /proc/self/exe.",
        "What the verifier's messages mean. `CMD had already exec'd` at created: the child did not block on the fifo before exec. `still reported CG/ID freezing`: pause returned after writing the file, before the kernel had frozen every process; wait for `frozen 1` or FROZEN. `state T`: that is SIGSTOP, not the freezer. `killed from outside ... running`: the status came from something you wrote down, not from the kernel.",
        "The answer. In the child: `let _ = setsid(); let mut f = OpenOptions::new().write(true).open(fifo)?; f.write_all(b\"0\")?; child_failed(&exec(cmd))`; in the parent `fs::write(cgroup.join(\"cgroup.procs\"), child.to_string())` then `Ok(child.as_raw())`. start: `File::open(fifo)?.read_exact(&mut [0u8; 1])?; fs::remove_file(fifo)`. freeze: write \"1\"/\"0\" to cgroup.freeze (v2) or FROZEN/THAWED to freezer.state (v1), then loop until cgroup.events has `frozen 1`/`frozen 0` or freezer.state reads the same word. status: not in cgroup.procs or state Z: Stopped; frozen: Paused; read_link(/proc/PID/exe) == read_link(/proc/self/exe): Created; else Running.",
    ],
    quiz: include_str!("../../../../book/src/quiz/ch10.md"),
    // Root: cgroups and the freezer; no user namespace is entered for it.
    needs: &[Need::Root, Need::Freezer],
};
