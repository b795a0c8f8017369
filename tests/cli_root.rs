//! Tier 2: the commands that need root, through the CLI as a learner runs them.

mod common;

use common::{cli, cli_env, fixture, privileged, serial, state_dir, text};

#[test]
fn doctor_reports_the_detected_cgroup_mode() {
    if !privileged("doctor_reports_the_detected_cgroup_mode") {
        return;
    }
    let state = state_dir();
    let out = cli(&["doctor"], state.path());
    let said = text(&out);
    let fs = lessons::kernel::cgroup::CgroupFs::detect().unwrap();
    let word = match fs.mode {
        lessons::kernel::cgroup::Mode::Hybrid => "hybrid",
        lessons::kernel::cgroup::Mode::V1 => "cgroup v1",
        lessons::kernel::cgroup::Mode::V2 => "cgroup v2",
    };
    assert!(said.contains(&format!("cgroups: {word}")), "{said}");
    assert!(
        said.contains("statfs:"),
        "doctor must say how it decided: {said}"
    );
    assert!(said.contains("running as root"), "{said}");
    assert_eq!(out.status.code(), Some(0), "{said}");
}

#[test]
fn a_pass_is_recorded_and_listed() {
    if !privileged("a_pass_is_recorded_and_listed") {
        return;
    }
    let _turn = serial();
    let state = state_dir();
    // A prebuilt correct binary, as a classroom that pre-builds would supply it.
    let bins = tempfile::Builder::new()
        .prefix("learn-containers-test-bins-")
        .tempdir()
        .unwrap();
    std::fs::copy(fixture("ch01_alt_correct"), bins.path().join("ch01_chroot")).unwrap();
    let dir = bins.path().to_str().unwrap();
    let out = cli(&["verify", "1", "--bin-dir", dir], state.path());
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("Passed") && said.contains("recorded"),
        "{said}"
    );
    let progress: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.path().join("progress.json")).unwrap())
            .unwrap();
    let pass = &progress["passed"]["ch01_chroot"];
    assert_eq!(pass["sha256"].as_str().unwrap().len(), 64, "{progress:#}");
    assert!(text(&cli(&["list"], state.path())).contains("✔ passed"));

    // A wrong binary fails with 1, and the JSON names every check.
    std::fs::copy(fixture("ch01_no_chdir"), bins.path().join("ch01_chroot")).unwrap();
    let out = cli_env(
        &["verify", "1", "--format", "json"],
        state.path(),
        &[("LEARN_CONTAINERS_BIN_DIR", dir)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ex = &report["exercises"][0];
    assert_eq!(ex["id"], "ch01_chroot");
    assert_eq!(ex["status"], "fail");
    let checks = ex["checks"].as_array().unwrap();
    let failed: Vec<_> = checks.iter().filter(|c| c["status"] == "fail").collect();
    assert_eq!(failed.len(), 1, "{report:#}");
    assert!(
        failed[0]["message"].as_str().unwrap().contains("chdir"),
        "{report:#}"
    );
    let score = ex["score"].as_f64().unwrap();
    assert!((score - (checks.len() - 1) as f64 / checks.len() as f64).abs() < 1e-9);
}
