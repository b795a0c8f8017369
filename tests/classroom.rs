//! The GitHub Classroom template (classroom/), run the way Classroom runs it.
//!
//! Tier 1: autograding.json and classroom.yml grade every exercise of the catalogue once,
//! with the same commands and 100 points in all; grade.py gives partial credit per check
//! for a made-up report, and a zero score, not a crash, without one.
//!
//! Tier 2 (root): each test's own `run` command, through `sh -c` in the clone as Classroom
//! does, against a working copy of the exercises: untouched they score 0, holding the
//! reference solutions they score full points. As root, so without the template's
//! `sudo -E env "PATH=$PATH"` prefix (classroom/README.md says to drop it where the tests
//! already run as root), and with `./target/debug/learn-containers` standing for the
//! binary under test (the setup command, `cargo build`, is what cargo test has just done).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{privileged, serial, state_dir, working_copy, workspace};

const SUDO: &str = "sudo -E env \"PATH=$PATH\" ";
const BINARY: &str = "./target/debug/learn-containers";

/// One autograded test.
#[derive(Debug)]
struct Test {
    name: String,
    run: String,
    points: f64,
}

fn autograding() -> Vec<Test> {
    let text = std::fs::read_to_string(workspace().join("classroom/autograding.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| Test {
            name: t["name"].as_str().unwrap().to_owned(),
            run: t["run"].as_str().unwrap().to_owned(),
            points: t["points"].as_f64().unwrap(),
        })
        .collect()
}

/// The `run` of each step of classroom.yml that has one, by step name (`>-` folded
/// scalars joined with spaces, as YAML does).
fn workflow_runs() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(workspace().join("classroom/classroom.yml")).unwrap();
    let mut out = Vec::new();
    let mut name = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim();
        if let Some(n) = t.strip_prefix("- name: ") {
            name = n.to_owned();
        } else if t == "run: >-" {
            let indent = line.len() - line.trim_start().len();
            let mut run = Vec::new();
            while let Some(next) = lines.peek() {
                if next.len() - next.trim_start().len() <= indent || next.trim().is_empty() {
                    break;
                }
                run.push(next.trim().to_owned());
                lines.next();
            }
            out.push((name.clone(), run.join(" ")));
        }
    }
    out
}

/// The exercise and the points a run command grades: `--exercise ID --points P`.
fn graded(run: &str) -> (String, f64) {
    let words: Vec<&str> = run.split_whitespace().collect();
    let after = |flag: &str| {
        let i = words.iter().position(|w| *w == flag).unwrap();
        words[i + 1].to_owned()
    };
    (after("--exercise"), after("--points").parse().unwrap())
}

#[test]
fn the_template_grades_every_exercise_once_for_100_points() {
    let exercises: Vec<(u32, &str)> = lessons::chapters()
        .iter()
        .flat_map(|c| c.exercises.iter().map(move |e| (c.number, e.id)))
        .collect();
    let tests = autograding();
    assert_eq!(tests.len(), exercises.len(), "{tests:#?}");
    let runs = workflow_runs();
    for ((number, id), test) in exercises.iter().zip(&tests) {
        let (graded_id, points) = graded(&test.run);
        assert_eq!(&graded_id, id, "{test:?}");
        assert_eq!(points, test.points, "--points and points agree: {test:?}");
        assert!(
            test.run.starts_with(SUDO) && test.run.contains(&format!("verify {number} ")),
            "{test:?}"
        );
        assert!(test.name.contains(id), "{test:?}");
        // The workflow runs the same command, with the reporter's output added.
        let (_, run) = runs
            .iter()
            .find(|(name, _)| name == id)
            .unwrap_or_else(|| panic!("classroom.yml has no step {id}: {runs:?}"));
        assert_eq!(
            run.replace(" --github-output", ""),
            test.run,
            "classroom.yml and autograding.json differ for {id}"
        );
    }
    let total: f64 = tests.iter().map(|t| t.points).sum();
    assert_eq!(total, 100.0);
}

/// python3, which Classroom's runners have; a machine without it skips (fails with CI=true).
fn python() -> bool {
    if which_python() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("grade.py needs python3, and CI=true: a test that cannot run is a failure");
    }
    eprintln!("skipped: no python3 here");
    false
}

