//! Chapter 4: the verifier accepts a correct solution written differently from the
//! reference one and rejects each classic mistake with its own diagnosis; the lesson
//! measures the cap it sets. Tier 1 (fake cgroup trees, no root) judges the limit files
//! a program writes, including v1 names on a v2 host, which this hybrid machine cannot
//! show for real; tier 2 runs everything against the real kernel. Tier-1 tests take their
//! turn too (`serial`): the programs they build and run would show up in a tier-2 test's
//! snapshot of the host's processes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    Host, check, cli, failing, fixture, privileged, serial, state_dir, text, verify_binary,
    workspace,
};
use lessons::chapters::ch04_cgroup_cpu::checks::Ch04;
use lessons::chapters::ch04_cgroup_cpu::verify::check_limit_on_tree;
use lessons::kernel::cgroup::Version;
use lessons::verify::Candidate;
use lessons::verify::CheckId;
use lessons::verify::build::{Built, Flavor, build};

const ID: &str = "ch04_cgroup_cpu";

fn solution() -> PathBuf {
    match build(
        &workspace(),
        &common::working_copy().1,
        Flavor::Solution,
        ID,
        None,
    )
    .expect("cargo runs")
    {
        Built::Binary { path, .. } => path,
        Built::CompileError(e) => panic!("the solution must compile:\n{e}"),
    }
}

fn candidate(binary: PathBuf) -> Candidate {
    Candidate {
        source: format!("{}", binary.display()),
        binary,
    }
}

/// A fake cgroup directory of plain files, laid out as the kernel lays out a cgroup
/// the verifier prepared: v2 with cpu handed to its children, or a v1 cpu cgroup.
fn fake_parent(version: Version) -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("learn-containers-test-fake-")
        .tempdir()
        .unwrap();
    let dir = t.path();
    let files: &[(&str, &str)] = match version {
        Version::V2 => &[
            ("cgroup.controllers", "cpuset cpu io memory pids\n"),
            ("cgroup.subtree_control", "cpu\n"),
            ("cgroup.procs", ""),
            ("cpu.max", "max 100000\n"),
        ],
        Version::V1 => &[
            ("cgroup.procs", ""),
            ("cpu.cfs_period_us", "100000\n"),
            ("cpu.cfs_quota_us", "-1\n"),
            (
                "cpu.stat",
                "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
            ),
        ],
    };
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    t
}

fn on_tree(binary: PathBuf, version: Version, cpus: f64) -> lessons::verify::Check {
    // The verifier's scratch dir would show up in a tier-2 test's host snapshot.
    let _turn = serial();
    let parent = fake_parent(version);
    check_limit_on_tree(&candidate(binary), parent.path(), version, cpus).unwrap()
}

#[test]
fn tier1_the_reference_solution_writes_each_versions_format() {
    let _turn = serial();
    let c = on_tree(solution(), Version::V2, 0.5);
    assert!(c.passed(), "{c:#?}");
    assert!(
        c.saw
            .as_deref()
            .unwrap()
            .contains("cpu.max = \"50000 100000\""),
        "{c:#?}"
    );
    let c = on_tree(solution(), Version::V1, 0.25);
    assert!(c.passed(), "{c:#?}");
    let saw = c.saw.as_deref().unwrap();
    assert!(
        saw.contains("cpu.cfs_period_us = \"100000\"")
            && saw.contains("cpu.cfs_quota_us = \"25000\""),
        "{c:#?}"
    );
}

#[test]
fn tier1_a_solution_with_another_period_passes_on_both_trees() {
    let _turn = serial();
    for v in [Version::V1, Version::V2] {
        let c = on_tree(fixture("ch04_alt_correct"), v, 0.5);
        assert!(c.passed(), "{v}: {c:#?}");
    }
}

#[test]
fn tier1_v1_file_names_on_a_v2_host_are_named() {
    let _turn = serial();
    let c = on_tree(fixture("ch04_v1_names"), Version::V2, 0.5);
    assert!(!c.passed(), "{c:#?}");
    assert_eq!(c.name, Ch04::Limit.title());
    assert!(
        c.saw
            .as_deref()
            .unwrap()
            .contains("v1 file names on a v2 host"),
        "{c:#?}"
    );
    assert!(c.hint.as_deref().unwrap().contains("cpu.max"), "{c:#?}");
    // The same program is right on a v1 tree: the check judges the host, not the names.
    assert!(on_tree(fixture("ch04_v1_names"), Version::V1, 0.5).passed());
}

