//! Chapter 3: the verifier accepts a correct solution written differently from the
//! reference one (a clone(2)d child does the work, with raw libc calls), and rejects each
//! classic mistake with its own diagnosis: including the one that only shows on a host
//! whose / is shared, which the verifier simulates in a sandbox, never on the host.

mod common;

use common::{Host, check, failing, fixture, hint, privileged, saw, serial, verify_binary};

#[test]
fn a_solution_written_differently_passes() {
    if !privileged("a_solution_written_differently_passes") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let checks = verify_binary("ch03_mount_namespace", &fixture("ch03_alt_correct"));
    assert!(failing(&checks).is_empty(), "{checks:#?}");
    assert_eq!(checks.len(), 6, "{checks:#?}");
    before.assert_same(&Host::snapshot(), "verifying ch03_alt_correct");
}

#[test]
fn skipping_ms_private_passes_on_a_private_host_and_fails_on_a_shared_one() {
    if !privileged("skipping_ms_private_passes_on_a_private_host_and_fails_on_a_shared_one") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let checks = verify_binary("ch03_mount_namespace", &fixture("ch03_no_private"));
    assert_eq!(
        failing(&checks),
        vec![
            "systemd host: with / shared, nothing propagates out",
            "exit: it exits 0 once stdin closes, and no mount remains anywhere",
        ],
        "{checks:#?}"
    );
    let c = check(&checks, "systemd host:");
    assert!(saw(c).contains("outside the program too"), "{c:#?}");
    assert!(saw(c).contains("same peer group"), "{c:#?}");
    assert!(saw(c).contains("shared:"), "{c:#?}");
    assert!(hint(c).starts_with("propagation"), "{c:#?}");
    assert!(hint(c).contains("MS_REC | MS_PRIVATE"), "{c:#?}");
    // The leak stayed in the verifier's sandbox.
    before.assert_same(&Host::snapshot(), "verifying ch03_no_private");
}

#[test]
fn mounting_without_unshare_is_named() {
    if !privileged("mounting_without_unshare_is_named") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let checks = verify_binary("ch03_mount_namespace", &fixture("ch03_no_unshare"));
    assert_eq!(
        failing(&checks),
        vec![
            "namespace: the program's ns/mnt differs from the one it was started in",
            "hidden: from outside, neither the tmpfs nor PATH/hello can be seen",
            "systemd host: with / shared, nothing propagates out",
            "exit: it exits 0 once stdin closes, and no mount remains anywhere",
        ],
        "{checks:#?}"
    );
    let ns = check(&checks, "namespace:");
    assert!(
        saw(ns).contains("the namespace it was started in"),
        "{ns:#?}"
    );
    assert!(hint(ns).contains("unshare(CLONE_NEWNS)"), "{ns:#?}");
    let hidden = check(&checks, "hidden:");
    assert!(
        saw(hidden).contains("never made a namespace of its own"),
        "{hidden:#?}"
    );
    // Not mistaken for propagation.
    assert!(
        !hint(check(&checks, "systemd host:")).contains("propagation"),
        "{checks:#?}"
    );
    before.assert_same(&Host::snapshot(), "verifying ch03_no_unshare");
}

#[test]
fn unshare_without_mounting_is_named() {
    if !privileged("unshare_without_mounting_is_named") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let checks = verify_binary("ch03_mount_namespace", &fixture("ch03_no_mount"));
    let mount = check(&checks, "mount:");
    assert!(!mount.passed(), "{mount:#?}");
    assert!(saw(mount).contains("has no mount at"), "{mount:#?}");
    let hello = check(&checks, "hello:");
    assert!(
        !hello.passed() && saw(hello).contains("the disk underneath"),
        "{hello:#?}"
    );
    let hidden = check(&checks, "hidden:");
    assert!(
        !hidden.passed() && hint(hidden).contains("mount the tmpfs first"),
        "{hidden:#?}"
    );
    assert!(check(&checks, "namespace:").passed(), "{checks:#?}");
    before.assert_same(&Host::snapshot(), "verifying ch03_no_mount");
}

#[test]
fn a_wrong_exit_status_when_stdin_closes_is_named() {
    if !privileged("a_wrong_exit_status_when_stdin_closes_is_named") {
        return;
    }
    let _turn = serial();
    let checks = verify_binary("ch03_mount_namespace", &fixture("ch03_exit_one"));
    assert_eq!(
        failing(&checks),
        vec![check(&checks, "exit:").name.as_str()],
        "{checks:#?}"
    );
}

#[test]
fn a_private_root_without_ms_rec_is_named() {
    // The sandbox lays out its mounts as a systemd host does: PATH lies on a shared /tmp
    // of its own, so making only / private still leaks.
    if !privileged("a_private_root_without_ms_rec_is_named") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let checks = verify_binary(
        "ch03_mount_namespace",
        &fixture("ch03_private_not_recursive"),
    );
    assert_eq!(
        failing(&checks),
        vec![
            "systemd host: with / shared, nothing propagates out",
            "exit: it exits 0 once stdin closes, and no mount remains anywhere",
        ],
        "{checks:#?}"
    );
    let c = check(&checks, "systemd host:");
    assert!(saw(c).contains("/ is private, but"), "{c:#?}");
    assert!(saw(c).contains("still a peer"), "{c:#?}");
    assert!(hint(c).starts_with("MS_PRIVATE alone"), "{c:#?}");
    assert!(hint(c).contains("MS_REC"), "{c:#?}");
    before.assert_same(&Host::snapshot(), "verifying ch03_private_not_recursive");
}
