//! `learn-containers run` without root (tier 2): as an unprivileged user, outside the
//! clone, the CLI enters a user namespace of its own that maps the user to root, and the
//! same container start as root's follows: CMD is uid 0 and PID 1, its devices are bound
//! from the host's (mknod is refused there), and the default rootfs is cached in the
//! user's cache directory. `--cpus` without a delegated cgroup v2 subtree is one line,
//! exit 2. Run as root, the test drops to `nobody` for each command.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{Host, open_dir, privileged, serial, text};

/// A directory anyone may use, removed at the end.
/// `learn-containers ARGS` as nobody, from /, with nothing of the clone in its
/// environment: only HOME (an empty dir of the test's) and PATH.
fn as_nobody(args: &[&str], home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_learn-containers"))
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .current_dir("/")
        .stdin(Stdio::null())
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap()
}

#[test]
fn run_works_without_root_and_outside_the_clone() {
    if !privileged("run_works_without_root_and_outside_the_clone") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let home = open_dir("learn-containers-test-home-");
    let rootfs = open_dir("learn-containers-test-rootfs-");
    let plan = rootfs_builder::plan(&lessons::kernel::container::default_options()).unwrap();
    rootfs_builder::build(rootfs.path(), &plan, &mut |_| {}).unwrap();
    std::fs::set_permissions(rootfs.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

    let r = rootfs.path().to_str().unwrap();
    let out = as_nobody(
        &[
            "run",
            "--rootfs",
            r,
            "--",
            "/bin/sh",
            "-c",
            "id -u; echo $$",
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0\n1\n",
        "{}",
        text(&out)
    );

    // Without --rootfs: the default rootfs, built into the user's cache, owned by them.
    let out = as_nobody(
        &[
            "run",
            "--",
            "/bin/sh",
            "-c",
            "cat /proc/self/uid_map; echo x > /dev/null && echo /dev/null works; touch /etc/x && echo writes stay in the container",
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    let map: Vec<&str> = said.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(map, ["0", "65534", "1"], "{said}");
    assert!(said.contains("/dev/null works"), "{said}");
    assert!(said.contains("writes stay in the container"), "{said}");
    let cache = home.path().join(".cache/learn-containers/default");
    assert!(cache.join("bin/bash").is_file(), "{}", text(&out));
    assert_eq!(std::fs::metadata(&cache).unwrap().uid(), 65534);
    assert!(
        !cache.join("etc/x").exists(),
        "the cached rootfs was written into"
    );

    // A read-only root: the remount keeps the flags the host's mount has locked.
    let out = as_nobody(
        &[
            "run",
            "--rootfs",
            r,
            "--keep-rootfs-readonly",
            "--",
            "/bin/sh",
            "-c",
            "touch /x 2>/dev/null || echo / is read-only; touch /tmp/y && echo /tmp is writable",
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "/ is read-only\n/tmp is writable\n",
        "{}",
        text(&out)
    );

    // --cpus needs a delegated cgroup v2 subtree, which nobody has here.
    let out = as_nobody(
        &["run", "--rootfs", r, "--cpus", "0.5", "--", "/bin/true"],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("Delegate=yes"), "{err}");
    drop((home, rootfs));
    before.assert_same(&Host::snapshot(), "run as nobody");
}
