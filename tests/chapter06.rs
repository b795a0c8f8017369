//! Chapter 6: the verifier runs the program as an unprivileged uid (as root, one it picks
//! that owns nothing here; as a user, the user), accepts a correct solution written
//! differently from the reference one (the parent writes the maps, the child waits on a
//! pipe), and rejects each mistake with its own diagnosis, leaving nothing behind.

mod common;

use common::{
    Host, as_nobody, check, failing, fixture, hint, open_dir, privileged, saw, serial, solution,
    text, verify_binary,
};

const ID: &str = "ch06_user_namespace";

/// Every check's title but those of `failing`.
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
    for binary in [solution(ID), fixture("ch06_alt_correct")] {
        let checks = verify_binary(ID, &binary);
        assert_eq!(checks.len(), 10, "{checks:#?}");
        all_pass_but(&checks, &[]);
        // As root, the verifier ran it as a uid of its own choosing, not as root.
        let uid_map = saw(check(&checks, "uid_map"));
        assert!(!uid_map.contains("`0 0 1`"), "{uid_map}");
    }
    before.assert_same(&Host::snapshot(), "verifying chapter 6's right answers");
}

#[test]
fn each_mistake_is_rejected_with_its_diagnosis() {
    if !privileged("each_mistake_is_rejected_with_its_diagnosis") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();

    // No map: CMD is the overflow uid, and exec left it no capability.
    let checks = verify_binary(ID, &fixture("ch06_no_map"));
    all_pass_but(
        &checks,
        &[
            "uid_map",
            "setgroups",
            "gid_map",
            "root inside",
            "capabilities",
        ],
    );
    assert!(
        saw(check(&checks, "uid_map")).contains("is empty"),
        "{checks:#?}"
    );
    assert!(
        saw(check(&checks, "root inside")).contains("is uid 65534"),
        "{checks:#?}"
    );

    // The kernel's EPERM, each on the check it belongs to; the rest "not run".
    for (wrong, at, says) in [
        ("ch06_gid_map_first", "setgroups", "EPERM on gid_map"),
        ("ch06_gid_is_uid", "gid_map", "the caller's uid"),
        ("ch06_uid_range", "uid_map", "EPERM on uid_map"),
        ("ch06_other_uid", "uid_map", "EPERM on uid_map"),
    ] {
        let checks = verify_binary(ID, &fixture(wrong));
        assert_eq!(failing(&checks).len(), 10, "{wrong}: {checks:#?}");
        let c = check(&checks, at);
        assert!(hint(c).contains(says), "{wrong}: {c:#?}");
        assert!(
            saw(check(&checks, "exit")).contains("not run"),
            "{wrong}: {checks:#?}"
        );
    }

    // Maps written by the parent after the child exec'd CMD: too late, every time.
    let checks = verify_binary(ID, &fixture("ch06_map_after_exec"));
    all_pass_but(&checks, &["root inside", "capabilities"]);
    assert!(
        saw(check(&checks, "root inside")).contains("written after CMD had exec'd"),
        "{checks:#?}"
    );

    // No user namespace: CMD runs in the program's, where it has no capability, and the
    // maps are not judged.
    let checks = verify_binary(ID, &fixture("ch06_no_userns"));
    all_pass_but(
        &checks,
        &[
            "user namespace",
            "uid_map",
            "setgroups",
            "gid_map",
            "root inside",
            "capabilities",
        ],
    );
    assert!(
        hint(check(&checks, "user namespace")).contains("unshare(CLONE_NEWUSER)"),
        "{checks:#?}"
    );
    assert!(
        saw(check(&checks, "uid_map")).contains("not judged"),
        "{checks:#?}"
    );

    // The parent exits without waiting: CMD's status is lost and CMD outlives it. Seen
    // from the host while CMD waits, or, when the program ended before CMD printed READY
    // (the two race), named at the exit check.
    let checks = verify_binary(ID, &fixture("ch06_no_wait"));
    let residue = check(&checks, "nothing is left");
    if saw(residue).contains("not run") {
        assert!(
            hint(check(&checks, "exit")).contains("waitpid"),
            "{checks:#?}"
        );
    } else {
        all_pass_but(&checks, &["exit", "nothing is left"]);
        assert!(saw(residue).contains("outlived the program"), "{checks:#?}");
    }

    // CMD's status lost.
    let checks = verify_binary(ID, &fixture("ch06_exit_zero"));
    all_pass_but(&checks, &["exit"]);
    assert!(
        saw(check(&checks, "exit")).contains("exited with status 0"),
        "{checks:#?}"
    );

    before.assert_same(&Host::snapshot(), "verifying chapter 6's wrong answers");
}

/// `learn-containers verify 6 --bin-dir DIR` as nobody: the verifier runs the program as
/// the user itself.
fn verify_as_nobody(binary: &std::path::Path) -> std::process::Output {
    let (state, bins) = (
        open_dir("learn-containers-test-state-"),
        open_dir("learn-containers-test-bins-"),
    );
    std::fs::copy(binary, bins.path().join(ID)).unwrap();
    as_nobody(
        &["verify", "6", "--bin-dir", bins.path().to_str().unwrap()],
        state.path(),
    )
}

#[test]
fn as_a_user_the_program_runs_as_that_user() {
    if !privileged("as_a_user_the_program_runs_as_that_user") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let out = verify_as_nobody(&solution(ID));
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("`0 65534 1`"), "{said}");
    assert!(
        said.contains("uid 65534 (you)") || said.contains("owned by uid 65534"),
        "{said}"
    );
    let out = verify_as_nobody(&fixture("ch06_gid_map_first"));
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("EPERM on gid_map"), "{said}");
    before.assert_same(&Host::snapshot(), "verifying chapter 6 as nobody");
}
