use crate::error::Result;
use colored::Colorize;

use lessons::Chapter;

use crate::Outcome;
use crate::progress::Progress;
use crate::say;
use crate::ui;
use crate::workspace;

pub fn run(key: &str) -> Result<Outcome> {
    show(super::chapter(key)?, "Run it again for the next hint.")?;
    Ok(Outcome::Done)
}

/// Shows the next hint of `chapter` and counts it; `again` says how to get the one after.
pub fn show(chapter: &Chapter, again: &str) -> Result<()> {
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
        return Ok(());
    }
    say!(
        "{}",
        format!("Hint {} of {total} · chapter {}", shown + 1, chapter.number).bold()
    )?;
    say!("{}", ui::wrap(chapter.hints[shown], 2))?;
    progress.hints.insert(chapter.slug.to_owned(), shown + 1);
    progress.save(&dir)?;
    if shown + 1 < total {
        say!("{}", again.dimmed())?;
    }
    Ok(())
}
