//! Chapter 8: the verifier runs the program in an IPC namespace of its own (with a queue
//! in it), under the adversary, and accepts a correct solution written differently from
//! the reference one (CMD's process unshares all three namespaces and writes the offsets
//! itself, before exec). It rejects each mistake with its own diagnosis, and the host,
//! its System V IPC objects included, is left as it was.

mod common;

use common::{
    Host, check, failing, fixture, hint, privileged, saw, serial, solution, verify_binary,
};

const ID: &str = "ch08_more_namespaces";

/// The failing checks, by the words before their colon.
fn all_pass_but(checks: &[lessons::verify::Check], expected: &[&str]) {
    let got: Vec<&str> = failing(checks)
        .into_iter()
        .map(|name| name.split(':').next().unwrap())
        .collect();
    assert_eq!(got, expected, "{checks:#?}");
}

#[test]
fn the_reference_and_a_solution_written_differently_pass() {
    if !privileged("the_reference_and_a_solution_written_differently_pass") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    for binary in [solution(ID), fixture("ch08_alt_correct")] {
        let checks = verify_binary(ID, &binary);
        assert_eq!(checks.len(), 10, "{checks:#?}");
        all_pass_but(&checks, &[]);
    }
    before.assert_same(&Host::snapshot(), "verifying chapter 8's right answers");
}

#[test]
fn each_mistake_is_rejected_with_its_diagnosis() {
    if !privileged("each_mistake_is_rejected_with_its_diagnosis") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();

    // Only CLOCK_MONOTONIC: /proc/uptime counts CLOCK_BOOTTIME, and stays.
    let checks = verify_binary(ID, &fixture("ch08_only_monotonic"));
    all_pass_but(&checks, &["time", "time"]);
    assert!(
        hint(check(&checks, "time: /proc/PID/timens_offsets")).contains("only CLOCK_MONOTONIC"),
        "{checks:#?}"
    );
    assert!(
        hint(check(&checks, "time: CMD's /proc/uptime")).contains("counts CLOCK_BOOTTIME"),
        "{checks:#?}"
    );

    // Offsets written by a process already in the namespace: EACCES, clocks not offset.
    let checks = verify_binary(ID, &fixture("ch08_offsets_after_entering"));
    all_pass_but(&checks, &["time", "time"]);
    let c = check(&checks, "time: /proc/PID/timens_offsets");
    assert!(hint(c).contains("EACCES on timens_offsets"), "{c:#?}");

    // Offsets the parent writes into the child's file after fork: the adversary holds the
    // parent until CMD has exec'd, so they are always frozen by then.
    let checks = verify_binary(ID, &fixture("ch08_parent_writes_offsets"));
    all_pass_but(&checks, &["time", "time"]);
    let c = check(&checks, "time: /proc/PID/timens_offsets");
    assert!(hint(c).contains("EACCES on timens_offsets"), "{c:#?}");

    // The cgroup namespace made before the join, or the child moved by its parent after
    // fork (which the adversary makes late every time): the host's path shows inside.
    for wrong in ["ch08_cgroup_ns_before_join", "ch08_parent_joins"] {
        let checks = verify_binary(ID, &fixture(wrong));
        all_pass_but(&checks, &["cgroup"]);
        let c = check(&checks, "cgroup: inside");
        assert!(
            saw(c).contains("learn-containers/ch08-verify-"),
            "{wrong}: {c:#?}"
        );
        assert!(
            hint(c).contains("join CG/ch08-PID first"),
            "{wrong}: {c:#?}"
        );
    }

    // No IPC namespace: the verifier's queue is in plain sight.
    let checks = verify_binary(ID, &fixture("ch08_no_ipc"));
    all_pass_but(&checks, &["IPC namespace", "IPC"]);
    assert!(
        saw(check(&checks, "IPC: CMD does not see")).contains("0x6c630008"),
        "{checks:#?}"
    );

    // CMD's status lost.
    let checks = verify_binary(ID, &fixture("ch08_exit_zero"));
    all_pass_but(&checks, &["exit"]);

    before.assert_same(&Host::snapshot(), "verifying chapter 8's wrong answers");
}
