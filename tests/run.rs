//! `learn-containers run`: bad arguments are refused with exit 2 before anything is made
//! (tier 1, any machine); with root (tier 2), CMD is PID 1 with the hostname it asked for
//! while the host keeps its own, CMD's exit status comes back, --cpus caps it in a cgroup
//! that is gone afterwards, --memory and --pids too (and the OOM killer is named), SIGTERM reaches CMD, the default rootfs is built once, the
//! container has a /dev and never writes into its rootfs (but with --rw), and nothing is
//! left on the host.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Host, cli, privileged, serial, state_dir, text};

fn rootfs() -> tempfile::TempDir {
    common::built_rootfs()
}

fn run(rootfs: &Path, args: &[&str], state: &Path) -> Output {
    let r = rootfs.display().to_string();
    let mut all = vec!["run", "--rootfs", &r];
    all.extend_from_slice(args);
    cli(&all, state)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn bad_cpus_and_hostnames_exit_2_with_a_reason() {
    // Its children would show up in the host snapshots of the tier-2 tests.
    let _turn = serial();
    let state = state_dir();
    let many = (lessons::kernel::cgroup::host_cpus() + 1).to_string();
    for (cpus, why) in [
        ("0", "more than 0"),
        ("-1", "more than 0"),
        ("NaN", "not a finite number"),
        ("inf", "not a finite number"),
        ("0.001", "smallest quota"),
        (many.as_str(), "this machine has"),
    ] {
        let out = cli(&["run", "--cpus", cpus, "--", "true"], state.path());
        let said = text(&out);
        assert_eq!(out.status.code(), Some(2), "--cpus {cpus}: {said}");
        assert!(said.contains("--cpus"), "--cpus {cpus}: {said}");
        assert!(said.contains(why), "--cpus {cpus}: {said}");
    }
    let out = cli(&["run", "--cpus", "half", "--", "true"], state.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    for name in ["", "-box", "a b", &"x".repeat(65)] {
        let flag = format!("--hostname={name}");
        let out = cli(&["run", &flag, "--", "true"], state.path());
        assert_eq!(out.status.code(), Some(2), "{name:?}: {}", text(&out));
        assert!(text(&out).contains("--hostname"), "{}", text(&out));
    }
    for (flag, value, why) in [
        ("--memory", "64T", "the unit must be"),
        ("--memory", "lots", "not a size"),
        ("--memory", "512k", "at least 1M"),
        ("--pids", "0", "at least 1"),
    ] {
        let out = cli(&["run", flag, value, "--", "true"], state.path());
        let said = text(&out);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {said}");
        assert!(said.contains(why), "{flag} {value}: {said}");
    }
    // CMD is required, after --.
    let out = cli(&["run"], state.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn cmd_is_pid_1_with_its_own_hostname_and_the_host_keeps_its_own() {
    if !privileged("cmd_is_pid_1_with_its_own_hostname") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let host_name = nix::unistd::gethostname().unwrap();
    let r = rootfs();
    let state = state_dir();
    let out = run(
        r.path(),
        &[
            "--hostname",
            "box",
            "--",
            "sh",
            "-c",
            "echo pid $$; hostname; ls /proc | grep -c '^[0-9]'; cat /proc/self/mountinfo",
        ],
        state.path(),
    );
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines[0], "pid 1", "{said}");
    assert_eq!(lines[1], "box", "{said}");
    // sh, and ls and grep, in a /proc of the container's own.
    assert!(lines[2].parse::<u32>().unwrap() <= 3, "{said}");
    // The rootfs (an overlay), a /dev (its devices made with mknod as root, not mounts)
    // and a /tmp, both from the overlay's tmpfs, then /proc; nothing else of the host's.
    let mounts: Vec<&&str> = lines[3..].iter().collect();
    let points: Vec<&str> = mounts
        .iter()
        .filter_map(|l| l.split_whitespace().nth(4))
        .collect();
    assert_eq!(
        points,
        ["/", "/dev", "/dev/pts", "/dev/shm", "/tmp", "/proc"],
        "{said}"
    );
    assert!(mounts[0].contains(" - overlay "), "{said}");
    assert_eq!(nix::unistd::gethostname().unwrap(), host_name);
    before.assert_same(&Host::snapshot(), "learn-containers run");
}

#[test]
fn cmds_exit_status_comes_back() {
    if !privileged("cmds_exit_status_comes_back") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let r = rootfs();
    let state = state_dir();
    let out = run(r.path(), &["--", "/bin/sh", "-c", "exit 42"], state.path());
    assert_eq!(out.status.code(), Some(42), "{}", text(&out));
    // A child killed by a signal: 128 + N, as a shell reports it.
    let out = run(
        r.path(),
        &["--", "/bin/sh", "-c", "sh -c 'kill -9 $$'; exit $?"],
        state.path(),
    );
    assert_eq!(out.status.code(), Some(137), "{}", text(&out));
    let out = run(r.path(), &["--", "/bin/nothere"], state.path());
    assert_eq!(out.status.code(), Some(127), "{}", text(&out));
    assert!(text(&out).contains("ENOENT"), "{}", text(&out));
    let out = run(r.path(), &["--", "nothere"], state.path());
    assert_eq!(out.status.code(), Some(127), "{}", text(&out));
    assert!(text(&out).contains("looked in"), "{}", text(&out));
    before.assert_same(&Host::snapshot(), "learn-containers run with failures");
}

/// Starts `run FLAGS -- sh` that prints its /proc/self/cgroup and waits for its stdin to
/// close: the learn-containers process, the container's PID 1 (as the host numbers it),
/// and what CMD read of its cgroups.
fn held(rootfs: &Path, state: &Path, flags: &[&str]) -> (std::process::Child, i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_learn-containers"))
        .arg("run")
        .args(flags)
        .arg("--rootfs")
        .arg(rootfs)
        .args([
            "--",
            "sh",
            "-c",
            "cat /proc/self/cgroup; echo ready; read x; exit 0",
        ])
        .env("LEARN_CONTAINERS_STATE", state)
        .env("LEARN_CONTAINERS_EXERCISES", state.join("exercises"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut inside = String::new();
    loop {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "{inside}");
        if line.trim() == "ready" {
            break;
        }
        inside.push_str(&line);
    }
    let cli = child.id() as i32;
    let parent = lessons::kernel::procfs::children(cli)[0];
    let pid1 = lessons::kernel::procfs::children(parent)[0];
    (child, pid1, inside)
}

#[test]
fn cpus_caps_cmd_in_a_cgroup_that_is_gone_afterwards() {
    if !privileged("cpus_caps_cmd_in_a_cgroup_that_is_gone_afterwards") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let r = rootfs();
    let state = state_dir();
    // CMD sees `/` in its cgroup namespace (chapter 8): where it is, the host reads.
    let (mut child, pid1, inside) = held(r.path(), state.path(), &["--cpus", "0.5"]);
    let fs = lessons::kernel::cgroup::CgroupFs::detect().unwrap();
    let dir = fs.cgroup_of(pid1, "cpu").unwrap();
    assert!(
        dir.to_string_lossy().contains("/learn-containers/run-"),
        "{}",
        dir.display()
    );
    assert!(
        inside.lines().all(|l| l.ends_with(":/")),
        "inside, its cgroup namespace's root: {inside}"
    );
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    assert!(!dir.exists(), "{} is left behind", dir.display());
    before.assert_same(&Host::snapshot(), "learn-containers run --cpus");
}

#[test]
fn memory_and_pids_cap_cmd_and_the_oom_killer_is_named() {
    if !privileged("memory_and_pids_cap_cmd_and_the_oom_killer_is_named") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let r = rootfs();
    let state = state_dir();
    // The hog: the container's own 32 MiB, swap held to it, stop it.
    let out = run(
        r.path(),
        &[
            "--memory",
            "32M",
            "--",
            "/bin/bash",
            "-c",
            "a=x; while :; do a=$a$a; done",
        ],
        state.path(),
    );
    assert_eq!(out.status.code(), Some(137), "{}", text(&out));
    assert!(
        text(&out).contains("the OOM killer ended CMD"),
        "{}",
        text(&out)
    );
    // Both limits, in cgroups of the container's (one per tree on v1), gone afterwards;
    // read from the host, as CMD sees `/` in its cgroup namespace.
    let (mut child, pid1, _) = held(r.path(), state.path(), &["--memory", "64M", "--pids", "20"]);
    let fs = lessons::kernel::cgroup::CgroupFs::detect().unwrap();
    let mut dirs = Vec::new();
    for controller in ["memory", "pids"] {
        let dir = fs.cgroup_of(pid1, controller).unwrap();
        assert!(
            dir.to_string_lossy().contains("/learn-containers/run-"),
            "{controller}: {}",
            dir.display()
        );
        if controller == "pids" {
            let max = std::fs::read_to_string(dir.join("pids.max")).unwrap();
            assert_eq!(max.trim(), "20", "{}", dir.display());
        }
        dirs.push(dir);
    }
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    for dir in dirs {
        assert!(!dir.exists(), "{} is left behind", dir.display());
    }
    before.assert_same(&Host::snapshot(), "learn-containers run --memory --pids");
}

#[test]
fn a_readonly_rootfs_keeps_tmp_writable() {
    if !privileged("a_readonly_rootfs_keeps_tmp_writable") {
        return;
    }
    let _turn = serial();
    let r = rootfs();
    let state = state_dir();
    let out = run(
        r.path(),
        &[
            "--keep-rootfs-readonly",
            "--",
            "sh",
            "-c",
            "echo x > /tmp/f && cat /tmp/f && echo y > /f",
        ],
        state.path(),
    );
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout(&out).starts_with("x"), "{}", text(&out));
    assert!(text(&out).contains("Read-only"), "{}", text(&out));
    assert!(!r.path().join("f").exists());
}

#[test]
fn sigterm_is_forwarded_to_cmd() {
    if !privileged("sigterm_is_forwarded_to_cmd") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let r = rootfs();
    let state = state_dir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_learn-containers"))
        .args(["run", "--rootfs"])
        .arg(r.path())
        .args([
            "--",
            "sh",
            "-c",
            "trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.1; done",
        ])
        .env("LEARN_CONTAINERS_STATE", state.path())
        .env("LEARN_CONTAINERS_EXERCISES", state.path().join("exercises"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "run did not end after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut rest = String::new();
    out.read_line(&mut rest).unwrap();
    assert_eq!(rest.trim(), "got TERM");
    assert_eq!(status.code(), Some(42));
    before.assert_same(&Host::snapshot(), "learn-containers run with SIGTERM");
}

#[test]
fn the_default_rootfs_is_built_once_and_cached_in_the_state_dir() {
    if !privileged("the_default_rootfs_is_built_once") {
        return;
    }
    let _turn = serial();
    let state = state_dir();
    let out = cli(
        &["run", "--", "sh", "-c", "busybox | head -1"],
        state.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout(&out).contains("BusyBox"), "{}", text(&out));
    let cache = state.path().join("rootfs-cache/default");
    assert!(cache.join("bin/bash").is_file());
    let stamp = state.path().join("rootfs-cache/default.stamp");
    let built = std::fs::metadata(&stamp).unwrap().modified().unwrap();
    let out = cli(&["run", "--", "bash", "-c", "echo $$"], state.path());
    assert_eq!(stdout(&out).trim(), "1", "{}", text(&out));
    assert_eq!(
        std::fs::metadata(&stamp).unwrap().modified().unwrap(),
        built,
        "the cached rootfs was built again"
    );
}

/// Every file, dir and link under `dir`, with its contents or target: equal trees give
/// equal listings.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            let md = std::fs::symlink_metadata(&p).unwrap();
            if md.is_dir() {
                out.push(format!("dir {rel}"));
                stack.push(p);
            } else if md.file_type().is_symlink() {
                out.push(format!("link {rel} {:?}", std::fs::read_link(&p).unwrap()));
            } else {
                let bytes = std::fs::read(&p).unwrap();
                let sum: u64 = bytes.iter().fold(0xcbf29ce484222325, |h, b| {
                    (h ^ *b as u64).wrapping_mul(0x100000001b3)
                });
                out.push(format!("file {rel} {} {sum:x}", bytes.len()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_container_has_a_dev_and_never_writes_into_the_cached_rootfs() {
    if !privileged("a_container_has_a_dev_and_never_writes_into_the_cached_rootfs") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let state = state_dir();
    // Builds the default rootfs into the cache.
    let out = cli(&["run", "--", "sh", "-c", ":"], state.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let cache = state.path().join("rootfs-cache/default");
    let was = tree(&cache);
    let out = cli(
        &[
            "run",
            "--",
            "/bin/bash",
            "-c",
            "sleep 1 & wait; echo x > /dev/null; ls /dev; echo hi > /etc/x; echo changed > /bin/sh",
        ],
        state.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).trim().is_empty(),
        "{}",
        text(&out)
    );
    let listed: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    for dev in [
        "null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "ptmx", "fd",
    ] {
        assert!(listed.iter().any(|l| l == dev), "no /dev/{dev}: {listed:?}");
    }
    assert_eq!(tree(&cache), was, "the container changed the cached rootfs");
    // A file written in one container is absent in the next.
    let out = cli(
        &["run", "--", "/bin/sh", "-c", "cat /etc/x 2>&1; echo done"],
        state.path(),
    );
    assert!(stdout(&out).contains("No such file"), "{}", text(&out));
    before.assert_same(
        &Host::snapshot(),
        "learn-containers run with a /dev and an overlay",
    );
}

#[test]
fn rw_writes_into_the_rootfs_as_asked() {
    if !privileged("rw_writes_into_the_rootfs_as_asked") {
        return;
    }
    let _turn = serial();
    let r = rootfs();
    let state = state_dir();
    let out = run(
        r.path(),
        &["--rw", "--", "sh", "-c", "echo kept > /etc/note"],
        state.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(r.path().join("etc/note")).unwrap(),
        "kept\n"
    );
    let out = run(
        r.path(),
        &["--rw", "--keep-rootfs-readonly", "--", "true"],
        state.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn ipc_and_cgroup_namespaces_by_default_and_a_time_namespace_on_request() {
    if !privileged("ipc_and_cgroup_namespaces_by_default_and_a_time_namespace_on_request") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let r = rootfs();
    let state = state_dir();
    let host_uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let out = run(
        r.path(),
        &[
            "--cpus",
            "0.5",
            "--uptime-offset",
            "86400",
            "--",
            "/bin/sh",
            "-c",
            "for k in ipc cgroup time; do busybox readlink /proc/self/ns/$k; done; \
             cat /proc/self/cgroup; cat /proc/uptime",
        ],
        state.path(),
    );
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let host = |kind: &str| {
        std::fs::read_link(format!("/proc/self/ns/{kind}"))
            .unwrap()
            .display()
            .to_string()
    };
    for kind in ["ipc", "cgroup", "time"] {
        let inside = said
            .lines()
            .find(|l| l.starts_with(&format!("{kind}:[")))
            .unwrap_or_else(|| panic!("no {kind} link:\n{said}"));
        assert_ne!(inside, host(kind), "{kind}: a namespace of its own\n{said}");
    }
    // Joined its cgroup first, then unshared: `/` on every line.
    let cgroup: Vec<&str> = said.lines().filter(|l| l.contains(":/")).collect();
    assert!(!cgroup.is_empty(), "{said}");
    assert!(cgroup.iter().all(|l| l.ends_with(":/")), "{said}");
    let uptime: f64 = said
        .lines()
        .last()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no uptime:\n{said}"));
    let ahead = uptime - host_uptime;
    assert!(
        (86400.0..86400.0 + 30.0).contains(&ahead),
        "uptime {uptime}, the host's {host_uptime}\n{said}"
    );
    before.assert_same(
        &Host::snapshot(),
        "learn-containers run with its own IPC, cgroup and time namespaces",
    );
}

#[test]
fn net_none_gives_cmd_a_network_namespace_with_only_lo_up() {
    if !privileged("net_none_gives_cmd_a_network_namespace_with_only_lo_up") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let host_links = std::fs::read_to_string("/proc/net/dev").unwrap();
    let host_ns = std::fs::read_link("/proc/self/ns/net").unwrap();
    let r = rootfs();
    let state = state_dir();
    // /proc/net/dev lists the links of the reader's network namespace; busybox's ip says
    // whether lo is up.
    let out = run(
        r.path(),
        &[
            "--net",
            "none",
            "--",
            "/bin/sh",
            "-c",
            "readlink /proc/self/ns/net; cut -d: -f1 /proc/net/dev | tail -n +3; ip link show lo",
        ],
        state.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = stdout(&out);
    let lines: Vec<&str> = said.lines().map(str::trim).collect();
    assert_ne!(lines[0], host_ns.to_string_lossy(), "{said}");
    assert_eq!(lines[1], "lo", "only lo inside: {said}");
    assert_eq!(lines.len(), 4, "only lo inside: {said}");
    assert!(lines[2].contains("<LOOPBACK,UP"), "lo is up: {said}");
    // Without --net, the host's network, as before chapter 7.
    let out = run(
        r.path(),
        &["--", "/bin/sh", "-c", "readlink /proc/self/ns/net"],
        state.path(),
    );
    assert_eq!(
        stdout(&out).trim(),
        host_ns.to_string_lossy(),
        "{}",
        text(&out)
    );
    assert_eq!(
        host_links.lines().count(),
        std::fs::read_to_string("/proc/net/dev")
            .unwrap()
            .lines()
            .count()
    );
    before.assert_same(&Host::snapshot(), "learn-containers run --net none");
}
