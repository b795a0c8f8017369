//! Detached containers: `run -d --name`, `ps`, `pause`, `resume`, `stop`, `rm`, `logs`
//! (chapter 10). Tier 1: bad names and unknown containers are refused with exit 2, a
//! command that cannot act now exits 1. Tier 2 (root): a whole life judged by the kernel
//! (PID 1's CPU time, the freezer's report, the cgroup gone), a PID 1 that ignores
//! SIGTERM stopped by SIGKILL, and a keeper SIGKILLed then `clean`; nothing is left.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::{Host, cli, privileged, serial, state_outside_tmp, text};

#[test]
fn unknown_containers_and_bad_names_exit_2() {
    let _turn = serial();
    let state = state_outside_tmp();
    let out = cli(&["ps"], state.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("no containers"), "{}", text(&out));
    for cmd in ["pause", "resume", "stop", "rm", "logs"] {
        let out = cli(&[cmd, "nosuch"], state.path());
        assert_eq!(out.status.code(), Some(2), "{cmd}: {}", text(&out));
        let said = text(&out);
        assert!(said.contains("no container named"), "{cmd}: {said}");
        assert!(said.contains("learn-containers ps"), "{cmd}: {said}");
        assert_eq!(said.trim().lines().count(), 1, "{cmd}: {said}");
    }
    let out = cli(&["pause", "../x"], state.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = cli(&["run", "-d", "--", "true"], state.path());
    assert_eq!(
        out.status.code(),
        Some(2),
        "-d without --name: {}",
        text(&out)
    );
    let out = cli(&["run", "--name", "web", "--", "true"], state.path());
    assert_eq!(
        out.status.code(),
        Some(2),
        "--name without -d: {}",
        text(&out)
    );
    let out = cli(&["run", "-d", "--name", "a/b", "--", "true"], state.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--name"), "{}", text(&out));
    assert!(
        !state.path().join("containers/a").exists(),
        "a refused name made a record"
    );
}

fn detach(rootfs: &Path, name: &str, script: &str, state: &Path) -> Output {
    let r = rootfs.display().to_string();
    cli(
        &[
            "run", "--rootfs", &r, "-d", "--name", name, "--", "bash", "-c", script,
        ],
        state,
    )
}

/// What `ps --format json` says of `name`.
fn ps(name: &str, state: &Path) -> serde_json::Value {
    let out = cli(&["ps", "--format", "json"], state);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    list.into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("ps does not list {name}: {}", text(&out)))
}

/// The record the keeper wrote.
fn started(name: &str, state: &Path) -> serde_json::Value {
    let p = state.join("containers").join(name).join("container.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// CPU time of every process in the cgroup `cg`, read from /proc.
fn cpu(cg: &Path) -> Duration {
    let procs = std::fs::read_to_string(cg.join("cgroup.procs")).unwrap_or_default();
    procs
        .split_whitespace()
        .filter_map(|p| lessons::kernel::procfs::cpu_time(p.parse().ok()?).ok())
        .sum()
}

fn grows(cg: &Path, window: Duration) -> Duration {
    let before = cpu(cg);
    std::thread::sleep(window);
    cpu(cg).saturating_sub(before)
}

fn frozen(cg: &Path, v2: bool) -> bool {
    if v2 {
        std::fs::read_to_string(cg.join("cgroup.events"))
            .unwrap()
            .lines()
            .any(|l| l == "frozen 1")
    } else {
        std::fs::read_to_string(cg.join("freezer.state"))
            .unwrap()
            .trim()
            == "FROZEN"
    }
}

#[test]
fn a_detached_container_lives_pauses_resumes_stops_and_is_removed() {
    if !privileged("a_detached_container_lives_pauses_resumes_stops_and_is_removed") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let rootfs = common::built_rootfs();
    let state = state_outside_tmp();
    let st = state.path();
    // PID 1 with a SIGTERM handler that exits 7, burning CPU until then.
    let out = detach(
        rootfs.path(),
        "web",
        "trap 'exit 7' TERM; echo started; while :; do :; done",
        st,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let rec = started("web", st);
    let pid = rec["pid"].as_i64().unwrap() as i32;
    let cg = PathBuf::from(rec["freezer"].as_str().unwrap());
    let v2 = rec["freezer_v2"].as_bool().unwrap();
    assert!(
        text(&out).contains(&format!("PID 1 is {pid}")),
        "{}",
        text(&out)
    );
    assert_eq!(ps("web", st)["status"], "running");
    assert_eq!(ps("web", st)["pid"], pid);
    assert!(
        grows(&cg, Duration::from_millis(300)) >= Duration::from_millis(50),
        "the burner does not burn"
    );
    // A second container of that name is refused.
    let again = detach(rootfs.path(), "web", "true", st);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("already"), "{}", text(&again));

    let out = cli(&["pause", "web"], st);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The moment `pause` returns, the kernel says frozen, and CPU time stands still.
    assert!(
        frozen(&cg, v2),
        "pause returned before the cgroup was frozen"
    );
    assert_eq!(
        grows(&cg, Duration::from_millis(400)),
        Duration::ZERO,
        "CPU time moved while paused"
    );
    assert_ne!(
        lessons::kernel::procfs::state(pid),
        Some('T'),
        "SIGSTOP, not the freezer"
    );
    assert_eq!(ps("web", st)["status"], "paused");
    let out = cli(&["pause", "web"], st);
    assert_eq!(out.status.code(), Some(1), "a second pause: {}", text(&out));

    let out = cli(&["resume", "web"], st);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!frozen(&cg, v2));
    assert!(grows(&cg, Duration::from_millis(300)) >= Duration::from_millis(50));
    assert_eq!(ps("web", st)["status"], "running");

    let out = cli(&["rm", "web"], st);
    assert_eq!(
        out.status.code(),
        Some(1),
        "rm of a running one: {}",
        text(&out)
    );
    assert!(text(&out).contains("stop web"), "{}", text(&out));

    // Paused, then stopped: SIGTERM reaches the handler once thawed.
    assert_eq!(cli(&["pause", "web"], st).status.code(), Some(0));
    let out = cli(&["stop", "-t", "5", "web"], st);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("exit status 7"), "{}", text(&out));
    assert!(!common::alive(pid), "PID 1 outlived stop");
    assert!(!cg.exists(), "the container's cgroup outlived stop");
    let seen = ps("web", st);
    assert_eq!(seen["status"], "stopped");
    assert_eq!(seen["exit_code"], 7);
    let out = cli(&["logs", "web"], st);
    assert!(text(&out).contains("started"), "{}", text(&out));
    assert_eq!(cli(&["stop", "web"], st).status.code(), Some(1));

    let out = cli(&["rm", "web"], st);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&cli(&["ps"], st)).contains("no containers"));

    // A PID 1 with no handler does not get SIGTERM: SIGKILL after the grace period.
    let out = detach(rootfs.path(), "deaf", "sleep 1000", st);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = cli(&["stop", "-t", "1", "deaf"], st);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("SIGKILL"), "{}", text(&out));
    assert!(text(&out).contains("exit status 137"), "{}", text(&out));
    // --force removes a running one.
    let out = detach(rootfs.path(), "quick", "sleep 1000", st);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = cli(&["rm", "--force", "quick"], st);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(cli(&["rm", "deaf"], st).status.code(), Some(0));
    // A CMD that is not in the rootfs: the shell's 127, the reason, and no record.
    let r = rootfs.path().display().to_string();
    let out = cli(
        &[
            "run",
            "--rootfs",
            &r,
            "-d",
            "--name",
            "none",
            "--",
            "no-such-cmd",
        ],
        st,
    );
    assert_eq!(out.status.code(), Some(127), "{}", text(&out));
    assert!(!st.join("containers/none").exists());
    before.assert_same(&Host::snapshot(), "a detached container's life");
}

#[test]
fn a_killed_keeper_leaves_what_clean_removes() {
    if !privileged("a_killed_keeper_leaves_what_clean_removes") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let rootfs = common::built_rootfs();
    let state = state_outside_tmp();
    let st = state.path();
    let out = detach(rootfs.path(), "web", "sleep 1000", st);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(cli(&["pause", "web"], st).status.code(), Some(0));
    let keeper: i32 = std::fs::read_to_string(st.join("containers/web/keeper"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(keeper),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    while common::alive(keeper) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(ps("web", st)["status"], "lost");
    let out = cli(&["clean"], st);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("container web"), "{}", text(&out));
    let again = cli(&["clean"], st);
    assert_eq!(text(&again).trim(), "nothing to clean", "{}", text(&again));
    assert!(text(&cli(&["ps"], st)).contains("no containers"));
    before.assert_same(&Host::snapshot(), "a killed keeper, then clean");
}