fn which_python() -> bool {
    Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// grade.py with `args`, `report` on stdin, and $GITHUB_OUTPUT set to `output`.
fn grade(args: &[&str], report: &str, output: &Path) -> Output {
    let mut child = Command::new("python3")
        .arg(workspace().join("classroom/grade.py"))
        .args(args)
        .env("GITHUB_OUTPUT", output)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(report.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The last `result=` grade.py appended for the reporter, decoded.
fn reporter_result(output: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(output).unwrap();
    let line = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("result="))
        .unwrap();
    let decoded = Command::new("base64")
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(line.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    serde_json::from_slice(&decoded.stdout).unwrap()
}

#[test]
fn grade_py_gives_partial_credit_per_check() {
    // Its processes would count as left behind by the tier-2 test, if they overlapped.
    let _turn = serial();
    if !python() {
        return;
    }
    let dir = state_dir();
    let output = dir.path().join("github-output");
    let report = r#"{"solution": false, "passed": 0, "total": 1, "exercises": [
        {"id": "ch02_pid_namespace", "chapter": 2, "source": "exercises/src/bin/ch02_pid_namespace.rs",
         "status": "fail", "score": 0.5, "checks": [
            {"name": "PID 1: CMD is PID 1", "status": "pass", "message": "ok"},
            {"name": "proc: its own /proc", "status": "fail", "message": "saw 412 entries"},
            {"name": "survivor: nothing left", "status": "pass", "message": "ok"},
            {"name": "rootfs: CMD runs in DIR", "status": "fail", "message": "saw /"}]}]}"#;
    let args = [
        "--exercise",
        "ch02_pid_namespace",
        "--points",
        "20",
        "--github-output",
    ];
    let out = grade(&args, report, &output);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "not every check passes: {said}");
    assert!(
        said.contains("SCORE ch02_pid_namespace 2/4 checks 10/20 points"),
        "{said}"
    );
    assert!(said.contains("FAIL  proc: its own /proc") && said.contains("saw 412 entries"));
    let result = reporter_result(&output);
    assert_eq!(result["max_score"], 20, "{result:#}");
    let scores: Vec<f64> = result["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["score"].as_f64().unwrap())
        .collect();
    assert_eq!(scores, [5.0, 0.0, 5.0, 0.0], "{result:#}");

    // A softer rule passes with half of the checks.
    let out = grade(
        &["--exercise", "ch02_pid_namespace", "--pass-fraction", "0.5"],
        report,
        &output,
    );
    assert_eq!(out.status.code(), Some(0));

    // No report (verify could not run): a zero score and exit 2, and still a result.
    let out = grade(&args, "", &output);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("0/0 checks 0/20 points"));
    assert_eq!(reporter_result(&output)["status"], "error");
}

/// Runs a template command as Classroom would, as root, in the clone.
fn classroom_run(run: &str, work: &Path, state: &Path, github_output: &Path) -> Output {
    let command = run
        .strip_prefix(SUDO)
        .unwrap_or_else(|| panic!("the template runs verify with sudo: {run}"))
        .replace(BINARY, env!("CARGO_BIN_EXE_learn-containers"));
    Command::new("sh")
        .arg("-c")
        .arg(&command)
        .current_dir(workspace())
        .env("LEARN_CONTAINERS_EXERCISES", work)
        .env("LEARN_CONTAINERS_STATE", state)
        .env("GITHUB_OUTPUT", github_output)
        .env_remove("LEARN_CONTAINERS_BIN_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `SCORE id p/t checks s/P points` → (passed, total, score, points).
fn score(stdout: &[u8]) -> (u32, u32, f64, f64) {
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("SCORE "))
        .unwrap_or_else(|| panic!("no SCORE line: {text}"));
    let w: Vec<&str> = line.split_whitespace().collect();
    let pair = |s: &str| {
        let (a, b) = s.split_once('/').unwrap();
        (a.parse::<f64>().unwrap(), b.parse::<f64>().unwrap())
    };
    let (passed, total) = pair(w[2]);
    let (got, points) = pair(w[4]);
    (passed as u32, total as u32, got, points)
}

#[test]
fn untouched_exercises_score_nothing_and_the_solutions_everything() {
    if !privileged("untouched_exercises_score_nothing_and_the_solutions_everything") || !python() {
        return;
    }
    let _turn = serial();
    let before = common::Host::snapshot();
    let state = state_dir();
    let output = state.path().join("github-output");

    // As the template ships: autograding.json's tests, every exercise untouched.
    let (_keep, untouched) = working_copy();
    for test in autograding() {
        let out = classroom_run(&test.run, untouched.path(), state.path(), &output);
        let said = common::text(&out);
        assert_eq!(out.status.code(), Some(1), "{}: {said}", test.name);
        let (passed, total, got, points) = score(&out.stdout);
        assert!(total > 0, "{said}");
        assert_eq!((passed, got), (0, 0.0), "{}: {said}", test.name);
        assert_eq!(points, test.points);
    }

    // The reference solutions in the learner's place: the workflow's steps, full points
    // through the reporter's output.
    let (_keep, solved) = working_copy();
    for c in lessons::chapters() {
        for e in c.exercises {
            std::fs::copy(workspace().join("solutions").join(e.file()), solved.file(e)).unwrap();
        }
    }
    for (step, run) in workflow_runs()
        .into_iter()
        .filter(|(_, r)| r.contains("grade.py"))
    {
        std::fs::write(&output, "").unwrap();
        let out = classroom_run(&run, solved.path(), state.path(), &output);
        let said = common::text(&out);
        assert_eq!(out.status.code(), Some(0), "{step}: {said}");
        let (passed, total, got, points) = score(&out.stdout);
        assert_eq!((passed, got), (total, points), "{step}: {said}");
        let result = reporter_result(&output);
        assert_eq!(result["status"], "pass", "{result:#}");
        let sum: f64 = result["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["score"].as_f64().unwrap())
            .sum();
        assert!((sum - points).abs() < 1e-6, "{result:#}");
    }
    before.assert_same(&common::Host::snapshot(), "the classroom template's tests");
}
