//! Tier 1: the command line, on any machine and without root. Bad input gets exit 2 and
//! one clear message; nothing prompts on a closed stdin; piped output is plain.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{cli, cli_env, state_dir, text};

#[test]
fn an_unknown_chapter_lists_the_real_ones() {
    let state = state_dir();
    for key in ["99", "nosuch"] {
        let out = cli(&["lesson", key], state.path());
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("there is no chapter"), "{err}");
        for c in lessons::chapters() {
            assert!(err.contains(&format!("{} ({})", c.number, c.slug)), "{err}");
        }
        assert_eq!(
            err.lines().count(),
            1,
            "one line, not a wall of text: {err}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let state = state_dir();
    for args in [
        &["lesson", "1", "--bogus"][..],
        &["verify"][..],
        &["nosuchcommand"][..],
        &["hint"][..],
        &["verify", "1", "--format", "xml"][..],
    ] {
        let out = cli(args, state.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
}

#[test]
fn hints_come_one_at_a_time_then_stop() {
    let state = state_dir();
    let c = lessons::find_chapter("1").unwrap();
    for (i, hint) in c.hints.iter().enumerate() {
        let out = cli(&["hint", "chroot"], state.path());
        assert_eq!(out.status.code(), Some(0));
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(
            s.contains(&format!("Hint {} of {}", i + 1, c.hints.len())),
            "{s}"
        );
        let first_words: String = hint
            .split_whitespace()
            .take(4)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .contains(&first_words),
            "{s}"
        );
    }
    let out = cli(&["hint", "1"], state.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("No more hints"));
}

/// A working copy of the exercises whose chapter 1 file holds `content`, and the
/// environment that points the CLI at it.
fn fake_work(content: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("learn-containers-test-work-")
        .tempdir()
        .unwrap();
    let work = lessons::workdir::WorkDir::at(&dir.path().join("exercises"));
    work.ensure(None).unwrap();
    let (_, e) = lessons::find_exercise("ch01_chroot").unwrap();
    std::fs::write(work.file(e), content).unwrap();
    dir
}

#[test]
fn reset_needs_yes_without_a_terminal_and_keeps_a_backup() {
    let state = state_dir();
    let mine = "// my own work in progress\n";
    let ws = fake_work(mine);
    let work = ws.path().join("exercises");
    let env = [("LEARN_CONTAINERS_EXERCISES", work.to_str().unwrap())];
    let file = work.join("src/bin/ch01_chroot.rs");

    let out = cli_env(&["reset", "1"], state.path(), &env);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        mine,
        "nothing changes without --yes"
    );

    let out = cli_env(&["reset", "1", "--yes"], state.path(), &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, e) = lessons::find_exercise("ch01_chroot").unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), e.shipped);
    let backups: Vec<_> = std::fs::read_dir(state.path().join("backups"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(
        std::fs::read_to_string(backups[0].path()).unwrap(),
        mine,
        "the learner's work is kept"
    );

    let out = cli_env(&["reset", "1"], state.path(), &env);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("already as shipped"));
}

#[test]
fn list_shows_progress_and_edits_since_a_pass() {
    let state = state_dir();
    let ws = fake_work("// passed version\n");
    let work = ws.path().join("exercises");
    let env = [("LEARN_CONTAINERS_EXERCISES", work.to_str().unwrap())];
    let out = cli_env(&["list"], state.path(), &env);
    assert!(String::from_utf8_lossy(&out.stdout).contains("started, not passing yet"));

    let sha: String = {
        use std::fmt::Write;
        let d = <sha2::Sha256 as sha2::Digest>::digest(b"// passed version\n");
        d.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    std::fs::write(
        state.path().join("progress.json"),
        format!(
            r#"{{"passed":{{"ch01_chroot":{{"at":"2026-11-24T10:00:00Z","sha256":"{sha}"}}}}}}"#
        ),
    )
    .unwrap();
    let out = cli_env(&["list"], state.path(), &env);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("passed 2026-11-24") && !s.contains("edited since"),
        "{s}"
    );

    std::fs::write(
        work.join("src/bin/ch01_chroot.rs"),
        "// changed after passing\n",
    )
    .unwrap();
    let out = cli_env(&["list"], state.path(), &env);
    assert!(String::from_utf8_lossy(&out.stdout).contains("passed 2026-11-24, edited since"));
}

#[test]
fn piped_output_has_no_escape_codes() {
    let state = state_dir();
    for args in [&["list"][..], &["hint", "1"][..], &["doctor"][..]] {
        let out = cli(args, state.path());
        assert!(
            !text(&out).contains('\u{1b}'),
            "{args:?} printed ANSI codes into a pipe"
        );
    }
}

