//! Chapter 10: the verifier drives one container through its whole life (create, start,
//! pause, resume, a kill from outside, delete) with a CPU burner as CMD, accepts a right
//! answer written differently from the reference one, and rejects each mistake with its
//! own diagnosis, leaving nothing behind.

mod common;

use std::path::Path;

use common::{Host, failing, fixture, privileged, serial, solution};
use lessons::verify::Check;

const ID: &str = "ch10_lifecycle";

fn verify(binary: &Path) -> Vec<Check> {
    let c = lessons::verify::Candidate {
        binary: binary.to_owned(),
        source: format!("fixture {}", binary.display()),
    };
    let cx = lessons::verify::Context::new(&c, None).expect("a scratch dir");
    lessons::chapters::ch10_lifecycle::verify::verify(&cx)
        .expect("the verifier itself must not error")
}

/// The titles of the failing checks, up to their first `:`.
fn failing_short(checks: &[Check]) -> Vec<String> {
    failing(checks)
        .into_iter()
        .map(|n| n.split(':').next().unwrap().to_string())
        .collect()
}

fn message(checks: &[Check], starts: &str) -> String {
    checks
        .iter()
        .find(|c| c.name.starts_with(starts))
        .unwrap_or_else(|| panic!("no check {starts:?} in {checks:#?}"))
        .message()
}

#[test]
fn the_reference_and_a_solution_written_differently_pass() {
    if !privileged("the_reference_and_a_solution_written_differently_pass") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    for binary in [solution(ID), fixture("ch10_alt_correct")] {
        let checks = verify(&binary);
        assert_eq!(checks.len(), 13, "{checks:#?}");
        assert!(
            failing(&checks).is_empty(),
            "{}: {checks:#?}",
            binary.display()
        );
    }
    before.assert_same(&Host::snapshot(), "verifying chapter 10's right answers");
}

#[test]
fn each_mistake_is_rejected_with_its_diagnosis() {
    if !privileged("each_mistake_is_rejected_with_its_diagnosis") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    for (wrong, fails, at, says) in [
        (
            "ch10_exec_at_create",
            // `start` then finds it running and refuses: the rest is not judged.
            &[
                "created",
                "`state` says created",
                "start",
                "a second `start` exits 1 and changes nothing",
                "`delete` of a running container exits 1 and removes nothing",
                "pause",
                "paused",
                "`state` says paused",
                "resume",
                "killed from outside",
                "delete",
            ][..],
            "created",
            "already exec'd",
        ),
        (
            "ch10_no_session",
            // Killed with `create`'s process group: nothing is left to judge.
            &[
                "created",
                "`state` says created",
                "start",
                "`state` says running",
                "a second `start` exits 1 and changes nothing",
                "`delete` of a running container exits 1 and removes nothing",
                "pause",
                "paused",
                "`state` says paused",
                "resume",
                "killed from outside",
                "delete",
                "`state` of an unknown id exits 1",
            ][..],
            "created",
            "setsid",
        ),
        (
            "ch10_pause_sigstop",
            &["pause", "paused", "`state` says paused"][..],
            "pause",
            "SIGSTOP",
        ),
        ("ch10_pause_no_wait", &["pause"][..], "pause", "freezing"),
        (
            "ch10_status_from_file",
            // ... and so `delete` refuses a container it thinks is running.
            &["killed from outside", "delete"][..],
            "killed from outside",
            "only the kernel knows",
        ),
        (
            "ch10_delete_running",
            // What is left is not judged: the container is gone.
            &[
                "`delete` of a running container exits 1 and removes nothing",
                "pause",
                "paused",
                "`state` says paused",
                "resume",
                "killed from outside",
                "delete",
            ][..],
            "`delete` of a running",
            "is gone",
        ),
        (
            "ch10_unknown_stopped",
            &["`state` of an unknown id exits 1"][..],
            "`state` of an unknown id",
            "exited with status 0",
        ),
        (
            "ch10_keep_cgroup",
            &["delete"][..],
            "delete",
            "CG/lc-box is still there",
        ),
    ] {
        let checks = verify(&fixture(wrong));
        assert_eq!(failing_short(&checks), fails, "{wrong}: {checks:#?}");
        let m = message(&checks, at);
        assert!(m.contains(says), "{wrong}: {m}");
    }
    before.assert_same(&Host::snapshot(), "verifying chapter 10's wrong answers");
}
