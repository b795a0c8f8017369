//! `learn-containers solution N`: the reference solution of chapter N's exercise, once the
//! learner's own has passed (the progress file says so). `--force` shows it before, and
//! the progress file keeps that it was seen (`list` shows it).
//!
//! The text is read at run time from `solutions/<the exercise's file>` in the workshop's clone:
//! the very file `verify N --solution` builds and the book's solution page includes.
//! Between two Rust comment lines, so `solution N > file.rs` gives a file that compiles.

use anyhow::Context;
use lessons::Chapter;

use crate::Outcome;
use crate::error::{CliError, Result};
use crate::progress::Progress;
use crate::say;
use crate::workspace;

pub fn run(key: &str, force: bool) -> Result<Outcome> {
    let chapter = super::chapter(key)?;
    let root = workspace::root()?;
    let dir = workspace::state_dir()?;
    let mut progress = Progress::load(&dir)?;
    let passed = chapter
        .exercises
        .iter()
        .all(|e| progress.passed.contains_key(e.id));
    if !passed && !force {
        return Err(CliError::Usage(refusal(chapter)));
    }
    for e in chapter.exercises {
        let rel = format!("solutions/{}", e.file());
        let path = root.join(&rel);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the reference solution {}", path.display()))?;
        if !passed {
            // Recorded before it is shown: a reader that stops early has still seen it.
            progress.record_solution_seen(e.id);
            progress.save(&dir)?;
        }
        say!(
            "// Chapter {} · the reference solution of {} ({rel}); explained in book/src/{}",
            chapter.number,
            e.id,
            chapter.solution_page()
        )?;
        say!("{}", text.trim_end())?;
        say!(
            "// End of {rel}. Yours may differ and be just as right: the verifier judges what a program does, not its text."
        )?;
    }
    Ok(Outcome::Done)
}

/// Why not yet, and what to do, in one line.
fn refusal(chapter: &Chapter) -> String {
    format!(
        "the reference solution of chapter {n} is shown once your exercise passes: run `learn-containers verify {n}` first (or `learn-containers solution {n} --force` to see it now; your progress will say so)",
        n = chapter.number
    )
}