#[test]
fn tier1_swapped_period_and_quota_are_named() {
    let _turn = serial();
    let c = on_tree(fixture("ch04_swapped"), Version::V2, 0.5);
    assert!(!c.passed(), "{c:#?}");
    assert!(c.saw.as_deref().unwrap().contains("swapped"), "{c:#?}");
    assert!(
        c.hint.as_deref().unwrap().contains("quota comes first"),
        "{c:#?}"
    );
}

#[test]
fn tier1_wrong_units_are_named() {
    let _turn = serial();
    // A fake tree accepts the 25 that the kernel would refuse, so the value itself shows.
    let c = on_tree(fixture("ch04_wrong_units"), Version::V1, 0.5);
    assert!(!c.passed(), "{c:#?}");
    let saw = c.saw.as_deref().unwrap();
    assert!(
        saw.contains("1000 times too small") && saw.contains("wrong units"),
        "{c:#?}"
    );
    assert!(
        c.hint.as_deref().unwrap().contains("microseconds"),
        "{c:#?}"
    );
}

#[test]
fn tier1_an_untouched_exercise_is_named_as_a_todo() {
    let _turn = serial();
    let (_keep, work) = common::working_copy();
    let exercise = match build(&workspace(), &work, Flavor::Exercise, ID, None).unwrap() {
        Built::Binary { path, .. } => path,
        Built::CompileError(e) => panic!("the shipped exercise must compile:\n{e}"),
    };
    let parent = fake_parent(Version::V2);
    let c = check_limit_on_tree(&candidate(exercise), parent.path(), Version::V2, 0.5).unwrap();
    assert!(!c.passed());
    assert!(c.saw.as_deref().unwrap().contains("todo!()"), "{c:#?}");
    // It stopped before creating anything.
    let entries = std::fs::read_dir(parent.path())
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .count();
    assert_eq!(entries, 0);
}

/// Runs the reference solution with `args`, expecting exit 2 and nothing created.
fn bad_input(cpus: &str, parent: &Path) -> String {
    let out = Command::new(solution())
        .args([
            "--parent",
            &parent.display().to_string(),
            "--cpus",
            cpus,
            "--",
            "true",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "--cpus {cpus}: {said}");
    assert_eq!(
        said.lines()
            .filter(|l| l.starts_with("ch04_cgroup_cpu:"))
            .count(),
        1,
        "{said}"
    );
    let made = std::fs::read_dir(parent)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .count();
    assert_eq!(made, 0, "--cpus {cpus} created a cgroup");
    said
}

#[test]
fn tier1_bad_cpus_exit_2_with_one_clear_message() {
    let _turn = serial();
    let parent = fake_parent(Version::V2);
    for cpus in ["0", "-1", "-0.5", "NaN", "inf", "0.001"] {
        let said = bad_input(cpus, parent.path());
        assert!(
            said.contains(&format!("--cpus {}", cpus.parse::<f64>().unwrap())),
            "{said}"
        );
    }
    assert!(bad_input("half", parent.path()).contains("not a number"));
    let cores = std::thread::available_parallelism().unwrap().get();
    let said = bad_input(&(cores + 1).to_string(), parent.path());
    assert!(
        said.contains(&format!("this machine has {cores} CPUs")),
        "{said}"
    );
    assert!(said.contains("would not limit anything"), "{said}");
    // Nothing was ever written to the fake cgroup's own files.
    assert_eq!(
        std::fs::read_to_string(parent.path().join("cpu.max")).unwrap(),
        "max 100000\n"
    );
}

#[test]
fn tier1_a_dir_without_the_cpu_controller_points_to_doctor() {
    let _turn = serial();
    let empty = tempfile::Builder::new()
        .prefix("learn-containers-test-empty-")
        .tempdir()
        .unwrap();
    let v2_without_cpu = fake_parent(Version::V2);
    std::fs::write(
        v2_without_cpu.path().join("cgroup.subtree_control"),
        "memory\n",
    )
    .unwrap();
    for dir in [empty.path(), v2_without_cpu.path()] {
        let out = Command::new(solution())
            .args([
                "--parent",
                &dir.display().to_string(),
                "--cpus",
                "0.5",
                "--",
                "true",
            ])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{said}");
        assert!(said.contains("learn-containers doctor"), "{said}");
        let made = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_dir())
            .count();
        assert_eq!(made, 0);
    }
}

