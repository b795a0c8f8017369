//! Chapter 1: the verifier accepts a correct solution written differently from the
//! reference one, and rejects each classic mistake with its own diagnosis.

mod common;

use common::{Host, check, failing, fixture, privileged, serial, verify_binary};

#[test]
fn a_solution_written_differently_passes() {
    if !privileged("a_solution_written_differently_passes") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let checks = verify_binary("ch01_chroot", &fixture("ch01_alt_correct"));
    assert!(failing(&checks).is_empty(), "{checks:#?}");
    before.assert_same(&Host::snapshot(), "verifying ch01_alt_correct");
}

#[test]
fn forgetting_the_interpreter_is_named() {
    if !privileged("forgetting_the_interpreter_is_named") {
        return;
    }
    let _turn = serial();
    let checks = verify_binary("ch01_chroot", &fixture("ch01_no_interpreter"));
    let c = check(&checks, "build: /bin/bash");
    assert!(!c.passed(), "{c:#?}");
    let saw = c.saw.as_deref().unwrap();
    assert!(
        saw.contains("ENOENT") && saw.contains("ELF interpreter"),
        "{c:#?}"
    );
    assert!(
        c.hint.as_deref().unwrap().contains("without \"=>\""),
        "{c:#?}"
    );
    // The run half is unaffected.
    assert!(
        check(&checks, "run: the working directory").passed(),
        "{checks:#?}"
    );
}

#[test]
fn copying_only_the_binary_is_named() {
    if !privileged("copying_only_the_binary_is_named") {
        return;
    }
    let _turn = serial();
    let checks = verify_binary("ch01_chroot", &fixture("ch01_only_binary"));
    for name in ["build: /bin/bash", "build: /bin/ls"] {
        let c = check(&checks, name);
        assert!(!c.passed(), "{c:#?}");
        assert!(
            c.hint
                .as_deref()
                .unwrap()
                .contains("only the binary was copied"),
            "{c:#?}"
        );
    }
}

#[test]
fn chroot_without_chdir_is_named() {
    if !privileged("chroot_without_chdir_is_named") {
        return;
    }
    let _turn = serial();
    let checks = verify_binary("ch01_chroot", &fixture("ch01_no_chdir"));
    assert_eq!(
        failing(&checks),
        vec!["run: the working directory is inside the new root"],
        "{checks:#?}"
    );
    let c = check(&checks, "run: the working directory");
    assert!(
        c.saw.as_deref().unwrap().contains("outside the new root"),
        "{c:#?}"
    );
    assert!(
        c.hint.as_deref().unwrap().contains("chdir(\"/\")"),
        "{c:#?}"
    );
}

#[test]
fn exec_without_chroot_is_caught() {
    // /bin/bash -c runs on the host: the markers tell.
    if !privileged("exec_without_chroot_is_caught") {
        return;
    }
    let _turn = serial();
    let checks = verify_binary("ch01_chroot", &fixture("ch01_no_chroot"));
    for name in [
        "run: the marker",
        "run: a file outside",
        "run: the process's root",
    ] {
        assert!(!check(&checks, name).passed(), "{name}: {checks:#?}");
    }
    assert!(
        check(&checks, "run: a file outside")
            .hint
            .as_deref()
            .unwrap()
            .contains("chroot(2) was not called")
    );
}
