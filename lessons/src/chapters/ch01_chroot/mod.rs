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
        "Run `ldd /usr/bin/bash` yourself. Every line that shows an absolute path is a file bash needs; the line with `=>` gives the library's path after the arrow, the line without it is the ELF interpreter.",
        "Copy each dependency to the same path inside ROOTFS: /lib64/ld-linux-x86-64.so.2 becomes ROOTFS/lib64/ld-linux-x86-64.so.2. `dep.strip_prefix(\"/\")` turns an absolute path into one you can join onto ROOTFS.",
        "`execve` failing with ENOENT although bin/bash exists means the *interpreter* is missing: the kernel opens the PT_INTERP path before bash's own code ever runs.",
        "For `run`: std::os::unix::fs::chroot(rootfs), then std::env::set_current_dir(\"/\"), then std::os::unix::process::CommandExt::exec. chroot(2) does not change the working directory: without the chdir it still points outside the new root.",
    ],
    quiz: include_str!("../../../../book/src/quiz/ch01.md"),
    needs: &[Need::Root],
};
