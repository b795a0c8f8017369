//! Chapter 9: the verifier runs the program with a memory hog and with a forking script,
//! each inside cgroups of its own that already have a memory and a pids ceiling, accepts
//! a correct solution written differently from the reference one, and rejects each
//! mistake the chapter names with its own diagnosis, leaving nothing behind.

mod common;

use common::{
    Host, check, failing, fixture, hint, privileged, saw, serial, solution, verify_binary,
};
use lessons::kernel::cgroup::{CgroupFs, Mode};

const ID: &str = "ch09_memory_pids";

/// Every check's title but those of `expected` (by their first words).
fn all_pass_but(checks: &[lessons::verify::Check], expected: &[&str]) {
    let got: Vec<&str> = failing(checks);
    assert_eq!(got.len(), expected.len(), "{checks:#?}");
    for (g, e) in got.iter().zip(expected) {
        assert!(g.starts_with(e), "{g} is not {e}: {checks:#?}");
    }
}

fn v1_memory_and_pids() -> bool {
    let fs = CgroupFs::detect().unwrap();
    fs.mode != Mode::V2
        && fs.controller("memory").map(|c| c.dir) != fs.controller("pids").map(|c| c.dir)
}

#[test]
fn the_reference_and_a_solution_written_differently_pass() {
    if !privileged("the_reference_and_a_solution_written_differently_pass") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    for binary in [solution(ID), fixture("ch09_alt_correct")] {
        let checks = verify_binary(ID, &binary);
        assert_eq!(checks.len(), 9, "{checks:#?}");
        all_pass_but(&checks, &[]);
        assert!(saw(check(&checks, "--memory 64M")).contains("status 137"));
        assert!(saw(check(&checks, "--pids 20")).contains("refused"));
    }
    before.assert_same(&Host::snapshot(), "verifying chapter 9's right answers");
}

#[test]
fn each_mistake_is_rejected_with_its_diagnosis() {
    if !privileged("each_mistake_is_rejected_with_its_diagnosis") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();

    // 64 where 67108864 was asked for: the kernel rounds it to 0 pages, CMD dies at once.
    let checks = verify_binary(ID, &fixture("ch09_mib"));
    let at = check(&checks, "the memory limit");
    assert!(!at.passed(), "{checks:#?}");
    assert!(hint(at).contains("MiB"), "{at:#?}");

    // Swap left alone: the file exists on this host, so it must be held to the limit.
    let checks = verify_binary(ID, &fixture("ch09_swap_unlimited"));
    let fs = CgroupFs::detect().unwrap();
    let memory = fs.controller("memory").unwrap().dir;
    let has_swap_file = ["memory.memsw.limit_in_bytes", "memory.swap.max"]
        .iter()
        .any(|f| {
            std::fs::read_dir(&memory)
                .unwrap()
                .flatten()
                .any(|e| e.path().join(f).exists())
                || memory.join(f).exists()
        });
    if has_swap_file {
        all_pass_but(&checks, &["no swap"]);
        assert!(
            saw(check(&checks, "no swap")).contains("no limit"),
            "{checks:#?}"
        );
    } else {
        all_pass_but(&checks, &[]);
    }

    // CMD never moved: the verifier's own ceiling stops the hog, and the verdict says so.
    let checks = verify_binary(ID, &fixture("ch09_not_joined"));
    let joined = check(&checks, "CMD runs in");
    assert!(!joined.passed(), "{checks:#?}");
    assert!(
        saw(joined).contains("the verifier's own ceiling"),
        "{joined:#?}"
    );
    for later in ["--memory 64M", "--pids 20", "the last line"] {
        assert!(
            saw(check(&checks, later)).contains("not judged"),
            "{checks:#?}"
        );
    }

    // The parent moves CMD in after fork: under the verifier's schedule CMD has forked its
    // first child outside by then, every time.
    let checks = verify_binary(ID, &fixture("ch09_late_join"));
    let joined = check(&checks, "CMD runs in");
    assert!(!joined.passed(), "{checks:#?}");
    assert!(
        saw(joined).contains("moved into its cgroups after it had started"),
        "{joined:#?}"
    );

    // Always oom_kills=0.
    let checks = verify_binary(ID, &fixture("ch09_report_made_up"));
    all_pass_but(&checks, &["the last line"]);
    assert!(saw(check(&checks, "the last line")).contains("the kernel's oom_kill is 1"));

    // The cgroups left behind.
    let checks = verify_binary(ID, &fixture("ch09_not_removed"));
    all_pass_but(&checks, &["both cgroups"]);
    assert!(saw(check(&checks, "both cgroups")).contains("CGM/ch09-"));

    // pids.max in the memory tree: refused on v1 and hybrid, right on v2.
    let checks = verify_binary(ID, &fixture("ch09_pids_on_memory_tree"));
    if v1_memory_and_pids() {
        let at = check(&checks, "pids.max is N");
        assert!(!at.passed(), "{checks:#?}");
        assert!(hint(at).contains("tree of its own"), "{at:#?}");
    } else {
        all_pass_but(&checks, &[]);
    }

    before.assert_same(&Host::snapshot(), "verifying chapter 9's wrong answers");
}
