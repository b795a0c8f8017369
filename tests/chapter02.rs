//! Chapter 2: the verifier accepts a correct solution written differently from the
//! reference one (clone(2) with raw libc calls), and rejects each classic mistake with its
//! own diagnosis, without the mistake ever reaching the host's /proc or mount table.

mod common;

use common::{Host, check, failing, fixture, hint, privileged, saw, serial, verify_binary};

#[test]
fn a_solution_written_differently_passes() {
    if !privileged("a_solution_written_differently_passes") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let checks = verify_binary("ch02_pid_namespace", &fixture("ch02_alt_correct"));
    assert!(failing(&checks).is_empty(), "{checks:#?}");
    assert_eq!(checks.len(), 9, "{checks:#?}");
    before.assert_same(&Host::snapshot(), "verifying ch02_alt_correct");
}

#[test]
fn unshare_without_fork_is_named() {
    if !privileged("unshare_without_fork_is_named") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let checks = verify_binary("ch02_pid_namespace", &fixture("ch02_no_fork"));
    let first = check(&checks, "PID 1: CMD is PID 1");
    assert!(!first.passed(), "{first:#?}");
    assert!(
        saw(first).contains("still in the host's PID namespace"),
        "{first:#?}"
    );
    assert!(hint(first).contains("fork() after unshare"), "{first:#?}");
    let nspid = check(&checks, "kernel: from the host, CMD's NSpid");
    assert!(
        !nspid.passed() && hint(nspid).contains("one level"),
        "{nspid:#?}"
    );
    assert!(
        !check(&checks, "kernel: CMD's ns/pid").passed(),
        "{checks:#?}"
    );
    let pair = check(&checks, "two instances");
    assert!(
        !pair.passed() && saw(pair).contains("could signal it"),
        "{pair:#?}"
    );
    // The sleeper CMD forked became PID 1 of a namespace CMD never entered, and outlives it.
    let dies = check(&checks, "PID 1 dies");
    assert!(!dies.passed(), "{dies:#?}");
    assert!(saw(dies).contains("still running"), "{dies:#?}");
    assert!(
        hint(dies).contains("PID 1 of another namespace"),
        "{dies:#?}"
    );
    // What it does get right still passes: the checks are independent.
    assert!(check(&checks, "exit:").passed(), "{checks:#?}");
    assert!(check(&checks, "mounts:").passed(), "{checks:#?}");
    before.assert_same(&Host::snapshot(), "verifying ch02_no_fork");
}

#[test]
fn leaving_the_hosts_proc_in_place_is_named() {
    if !privileged("leaving_the_hosts_proc_in_place_is_named") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let checks = verify_binary("ch02_pid_namespace", &fixture("ch02_no_proc_remount"));
    assert_eq!(
        failing(&checks),
        vec![
            "/proc: inside, it lists only the namespace's processes",
            "--rootfs: CMD runs in DIR, and /proc there is its own",
        ],
        "{checks:#?}"
    );
    let proc = check(&checks, "/proc:");
    assert!(
        saw(proc).contains("still shows the host's PID namespace"),
        "{proc:#?}"
    );
    assert!(
        hint(proc).contains("mount a fresh proc at /proc"),
        "{proc:#?}"
    );
    let rootfs = check(&checks, "--rootfs:");
    assert!(saw(rootfs).contains("is empty"), "{rootfs:#?}");
    before.assert_same(&Host::snapshot(), "verifying ch02_no_proc_remount");
}

#[test]
fn proc_mounted_without_a_mount_namespace_is_caught_in_the_sandbox() {
    if !privileged("proc_mounted_without_a_mount_namespace_is_caught_in_the_sandbox") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let host_proc = std::fs::read_link("/proc/self").unwrap();
    let checks = verify_binary("ch02_pid_namespace", &fixture("ch02_proc_without_mount_ns"));
    assert_eq!(
        failing(&checks),
        vec!["mounts: nothing appears outside CMD's own mount namespace"],
        "{checks:#?}"
    );
    let c = check(&checks, "mounts:");
    assert!(saw(c).contains("a proc mount appeared at /proc"), "{c:#?}");
    assert!(saw(c).contains("that same namespace"), "{c:#?}");
    assert!(hint(c).contains("without a new mount namespace"), "{c:#?}");
    // The host's /proc is still the host's: the bad mount only hit the verifier's sandbox.
    assert_eq!(std::fs::read_link("/proc/self").unwrap(), host_proc);
    assert!(std::path::Path::new("/proc/1/status").exists());
    before.assert_same(&Host::snapshot(), "verifying ch02_proc_without_mount_ns");
}

#[test]
fn a_proc_that_propagates_out_is_named_as_propagation() {
    if !privileged("a_proc_that_propagates_out_is_named_as_propagation") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let checks = verify_binary("ch02_pid_namespace", &fixture("ch02_no_private"));
    assert_eq!(
        failing(&checks),
        vec!["mounts: nothing appears outside CMD's own mount namespace"],
        "{checks:#?}"
    );
    let c = check(&checks, "mounts:");
    assert!(
        saw(c).contains("has a mount namespace of its own, yet"),
        "{c:#?}"
    );
    assert!(saw(c).contains("shared:"), "{c:#?}");
    assert!(hint(c).starts_with("propagation"), "{c:#?}");
    assert!(hint(c).contains("MS_REC | MS_PRIVATE"), "{c:#?}");
    before.assert_same(&Host::snapshot(), "verifying ch02_no_private");
}

#[test]
fn an_exit_status_not_passed_through_is_named() {
    if !privileged("an_exit_status_not_passed_through_is_named") {
        return;
    }
    let _turn = serial();
    let checks = verify_binary("ch02_pid_namespace", &fixture("ch02_exit_zero"));
    assert_eq!(
        failing(&checks),
        vec![check(&checks, "exit:").name.as_str()],
        "{checks:#?}"
    );
}

#[test]
fn a_private_root_without_ms_rec_is_named() {
    if !privileged("a_private_root_without_ms_rec_is_named") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let checks = verify_binary("ch02_pid_namespace", &fixture("ch02_private_not_recursive"));
    assert_eq!(
        failing(&checks),
        vec!["mounts: nothing appears outside CMD's own mount namespace"],
        "{checks:#?}"
    );
    let c = check(&checks, "mounts:");
    assert!(saw(c).contains("its / is private"), "{c:#?}");
    assert!(saw(c).contains("not the mounts under it"), "{c:#?}");
    assert!(hint(c).starts_with("MS_PRIVATE alone"), "{c:#?}");
    assert!(hint(c).contains("MS_REC | MS_PRIVATE"), "{c:#?}");
    before.assert_same(&Host::snapshot(), "verifying ch02_private_not_recursive");
}