// ---- tier 2: the real kernel ----

/// Verifies a fixture and checks the host is left as it was.
fn verify_fixture(name: &str) -> Vec<lessons::verify::Check> {
    let before = Host::snapshot();
    let checks = verify_binary(ID, &fixture(name));
    before.assert_same(&Host::snapshot(), &format!("verifying {name}"));
    for c in &checks {
        println!(
            "{} {}: {}",
            if c.passed() { "✔" } else { "✘" },
            c.name,
            c.message()
        );
    }
    checks
}

#[test]
fn tier2_a_solution_written_differently_passes() {
    if !privileged("tier2_a_solution_written_differently_passes") {
        return;
    }
    let _turn = serial();
    let checks = verify_fixture("ch04_alt_correct");
    assert!(failing(&checks).is_empty(), "{checks:#?}");
    assert_eq!(checks.len(), Ch04::ALL.len());
}

#[test]
fn tier2_a_process_never_moved_is_named() {
    if !privileged("tier2_a_process_never_moved_is_named") {
        return;
    }
    let _turn = serial();
    let checks = verify_fixture("ch04_never_moved");
    let moved = check(&checks, Ch04::Moved.title());
    assert!(!moved.passed(), "{moved:#?}");
    assert!(
        moved.saw.as_deref().unwrap().contains("outside DIR"),
        "{moved:#?}"
    );
    assert!(
        moved.hint.as_deref().unwrap().contains("cgroup.procs"),
        "{moved:#?}"
    );
    // The limit itself is right; the burner just never felt it.
    assert!(check(&checks, Ch04::Limit.title()).passed(), "{checks:#?}");
    // What follows from it is not judged again.
    for name in [Ch04::ShareHalf.title(), Ch04::Throttling.title()] {
        let c = check(&checks, name);
        assert!(
            !c.passed()
                && c.saw
                    .as_deref()
                    .unwrap()
                    .starts_with("not judged: the burner ran outside the limited cgroup"),
            "{c:#?}"
        );
    }
}

#[test]
fn tier2_a_command_moved_after_it_started_is_named() {
    if !privileged("tier2_a_command_moved_after_it_started_is_named") {
        return;
    }
    let _turn = serial();
    // The whole report: only the birth is wrong, the burner itself ends up capped.
    let checks = verify_fixture("ch04_move_after_start");
    assert_eq!(failing(&checks), vec![Ch04::Moved.title()], "{checks:#?}");
    let moved = check(&checks, Ch04::Moved.title());
    assert!(
        moved
            .saw
            .as_deref()
            .unwrap()
            .contains("was born in /sys/fs/cgroup"),
        "{moved:#?}"
    );
    assert!(
        moved.hint.as_deref().unwrap().contains("before exec"),
        "{moved:#?}"
    );
}

#[test]
fn tier2_a_plain_directory_taken_for_a_cgroup_is_named() {
    if !privileged("tier2_a_plain_directory_taken_for_a_cgroup_is_named") {
        return;
    }
    let _turn = serial();
    let checks = verify_fixture("ch04_default_v2");
    assert_eq!(failing(&checks), vec![Ch04::Refused.title()], "{checks:#?}");
    let c = check(&checks, Ch04::Refused.title());
    assert!(
        c.saw.as_deref().unwrap().contains("created DIR/ch04-"),
        "{c:#?}"
    );
    assert!(c.saw.as_deref().unwrap().contains("started CMD"), "{c:#?}");
}