#[test]
fn a_closed_stdout_is_not_a_crash() {
    let state = state_dir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_learn-containers"))
        .arg("list")
        .env("LEARN_CONTAINERS_STATE", state.path())
        .env("LEARN_CONTAINERS_EXERCISES", state.path().join("exercises"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Like any tool whose reader went away (`| head -1`): 128+SIGPIPE, and nothing said
    // (or 0, if everything fit in the pipe before the reader left).
    assert!(
        matches!(out.status.code(), Some(141 | 0)),
        "{:?} {err}",
        out.status
    );
    assert!(err.is_empty(), "{err}");
}

#[test]
fn without_root_the_cgroup_lesson_says_how_to_run_it() {
    // As root, drop to nobody for this one command; otherwise we are already unprivileged.
    let state = state_dir();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_learn-containers"));
    // Chapter 4 needs cgroups, which a user namespace does not give.
    cmd.args(["lesson", "4", "--yes"])
        .env("LEARN_CONTAINERS_STATE", state.path())
        .env("LEARN_CONTAINERS_EXERCISES", state.path().join("exercises"))
        .stdin(Stdio::null());
    if nix::unistd::geteuid().is_root() {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs root") && err.contains("sudo"), "{err}");
    assert!(!Path::new("/tmp").read_dir().unwrap().flatten().any(|e| {
        let md = e.metadata().unwrap();
        use std::os::unix::fs::MetadataExt;
        e.file_name()
            .to_string_lossy()
            .starts_with("learn-containers-")
            && md.uid() == 65534
    }));
}

#[test]
fn a_full_disk_on_stdout_is_one_clear_error() {
    let state = state_dir();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_learn-containers"))
        .arg("list")
        .env("LEARN_CONTAINERS_STATE", state.path())
        .env("LEARN_CONTAINERS_EXERCISES", state.path().join("exercises"))
        .stdin(Stdio::null())
        .stdout(full)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot write the output") && !err.contains("panicked"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn the_solution_waits_for_a_pass_unless_forced() {
    let state = state_dir();
    let out = cli(&["solution", "1"], state.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("verify 1") && err.contains("--force"),
        "what to do: {err}"
    );
    assert!(out.stdout.is_empty(), "nothing of the solution is shown");
    assert!(!state.path().join("progress.json").exists());

    let reference =
        std::fs::read_to_string(common::workspace().join("solutions/src/bin/ch01_chroot.rs"))
            .unwrap();
    // A recorded pass, as `verify 1` writes it.
    std::fs::write(
        state.path().join("progress.json"),
        r#"{"passed":{"ch01_chroot":{"at":"2026-11-24T10:00:00Z","sha256":"ab"}}}"#,
    )
    .unwrap();
    let out = cli(&["solution", "chroot"], state.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(reference.trim_end()), "{said}");
    assert!(!said.contains('\u{1b}'));
    let list = text(&cli(&["list"], state.path()));
    assert!(!list.contains("solution seen"), "{list}");

    // Forced before a pass: shown, and the progress file keeps that it was.
    let out = cli(&["solution", "2"], state.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = cli(&["solution", "2", "--force"], state.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The file chapter 2's learner works in: a module of the exercises' library.
    let (_, e) = lessons::find_exercise("ch02_pid_namespace").unwrap();
    let reference =
        std::fs::read_to_string(common::workspace().join("solutions").join(e.file())).unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(reference.trim_end()));
    let progress: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.path().join("progress.json")).unwrap())
            .unwrap();
    assert!(
        progress["solution_seen"]["ch02_pid_namespace"].is_string(),
        "{progress:#}"
    );
    assert!(
        progress["passed"]["ch01_chroot"].is_object(),
        "{progress:#}"
    );
    let list = text(&cli(&["list"], state.path()));
    let line = list
        .lines()
        .find(|l| l.contains("ch02_pid_namespace"))
        .unwrap();
    assert!(line.contains("solution seen"), "{list}");
}

#[test]
fn watch_names_what_it_cannot_watch() {
    let state = state_dir();
    let out = cli(&["watch", "99"], state.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no chapter"));

    // Every exercise passed: nothing to watch, and the way to watch one again.
    let passed: Vec<String> = lessons::chapters()
        .iter()
        .flat_map(|c| c.exercises)
        .map(|e| {
            format!(
                r#""{}":{{"at":"2026-11-24T10:00:00Z","sha256":"ab"}}"#,
                e.id
            )
        })
        .collect();
    std::fs::write(
        state.path().join("progress.json"),
        format!(r#"{{"passed":{{{}}}}}"#, passed.join(",")),
    )
    .unwrap();
    let out = cli(&["watch"], state.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Every exercise passes"),
        "{}",
        text(&out)
    );
}
