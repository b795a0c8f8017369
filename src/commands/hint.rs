use crate::error::Result;
use colored::Colorize;

use crate::Outcome;
use crate::progress::Progress;
use crate::say;
use crate::ui;
use crate::workspace;

pub fn run(key: &str) -> Result<Outcome> {
    let chapter = super::chapter(key)?;
    let dir = workspace::state_dir()?;
    let mut progress = Progress::load(&dir)?;
    let shown = progress.hints.get(chapter.slug).copied().unwrap_or(0);
    let total = chapter.hints.len();
    if shown >= total {
        say!(
            "No more hints for chapter {}: you have seen all {total}. `learn-containers verify {}` shows what the kernel saw, and book/src/{} walks through it.",
            chapter.number,
            chapter.number,
            chapter.book_page
        )?;
        return Ok(Outcome::Done);
    }
    say!(
        "{}",
        format!("Hint {} of {total} · chapter {}", shown + 1, chapter.number).bold()
    )?;
    say!("{}", ui::wrap(chapter.hints[shown], 2))?;
    progress.hints.insert(chapter.slug.to_owned(), shown + 1);
    progress.save(&dir)?;
    if shown + 1 < total {
        say!("{}", "Run it again for the next hint.".dimmed())?;
    }
    Ok(Outcome::Done)
}
