//! `learn-containers run`: bad arguments are refused with exit 2 before anything is made
//! (tier 1, any machine); with root (tier 2), CMD is PID 1 with the hostname it asked for
//! while the host keeps its own, CMD's exit status comes back, --cpus caps it in a cgroup
//! that is gone afterwards, SIGTERM reaches CMD, the default rootfs is built once, the
//! container has a /dev and never writes into its rootfs (but with --rw), and nothing is
//! left on the host.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Host, cli, privileged, serial, state_dir, text};

fn rootfs() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("learn-containers-test-rootfs-")
        .tempdir()
        .unwrap();
    let plan = rootfs_builder::plan(&lessons::kernel::container::default_options()).unwrap();
    rootfs_builder::build(dir.path(), &plan, &mut |_| {}).unwrap();
    dir
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

#[test]
fn cpus_caps_cmd_in_a_cgroup_that_is_gone_afterwards() {
    if !privileged("cpus_caps_cmd_in_a_cgroup_that_is_gone_afterwards") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let r = rootfs();
    let state = state_dir();
    let out = run(
        r.path(),
        &["--cpus", "0.5", "--", "cat", "/proc/self/cgroup"],
        state.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let fs = lessons::kernel::cgroup::CgroupFs::detect().unwrap();
    let line = stdout(&out);
    let dir = fs
        .dir_in_proc_cgroup(&line, "cpu")
        .unwrap_or_else(|| panic!("no cpu line in {line}"));
    assert!(
        dir.to_string_lossy().contains("/learn-containers/run-"),
        "{line}"
    );
    assert!(!dir.exists(), "{} is left behind", dir.display());
    before.assert_same(&Host::snapshot(), "learn-containers run --cpus");
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
