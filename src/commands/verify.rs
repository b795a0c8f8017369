use std::path::Path;

use crate::error::Result;
use colored::Colorize;
use lessons::verify::build::{Built, Flavor, build};
use lessons::verify::limits::{MAX_PIDS, PidsLimit};
use lessons::verify::{Candidate, Check, Context, Status};
use lessons::workdir::WorkDir;
use lessons::{Chapter, Exercise};
use serde::Serialize;

use crate::Outcome;
use crate::cli::Format;
use crate::progress::{Progress, file_hash};
use crate::say;
use crate::ui;
use crate::workspace;

/// One exercise's verdict, as the JSON report gives it to autograders.
/// The shape is documented by docs/verify-report.schema.json (tests/verify_json.rs).
#[derive(Serialize)]
struct Verdict {
    id: &'static str,
    chapter: u32,
    /// The file the learner edits (or, with --solution, the reference solution).
    source: String,
    /// "pass", "fail" (checks failed or it did not compile)
    status: Status,
    /// Fraction of checks that pass, 0.0 to 1.0.
    score: f64,
    checks: Vec<JsonCheck>,
}

/// One check. Each key appears once: `saw`, `expected` and `hint` only when there is
/// something to say, `message` always (all three on one line, for simple graders).
#[derive(Serialize)]
struct JsonCheck {
    name: String,
    status: Status,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    saw: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

#[derive(Serialize)]
struct JsonReport {
    solution: bool,
    passed: usize,
    total: usize,
    exercises: Vec<Verdict>,
}

pub fn run(
    key: Option<&str>,
    all: bool,
    solution: bool,
    format: Format,
    bin_dir: Option<&Path>,
) -> Result<Outcome> {
    let targets: Vec<(&'static Chapter, &'static Exercise)> = if all {
        lessons::chapters()
            .iter()
            .flat_map(|c| c.exercises.iter().map(move |e| (*c, e)))
            .collect()
    } else {
        let c = super::chapter(key.unwrap_or_default())?;
        c.exercises.iter().map(|e| (c, e)).collect()
    };
    let chapters: Vec<&Chapter> = targets.iter().map(|(c, _)| *c).collect();
    super::require_privileges("verify", &chapters)?;
    super::require_bash("verify")?;
    let root = workspace::root()?;
    let work = workspace::exercises()?;
    let flavor = if solution {
        Flavor::Solution
    } else {
        Flavor::Exercise
    };
    let text = format == Format::Text;
    // Programs under test run in a pids cgroup, so a fork bomb stops at the cap.
    let limit = match PidsLimit::install(MAX_PIDS) {
        Ok(limit) => Some(limit),
        Err(why) => {
            eprintln!("note: the programs under test run without a process limit: {why}");
            None
        }
    };
    if text && !solution && workspace::moved(&work) {
        say!("(your exercises are in {})", work.path().display())?;
    }
    let mut verdicts = Vec::new();
    for (chapter, exercise) in &targets {
        let source = source(exercise, flavor);
        if text {
            let who = if solution {
                "the reference solution "
            } else {
                ""
            };
            say!(
                "{} {who}{}  ({source})",
                "Verifying".bold(),
                exercise.id.bold()
            )?;
        }
        let checks = judge(
            &root,
            &work,
            exercise,
            flavor,
            bin_dir,
            limit.as_ref(),
            text,
        )?;
        let passed = checks.iter().filter(|c| c.passed()).count();
        let ok = passed == checks.len() && !checks.is_empty();
        if text {
            let next = match flavor {
                Flavor::Exercise => Some(next_step(chapter)),
                Flavor::Solution => None,
            };
            summary(chapter, ok, passed, checks.len(), next.as_deref())?;
        }
        verdicts.push(Verdict {
            id: exercise.id,
            chapter: chapter.number,
            status: if ok { Status::Pass } else { Status::Fail },
            score: if checks.is_empty() {
                0.0
            } else {
                passed as f64 / checks.len() as f64
            },
            source,
            checks: checks
                .into_iter()
                .map(|c| JsonCheck {
                    message: c.message(),
                    name: c.name,
                    status: c.status,
                    saw: c.saw,
                    expected: c.expected,
                    hint: c.hint,
                })
                .collect(),
        });
    }
    let passed = verdicts.iter().filter(|v| v.status == Status::Pass).count();
    let total = verdicts.len();
    if format == Format::Json {
        let report = JsonReport {
            solution,
            passed,
            total,
            exercises: verdicts,
        };
        say!("{}", serde_json::to_string_pretty(&report)?)?;
    } else if all {
        say!()?;
        say!("{passed} of {total} exercises pass.")?;
    }
    Ok(if passed == total {
        Outcome::Done
    } else {
        Outcome::NotPassing
    })
}

/// Builds and verifies one exercise (the learner's, or with [`Flavor::Solution`] the
/// reference solution) and returns its checks; a compile error is one failing check.
/// With `text`, prints what `verify` shows for it: the build, then each check. A pass of
/// the learner's exercise is recorded in the progress file. `verify` and `watch` both
/// judge through here.
pub fn judge(
    root: &Path,
    work: &WorkDir,
    exercise: &Exercise,
    flavor: Flavor,
    bin_dir: Option<&Path>,
    limit: Option<&PidsLimit>,
    text: bool,
) -> Result<Vec<Check>> {
    let source = source(exercise, flavor);
    let checks = match build(root, work, flavor, exercise.id, bin_dir)? {
        Built::CompileError(msg) => {
            if text {
                say!("  building … {}", "failed".red())?;
                // cargo's own words, verbatim.
                eprint!("{msg}");
            }
            vec![
                Check::fail("build: it compiles", msg.trim_end().to_owned())
                    .hint(format!("fix the compile errors cargo reports in {source}")),
            ]
        }
        Built::Binary { path, took } => {
            if text {
                if bin_dir.is_some() {
                    say!("  prebuilt {}", path.display())?;
                } else {
                    say!("  building … ok ({:.1} s)", took.as_secs_f64())?;
                }
            }
            let candidate = Candidate {
                binary: path,
                source,
            };
            let cx = Context::new(&candidate, limit)?;
            let checks = (exercise.verify)(&cx)?;
            if text {
                for c in &checks {
                    print_check(c)?;
                }
            }
            checks
        }
    };
    if flavor == Flavor::Exercise && !checks.is_empty() && checks.iter().all(Check::passed) {
        record(work, exercise)?;
    }
    Ok(checks)
}

/// The file judged, named as in the learner's clone, whatever the working copy's place.
fn source(exercise: &Exercise, flavor: Flavor) -> String {
    match flavor {
        Flavor::Exercise => exercise.source_path(),
        Flavor::Solution => format!("solutions/{}", exercise.file()),
    }
}

/// What to do after chapter `chapter` passes: its successor's lesson.
pub fn next_step(chapter: &Chapter) -> String {
    lessons::chapters()
        .iter()
        .find(|c| c.number > chapter.number)
        .map(|c| format!("learn-containers lesson {}", c.number))
        .unwrap_or_else(|| "that was the last chapter".into())
}

fn print_check(c: &Check) -> Result<()> {
    let saw_inline = c.passed() && c.saw.is_some();
    if c.passed() {
        let tail = if saw_inline {
            format!("   {}", c.saw.as_deref().unwrap_or("").dimmed())
        } else {
            String::new()
        };
        say!("  {} {}{tail}", ui::tick(), c.name)?;
        return Ok(());
    }
    say!("  {} {}", ui::cross(), c.name)?;
    for (label, value) in [
        ("saw", &c.saw),
        ("expected", &c.expected),
        ("hint", &c.hint),
    ] {
        if let Some(v) = value {
            let body = ui::wrap(v, 16);
            say!("      {:<9} {}", label.dimmed(), body.trim_start())?;
        }
    }
    Ok(())
}

/// The verdict's last line. `next` is what a pass of the learner's exercise leads to
/// (`None`: the reference solution was verified).
pub fn summary(
    chapter: &Chapter,
    ok: bool,
    passed: usize,
    total: usize,
    next: Option<&str>,
) -> Result<()> {
    match (ok, next) {
        (true, Some(next)) => say!("{} — recorded. Next: {next}", "Passed ✔".green())?,
        (true, None) => say!("{} the reference solution passes.", "Passed ✔".green())?,
        (false, _) => say!(
            "{} · {passed} of {total} checks pass · `learn-containers hint {}` for a nudge",
            "Not passing yet".red(),
            chapter.number
        )?,
    }
    Ok(())
}

fn record(work: &WorkDir, exercise: &Exercise) -> Result<()> {
    let dir = workspace::state_dir()?;
    let mut progress = Progress::load(&dir)?;
    if let Some(h) = file_hash(&work.file(exercise)) {
        progress.record_pass(exercise.id, h);
        progress.save(&dir)?;
    }
    Ok(())
}
