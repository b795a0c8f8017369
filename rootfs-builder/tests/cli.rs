//! Tier 1: the rootfs-builder binary's output and exit codes.

mod common;

use std::process::{Command, Output};

use common::tempdir;

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rootfs-builder"))
        .args(args)
        .output()
        .expect("run rootfs-builder")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One line, `error: ...`, and the expected exit code.
fn assert_error(out: &Output, code: i32, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{err}");
}

#[test]
fn builds_bash_by_default_and_explains_every_file() {
    let root = tempdir();
    let dir = root.path().join("rootfs");
    let out = run(&[dir.as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<_> = stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  bin/bash ") && l.contains(" — the program you asked for")),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.trim_start().starts_with("lib64/") && l.contains("PT_INTERP")),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.trim_start().starts_with("etc/passwd ")),
        "{stdout}"
    );
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("Built ") && last.contains(" files, ") && last.contains("chroot"),
        "{last}"
    );
    assert!(dir.join("bin/bash").is_file());
    // No progress bar when stderr is not a terminal.
    assert_eq!(stderr(&out), "");
}

#[test]
fn quiet_and_no_skeleton() {
    let root = tempdir();
    let out = run(&[
        root.path().as_os_str(),
        "--quiet".as_ref(),
        "--no-skeleton".as_ref(),
        "--bin".as_ref(),
        "ls".as_ref(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(root.path().join("bin/ls").is_file());
    assert!(!root.path().join("bin/bash").exists());
    assert!(!root.path().join("proc").exists());
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let root = tempdir();
    let dir = root.path().join("rootfs");
    let missing = run(&[
        dir.as_os_str(),
        "--bin".as_ref(),
        "learn-containers-no-such-program".as_ref(),
    ]);
    assert_error(&missing, 2, "not found");

    let slash = run(&["/".as_ref()]);
    assert_error(&slash, 2, "refusing");

    let script = root.path().join("s.sh");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    let not_elf = run(&[dir.as_os_str(), "--bin".as_ref(), script.as_os_str()]);
    assert_error(&not_elf, 2, "not an ELF program");

    std::fs::write(root.path().join("precious"), "x").unwrap();
    let foreign = run(&[root.path().as_os_str()]);
    assert_error(&foreign, 2, "not empty");

    let usage = run(&[]);
    assert_eq!(usage.status.code(), Some(2));
}
