//! Chapter 5: the verifier accepts a correct solution written differently from the
//! reference one (all three namespaces in the parent, the old root in a directory, the
//! cgroup joined through a pipe), and rejects each composition mistake with its own
//! diagnosis, without ever touching the host's hostname.

mod common;

use common::{Host, check, failing, fixture, hint, privileged, saw, serial, verify_binary};

const ID: &str = "ch05_run";

fn hostname() -> String {
    nix::unistd::gethostname()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_solution_written_differently_passes() {
    if !privileged("a_solution_written_differently_passes") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let checks = verify_binary(ID, &fixture("ch05_alt_correct"));
    assert!(failing(&checks).is_empty(), "{checks:#?}");
    assert_eq!(checks.len(), 12, "{checks:#?}");
    before.assert_same(&Host::snapshot(), "verifying ch05_alt_correct");
}

#[test]
fn chroot_instead_of_pivot_root_is_named() {
    if !privileged("chroot_instead_of_pivot_root_is_named") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let checks = verify_binary(ID, &fixture("ch05_chroot"));
    // Everything else works: CMD sees its rootfs, its /proc, its hostname.
    assert_eq!(
        failing(&checks),
        vec!["old root: entering CMD's mount namespace finds none of the host's mounts"],
        "{checks:#?}"
    );
    let c = check(&checks, "old root");
    let saw = c.saw.as_deref().unwrap();
    assert!(saw.contains("lands at the host's /"), "{c:#?}");
    assert!(saw.contains("is right there"), "{c:#?}");
    assert!(c.hint.as_deref().unwrap().contains("pivot_root"), "{c:#?}");
    before.assert_same(&Host::snapshot(), "verifying ch05_chroot");
}

#[test]
fn hostname_set_before_the_uts_namespace_is_named_and_the_host_keeps_its_name() {
    if !privileged("hostname_set_before_the_uts_namespace_is_named") {
        return;
    }
    let _turn = serial();
    let name = hostname();
    let checks = verify_binary(ID, &fixture("ch05_hostname_first"));
    assert_eq!(hostname(), name, "the host's hostname changed");
    assert_eq!(
        failing(&checks),
        vec!["hostname: outside, the namespace the program was started in keeps its name"],
        "{checks:#?}"
    );
    let c = check(&checks, "hostname: outside");
    assert!(
        c.saw.as_deref().unwrap().contains("was renamed from"),
        "{c:#?}"
    );
    assert!(
        c.hint
            .as_deref()
            .unwrap()
            .contains("before unshare(CLONE_NEWUTS)"),
        "{c:#?}"
    );
    // Inside, the name is right: the namespace copied it.
    assert!(check(&checks, "hostname: inside").passed(), "{checks:#?}");
}

#[test]
fn a_cgroup_joined_after_exec_misses_what_cmd_forked() {
    if !privileged("a_cgroup_joined_after_exec_misses_what_cmd_forked") {
        return;
    }
    let _turn = serial();
    let checks = verify_binary(ID, &fixture("ch05_late_cgroup"));
    let c = check(&checks, "cgroup: CMD and what it forks");
    assert!(!c.passed(), "{c:#?}");
    // The tracer saw the burner born outside: the birth is named before where it is now.
    assert!(
        c.saw
            .as_deref()
            .unwrap()
            .contains("the join happened in the parent after CMD had started"),
        "{c:#?}"
    );
    assert!(c.hint.as_deref().unwrap().contains("before exec"), "{c:#?}");
    let share = check(&checks, "--cpus 0.5");
    assert!(!share.passed(), "{share:#?}");
    assert!(
        saw(share).starts_with("not judged: the burner ran outside the capped cgroup"),
        "{share:#?}"
    );
    // The rest of the container is right.
    for name in ["PID 1", "old root", "hostname: inside", "hostname: outside"] {
        assert!(check(&checks, name).passed(), "{name}: {checks:#?}");
    }
}

#[test]
fn an_exit_status_not_passed_through_is_named() {
    if !privileged("an_exit_status_not_passed_through_is_named") {
        return;
    }
    let _turn = serial();
    let checks = verify_binary("ch05_run", &fixture("ch05_exit_zero"));
    assert_eq!(
        failing(&checks),
        vec![check(&checks, "exit:").name.as_str()],
        "{checks:#?}"
    );
}

#[test]
fn a_cgroup_left_behind_is_named() {
    if !privileged("a_cgroup_left_behind_is_named") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let checks = verify_binary("ch05_run", &fixture("ch05_keep_cgroup"));
    assert_eq!(
        failing(&checks),
        vec!["cgroup: nothing is left in CG afterwards"],
        "{checks:#?}"
    );
    // The verifier removes what the program left, with the cgroup it prepared.
    before.assert_same(&Host::snapshot(), "verifying ch05_keep_cgroup");
}

#[test]
fn no_hostname_and_no_uts_namespace_each_get_their_diagnosis() {
    if !privileged("no_hostname_and_no_uts_namespace_each_get_their_diagnosis") {
        return;
    }
    let _turn = serial();
    let name = hostname();
    let before = Host::snapshot();

    let checks = verify_binary(ID, &fixture("ch05_no_hostname"));
    assert_eq!(
        failing(&checks),
        vec!["hostname: inside, CMD is called NAME, in a UTS namespace of its own"],
        "{checks:#?}"
    );
    let c = check(&checks, "hostname: inside");
    assert!(
        c.saw.as_deref().unwrap().contains("hostname inside says"),
        "{c:#?}"
    );
    assert!(
        c.hint
            .as_deref()
            .unwrap()
            .contains("call sethostname(NAME)"),
        "{c:#?}"
    );

    let checks = verify_binary(ID, &fixture("ch05_no_uts_namespace"));
    assert_eq!(
        failing(&checks),
        vec![
            "hostname: inside, CMD is called NAME, in a UTS namespace of its own",
            "hostname: outside, the namespace the program was started in keeps its name",
        ],
        "{checks:#?}"
    );
    let c = check(&checks, "hostname: inside");
    assert!(
        c.saw
            .as_deref()
            .unwrap()
            .contains("given to everyone in it"),
        "{c:#?}"
    );
    assert!(
        c.hint.as_deref().unwrap().contains("CLONE_NEWUTS"),
        "{c:#?}"
    );
    let c = check(&checks, "hostname: outside");
    assert!(
        c.hint
            .as_deref()
            .unwrap()
            .contains("without a UTS namespace of its own"),
        "{c:#?}"
    );

    assert_eq!(hostname(), name, "the host's hostname changed");
    before.assert_same(&Host::snapshot(), "verifying the hostname fixtures");
}

#[test]
fn a_private_root_without_ms_rec_is_named_as_mounts_vanished() {
    // After a non-recursive MS_PRIVATE, detaching the old root unmounts its still-shared
    // submounts in the namespace the program was started in: on a real host, the host's.
    if !privileged("a_private_root_without_ms_rec_is_named_as_mounts_vanished") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let checks = verify_binary("ch05_run", &fixture("ch05_private_not_recursive"));
    let c = check(&checks, "mounts:");
    assert!(!c.passed(), "{checks:#?}");
    assert!(saw(c).contains("mounts vanished"), "{c:#?}");
    assert!(saw(c).contains("/sys/fs/cgroup"), "{c:#?}");
    assert!(hint(c).contains("MS_REC | MS_PRIVATE"), "{c:#?}");
    // The consequence is not blamed on anything else.
    let residue = check(&checks, "cgroup: nothing is left");
    assert!(saw(residue).starts_with("not judged"), "{residue:#?}");
    before.assert_same(&Host::snapshot(), "verifying ch05_private_not_recursive");
}

#[test]
fn a_pivot_root_that_keeps_the_old_root_is_named() {
    if !privileged("a_pivot_root_that_keeps_the_old_root_is_named") {
        return;
    }
    let _turn = serial();
    let checks = verify_binary("ch05_run", &fixture("ch05_keep_old_root"));
    assert_eq!(
        failing(&checks),
        vec!["old root: entering CMD's mount namespace finds none of the host's mounts"],
        "{checks:#?}"
    );
    let c = check(&checks, "old root:");
    assert!(saw(c).contains("still holds"), "{c:#?}");
    assert!(saw(c).contains("/.old-root"), "{c:#?}");
    assert!(hint(c).contains("umount2(PUT_OLD, MNT_DETACH)"), "{c:#?}");
}

#[test]
fn a_join_from_the_parent_after_fork_is_named() {
    if !privileged("a_join_from_the_parent_after_fork_is_named") {
        return;
    }
    let _turn = serial();
    let checks = verify_binary("ch05_run", &fixture("ch05_parent_joins_after_fork"));
    assert_eq!(
        failing(&checks),
        vec![
            "cgroup: CMD and what it forks at once are in a new cgroup under CG",
            "--cpus 0.5: the burner's CPU time / wall time is 0.5 ± 0.1"
        ],
        "{checks:#?}"
    );
    let c = check(&checks, "cgroup: CMD and");
    assert!(
        saw(c).contains("the join happened in the parent after CMD had started"),
        "{c:#?}"
    );
    assert!(hint(c).contains("before exec"), "{c:#?}");
    // The burner ran uncapped because of it: said once, in the cgroup check.
    let share = check(&checks, "--cpus 0.5");
    assert!(saw(share).starts_with("not judged"), "{share:#?}");
}

#[test]
fn a_parent_in_cmds_mount_namespace_is_named_as_the_cause() {
    if !privileged("a_parent_in_cmds_mount_namespace_is_named_as_the_cause") {
        return;
    }
    let _turn = serial();
    let checks = verify_binary("ch05_run", &fixture("ch05_remove_by_path"));
    assert_eq!(
        failing(&checks),
        vec![
            "exit: the program exits with CMD's exit status",
            "cgroup: nothing is left in CG afterwards"
        ],
        "{checks:#?}"
    );
    let c = check(&checks, "exit:");
    assert!(hint(c).contains("was in CMD's mount namespace"), "{c:#?}");
    assert!(hint(c).contains("No such file or directory"), "{c:#?}");
    let residue = check(&checks, "cgroup: nothing");
    assert!(saw(residue).starts_with("not judged"), "{residue:#?}");
}
