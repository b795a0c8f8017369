//! Chapter 9 · Memory and pids: the OOM killer and a fork bomb, stopped by cgroups.

pub mod checks;
mod demo;
mod early;
mod observe;
mod outcome;
mod place;
pub mod verify;

use crate::catalogue::{Chapter, Exercise, Need};

pub static CHAPTER: Chapter = Chapter {
    number: 9,
    slug: "memory-pids",
    title: "cgroups: the OOM killer and a fork bomb, stopped",
    book_page: "ch09-memory-pids.md",
    steps: demo::STEPS,
    demo: demo::run,
    exercises: &[Exercise {
        id: "ch09_memory_pids",
        summary: "cap a command's memory (no swap) and its number of processes, on v1 and v2, and report what the kernel counted",
        path: "src/memory_pids.rs",
        shipped: include_str!("../../../exercises/src/memory_pids.rs"),
        verify: verify::verify,
    }],
    hints: &[
        "`ls` your new cgroup under CGM: which file holds the memory limit, and in which unit? On a v1 host, is pids.max in the same directory as memory.limit_in_bytes? If the host has swap, what does a hog do when it reaches the limit but swap is unlimited? Where does the kernel write down that it killed something, and that it refused a fork?",
        "Book: \"Two limits, two trees\", \"The exact files\" and \"Reading what the kernel counted\". Man pages: man 7 cgroups (\"Cgroups version 1\", \"Cgroups version 2\"); the kernel's cgroup-v2.rst (\"Memory Interface Files\": memory.max, memory.swap.max, memory.events, memory.peak; \"PID Interface Files\": pids.max) and cgroup-v1/memory.rst (memory.limit_in_bytes, memory.memsw.limit_in_bytes, memory.oom_control).",
        "The shape: `set_memory_limit` looks for memory.max in the cgroup (v2) or memory.limit_in_bytes (v1), writes BYTES there with std::fs::write, then, only if the swap file exists, writes it: 0 to memory.swap.max, or BYTES again to memory.memsw.limit_in_bytes. `set_pids_limit` is one write to pids.max of the pids cgroup. `read_report` calls `counter` three times over: oom_kill in memory.events or memory.oom_control, max in pids.events, and reads memory.peak or memory.max_usage_in_bytes when it exists.",
        "What the verifier's messages mean. `the limit held 0`: the kernel got 64 and rounded it to whole pages; BYTES is already in bytes. `swap left unlimited`: on a host with swap the hog swaps instead of dying. `CMD is in CGM/run`: CMD never joined your cgroups and the verifier's ceiling stopped it. `Permission denied` on pids.max under CGM: on v1 pids has its own tree, CGP.",
        "The answer. set_memory_limit: `let (limit, swap, none) = if cgroup.join(\"memory.max\").exists() { (\"memory.max\", \"memory.swap.max\", 0) } else { (\"memory.limit_in_bytes\", \"memory.memsw.limit_in_bytes\", bytes) };` then `std::fs::write(cgroup.join(limit), bytes.to_string())`, and `if cgroup.join(swap).exists()` the same with `none`. set_pids_limit: `std::fs::write(cgroup.join(\"pids.max\"), max.to_string())`. read_report: `Report { oom_kills: counter(&memory.join(events), \"oom_kill\")?, pids_denied: counter(&pids.join(\"pids.events\"), \"max\")?, peak_bytes }`, events being memory.events or memory.oom_control, and peak_bytes the number in memory.peak or memory.max_usage_in_bytes, None when neither exists. Every error mapped to a message with the file's name.",
    ],
    quiz: include_str!("../../../../book/src/quiz/ch09.md"),
    // Cgroups of two controllers, made by root: no namespace, no delegation.
    needs: &[Need::Root, Need::MemoryAndPids],
};
