//! Tier 2: the built rootfs really runs under chroot. Needs root.

mod common;

use std::process::Command;

use common::{opts, require_root, tempdir};
use rootfs_builder::{build, plan};

fn chroot(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    // chroot(1) forks nothing itself but runs in a child of the test, so the
    // test process never changes its own root.
    // Resolved on the host: PATH below is the one bash sees inside the rootfs.
    let chroot = rootfs_builder::resolve_binary("chroot").expect("chroot(1) from coreutils");
    Command::new(chroot)
        .arg(dir)
        .args(args)
        .env_clear()
        .env("PATH", "/bin")
        .output()
        .expect("run chroot(1)")
}

#[test]
fn bash_and_ls_run_inside_the_chroot() {
    if !require_root("bash_and_ls_run_inside_the_chroot") {
        return;
    }
    let root = tempdir();
    let plan = plan(&opts(&["bash", "ls"], true)).unwrap();
    build(root.path(), &plan, &mut |_| {}).unwrap();
    let out = chroot(root.path(), &["/bin/bash", "-c", "ls / && echo ok"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chroot failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.lines().any(|l| l == "bin"), "{stdout}");
    assert!(stdout.lines().any(|l| l == "lib64"), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("ok"), "{stdout}");
}

#[test]
fn without_the_interpreter_exec_fails_with_enoent() {
    if !require_root("without_the_interpreter_exec_fails_with_enoent") {
        return;
    }
    // The lesson the interpreter's `why` teaches, checked for real.
    let root = tempdir();
    let mut plan = plan(&opts(&["bash"], false)).unwrap();
    plan.entries.retain(|e| !e.why.contains("PT_INTERP"));
    build(root.path(), &plan, &mut |_| {}).unwrap();
    let out = chroot(root.path(), &["/bin/bash", "-c", "echo ok"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("No such file or directory"), "{stderr}");
}

#[test]
fn a_static_binary_runs_alone_in_a_chroot() {
    if !require_root("a_static_binary_runs_alone_in_a_chroot") {
        return;
    }
    let work = tempdir();
    let Some(bin) = common::require_static("a_static_binary_runs_alone_in_a_chroot", work.path())
    else {
        return;
    };
    let root = tempdir();
    let plan = plan(&opts(&[bin.path.to_str().unwrap()], false)).unwrap();
    build(root.path(), &plan, &mut |_| {}).unwrap();
    let inside = format!("/{}", plan.entries[0].dest.display());
    let mut args = vec![inside.as_str()];
    args.extend(&bin.args);
    let out = chroot(root.path(), &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(bin.expect));
}
