//! For every chapter in the catalogue: the demo runs non-interactively and leaves no
//! residue, every solution passes, and every untouched exercise fails. New chapters are
//! covered by being in the catalogue.

mod common;

use common::{Host, cli, privileged, serial, state_dir, text, workspace};
use lessons::present::Recorder;

#[test]
fn every_chapter_has_its_parts() {
    let root = workspace();
    for c in lessons::chapters() {
        assert!(
            root.join("book/src").join(c.book_page).is_file(),
            "book page {} missing",
            c.book_page
        );
        assert!(!c.hints.is_empty(), "chapter {} has no hints", c.number);
        for e in c.exercises {
            assert!(
                root.join(format!("solutions/src/bin/{}.rs", e.id))
                    .is_file()
            );
            assert!(
                e.shipped.contains("todo!("),
                "{} has no todo!() for the learner",
                e.id
            );
        }
    }
}

#[test]
fn every_demo_runs_its_steps_and_leaves_nothing() {
    if !privileged("every_demo_runs_its_steps_and_leaves_nothing") {
        return;
    }
    let _turn = serial();
    for c in lessons::chapters() {
        let before = Host::snapshot();
        let mut rec = Recorder::default();
        (c.demo)(&mut rec).unwrap_or_else(|e| {
            panic!(
                "lesson {} failed: {e:#}\n{}",
                c.number,
                rec.lines.join("\n")
            )
        });
        assert_eq!(
            rec.steps, c.steps,
            "lesson {} announced {} steps but ran {}",
            c.number, c.steps, rec.steps
        );
        assert!(
            rec.lines.iter().any(|l| l.starts_with("kernel: ")),
            "lesson {} showed no kernel observation",
            c.number
        );
        before.assert_same(&Host::snapshot(), &format!("lesson {}", c.number));
    }
}

#[test]
fn every_solution_passes_and_every_untouched_exercise_fails() {
    if !privileged("every_solution_passes_and_every_untouched_exercise_fails") {
        return;
    }
    let _turn = serial();
    let state = state_dir();
    let before = Host::snapshot();
    let out = cli(
        &["verify", "--all", "--solution", "--format", "json"],
        state.path(),
    );
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for e in report["exercises"].as_array().unwrap() {
        assert_eq!(
            e["status"], "pass",
            "solution {} does not pass: {e:#}",
            e["id"]
        );
    }
    let out = cli(&["verify", "--all", "--format", "json"], state.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
    let count: usize = lessons::chapters().iter().map(|c| c.exercises.len()).sum();
    assert_eq!(report["total"], count);
    for e in report["exercises"].as_array().unwrap() {
        assert_eq!(e["status"], "fail", "untouched {} passes: {e:#}", e["id"]);
        // A check that an untouched program passes proves nothing about the learner's work.
        assert_eq!(
            e["score"], 0.0,
            "untouched {} passes some checks: {e:#}",
            e["id"]
        );
        let first = &e["checks"][0];
        assert!(
            first["message"].as_str().unwrap().contains("todo!()"),
            "untouched {} should be named as a todo!(): {first:#}",
            e["id"]
        );
    }
    before.assert_same(&Host::snapshot(), "verify --all");
}

#[test]
fn lessons_run_with_closed_stdin_and_piped_stdout() {
    if !privileged("lessons_run_with_closed_stdin_and_piped_stdout") {
        return;
    }
    let _turn = serial();
    let state = state_dir();
    for c in lessons::chapters() {
        let before = Host::snapshot();
        // No --yes: closed stdin alone must keep it from pausing.
        let out = cli(&["lesson", &c.number.to_string()], state.path());
        let all = text(&out);
        assert_eq!(out.status.code(), Some(0), "{all}");
        assert!(
            !all.contains('\u{1b}'),
            "ANSI escape codes in piped output of lesson {}",
            c.number
        );
        assert!(
            all.contains(&format!("Step {} of {}", c.steps, c.steps)),
            "{all}"
        );
        assert!(
            all.contains(c.book_page.trim_end_matches(".md")),
            "lesson {} does not name its book page",
            c.number
        );
        before.assert_same(
            &Host::snapshot(),
            &format!("lesson {} via the CLI", c.number),
        );
    }
}
