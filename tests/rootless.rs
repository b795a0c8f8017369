//! Rootless: as an unprivileged user, on a kernel that allows unprivileged user
//! namespaces, chapters 1 to 3 and 7 run (demos and verifiers) inside a user namespace that
//! maps the user to root, and chapter 6 as the user itself, with no sudo, and leave nothing
//! behind. Run as root, the test drops to `nobody` for each command.

mod common;

use common::{Host, as_nobody, open_dir, privileged, serial, text};

#[test]
fn chapters_1_to_3_6_and_7_run_without_root() {
    if !privileged("chapters_1_to_3_6_and_7_run_without_root") {
        return;
    }
    let _turn = serial();
    let state = open_dir("learn-containers-test-state-");
    let bins = open_dir("learn-containers-test-bins-");
    let before = Host::snapshot();
    for c in lessons::chapters()
        .iter()
        .filter(|c| c.number <= 3 || c.number == 6 || c.number == 7)
    {
        let out = as_nobody(&["lesson", &c.number.to_string(), "--yes"], state.path());
        assert_eq!(
            out.status.code(),
            Some(0),
            "lesson {} as nobody: {}",
            c.number,
            text(&out)
        );
        for e in c.exercises {
            std::fs::copy(common::solution(e.id), bins.path().join(e.id)).unwrap();
        }
        let out = as_nobody(
            &[
                "verify",
                &c.number.to_string(),
                "--bin-dir",
                bins.path().to_str().unwrap(),
            ],
            state.path(),
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "verify {} as nobody: {}",
            c.number,
            text(&out)
        );
    }
    before.assert_same(&Host::snapshot(), "chapters 1-3, 6 and 7 as nobody");
    let doctor = text(&as_nobody(&["doctor"], state.path()));
    assert!(
        doctor.contains("rootless: chapters 1, 2, 3, 6, 7 can run here")
            && doctor.contains("(chapter 6: as you, making its own)"),
        "{doctor}"
    );
}
