//! Chapter 1 · chroot: a directory becomes /.

pub(crate) mod demo;
mod verify;

use crate::catalogue::{Chapter, Exercise, Need};

pub static CHAPTER: Chapter = Chapter {
    number: 1,
    slug: "chroot",
    title: "chroot: a directory becomes /",
    book_page: "ch01-chroot.md",
    steps: demo::STEPS,
    demo: demo::run,
    exercises: &[Exercise {
        id: "ch01_chroot",
        summary: "copy a binary with what it needs into a rootfs; chroot into it and exec",
        path: "src/bin/ch01_chroot.rs",
        shipped: include_str!("../../../exercises/src/bin/ch01_chroot.rs"),
        verify: verify::verify,
    }],
    hints: &[
        "Before bash's first instruction runs, the kernel and the loader open other files than /usr/bin/bash. Which ones? Run `ldd /usr/bin/bash`: which of its lines name a file by an absolute path, and what are the other lines? And for `run`: after chroot(2), where is the working directory?",
        "Book: \"What bash needs\" (the three kinds of `ldd` line) and \"An empty directory cannot be a root\". Man pages: man 8 ld.so (the interpreter and how libraries are found), man 2 chroot (DESCRIPTION: what the call changes, and that it leaves the working directory alone).",
        "The shape: `dependencies` keeps, from each line of ldd's output, the one word that is an absolute path: after `=>` for a library, the first word for the interpreter, nothing for linux-vdso. `build` copies each to ROOTFS joined with the path without its leading `/` (`Path::strip_prefix`). `run` is three calls: chroot, chdir, exec.",
        "If the verifier's bash fails with ENOENT although ROOTFS/bin/bash exists, the *interpreter* is missing: the kernel opens the PT_INTERP path (/lib64/ld-linux-x86-64.so.2) before bash's own code runs. If /proc/PID/cwd is outside the rootfs, the chdir is missing.",
        "The answer. dependencies: for each line, `line.split_once(\"=>\")` gives the library's path as the first word after the arrow; without an arrow, take the line's first word; keep it if it starts with `/`. build: `copy_file(&dep, &rootfs.join(dep.strip_prefix(\"/\").unwrap()))`. run: `std::os::unix::fs::chroot(rootfs)`, then `std::env::set_current_dir(\"/\")`, then `Command::new(cmd).args(args).exec()` (std::os::unix::process::CommandExt), whose error is what you return.",
    ],
    quiz: include_str!("../../../../book/src/quiz/ch01.md"),
    needs: &[Need::Root],
};