#[test]
fn tier2_wrong_units_are_refused_by_the_kernel_and_named() {
    if !privileged("tier2_wrong_units_are_refused_by_the_kernel_and_named") {
        return;
    }
    let _turn = serial();
    let checks = verify_fixture("ch04_wrong_units");
    // The kernel's refusal is the limit check's failure, not the first check's.
    assert!(
        checks[0].saw.as_deref().unwrap().starts_with("not run"),
        "{checks:#?}"
    );
    let first = check(&checks, Ch04::Limit.title());
    assert!(!first.passed(), "{first:#?}");
    assert!(
        first.saw.as_deref().unwrap().contains("Invalid argument"),
        "{first:#?}"
    );
    assert!(
        first.hint.as_deref().unwrap().contains("microseconds"),
        "{first:#?}"
    );
    // It removed its cgroup on the way out: a leftover would be reported as such, not
    // as a check the early exit kept from running.
    let residue = check(&checks, Ch04::Residue.title());
    assert!(!residue.passed(), "{checks:#?}");
    assert!(
        residue.saw.as_deref().unwrap().starts_with("not run"),
        "{checks:#?}"
    );
}

#[test]
fn tier2_swapped_period_and_quota_are_named() {
    if !privileged("tier2_swapped_period_and_quota_are_named") {
        return;
    }
    let _turn = serial();
    let checks = verify_fixture("ch04_swapped");
    assert!(check(&checks, Ch04::Moved.title()).passed(), "{checks:#?}");
    let limit = check(&checks, Ch04::Limit.title());
    assert!(
        !limit.passed() && limit.saw.as_deref().unwrap().contains("swapped"),
        "{limit:#?}"
    );
    for name in [
        Ch04::ShareHalf.title(),
        Ch04::ShareQuarter.title(),
        Ch04::Throttling.title(),
    ] {
        let c = check(&checks, name);
        assert!(
            !c.passed()
                && c.saw.as_deref().unwrap().starts_with(
                    "not judged: the limit in the burner's cgroup is not the one asked for"
                ),
            "{c:#?}"
        );
    }
}

#[test]
fn tier2_a_cgroup_left_behind_is_named_and_cleaned_up() {
    if !privileged("tier2_a_cgroup_left_behind_is_named_and_cleaned_up") {
        return;
    }
    let _turn = serial();
    // verify_fixture also proves the verifier removed what the program left.
    let checks = verify_fixture("ch04_not_removed");
    assert_eq!(failing(&checks), vec![Ch04::Residue.title()], "{checks:#?}");
    let c = check(&checks, Ch04::Residue.title());
    assert!(c.saw.as_deref().unwrap().contains("still there"), "{c:#?}");
    assert!(c.hint.as_deref().unwrap().contains("EBUSY"), "{c:#?}");
}

#[test]
fn tier2_an_exit_status_not_passed_on_is_named() {
    if !privileged("tier2_an_exit_status_not_passed_on_is_named") {
        return;
    }
    let _turn = serial();
    let checks = verify_fixture("ch04_exit_zero");
    assert_eq!(failing(&checks), vec![Ch04::Exit.title()], "{checks:#?}");
    assert!(
        check(&checks, Ch04::Exit.title())
            .saw
            .as_deref()
            .unwrap()
            .contains("exited with status 0")
    );
}

#[test]
fn tier2_the_lesson_measures_half_a_cpu_and_leaves_nothing() {
    if !privileged("tier2_the_lesson_measures_half_a_cpu_and_leaves_nothing") {
        return;
    }
    let _turn = serial();
    let state = state_dir();
    let before = Host::snapshot();
    let out = cli(&["lesson", "4", "--yes"], state.path());
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    before.assert_same(&Host::snapshot(), "lesson 4");
    let line = all
        .lines()
        .find_map(|l| l.split("measured share under a 0.5 CPU quota: ").nth(1))
        .unwrap_or_else(|| panic!("no measured share in:\n{all}"));
    let share: f64 = line.split_whitespace().next().unwrap().parse().unwrap();
    println!("lesson 4 measured {share} under a 0.5 CPU quota");
    assert!(
        (share - 0.5).abs() <= 0.05,
        "measured {share}, expected 0.5 ± 0.05:\n{all}"
    );
    // The counters and the EBUSY are the kernel's own words.
    assert!(all.contains("nr_throttled"), "{all}");
    assert!(all.contains("EBUSY"), "{all}");
}
