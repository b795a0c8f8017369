//! Rootless: as an unprivileged user, on a kernel that allows unprivileged user
//! namespaces, chapters 1 to 3 run (demos and verifiers) inside a user namespace that maps
//! the user to root, and chapter 6 as the user itself, with no sudo, and leave nothing
//! behind. Run as root, the test drops to `nobody` for each command.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Host, privileged, serial, text};

fn as_nobody(args: &[&str], state: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_learn-containers"))
        .args(args)
        .env("LEARN_CONTAINERS_STATE", state)
        .env("LEARN_CONTAINERS_EXERCISES", state.join("exercises"))
        .env("HOME", state)
        .stdin(Stdio::null())
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap()
}

fn open_dir(prefix: &str) -> tempfile::TempDir {
    let d = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    d
}

#[test]
fn chapters_1_to_3_and_6_run_without_root() {
    if !privileged("chapters_1_to_3_and_6_run_without_root") {
        return;
    }
    let _turn = serial();
    let state = open_dir("learn-containers-test-state-");
    let bins = open_dir("learn-containers-test-bins-");
    let before = Host::snapshot();
    for c in lessons::chapters()
        .iter()
        .filter(|c| c.number <= 3 || c.number == 6)
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
    before.assert_same(&Host::snapshot(), "chapters 1-3 and 6 as nobody");
    let doctor = text(&as_nobody(&["doctor"], state.path()));
    assert!(
        doctor.contains("rootless: chapters 1, 2, 3, 6 can run here")
            && doctor.contains("(chapter 6: as you, making its own)"),
        "{doctor}"
    );
}
