use crate::error::Result;
use colored::Colorize;
use lessons::present::Stop;

use crate::Outcome;
use crate::say;
use crate::ui::{self, TermPresenter};

pub fn run(key: &str, yes: bool) -> Result<Outcome> {
    let chapter = super::chapter(key)?;
    super::require_privileges(&format!("lesson {}", chapter.number), &[chapter])?;
    super::require_bash(&format!("lesson {}", chapter.number))?;
    let head = format!("Chapter {} · {}", chapter.number, chapter.title);
    let book = format!("book: {}", chapter.book_page.trim_end_matches(".md"));
    // At least two spaces between them, when a long title leaves the line no room.
    let pad = ui::WIDTH
        .saturating_sub(head.chars().count() + book.len())
        .max(2);
    say!("{}{}{}", head.bold(), " ".repeat(pad), book.dimmed())?;
    say!("{}", ui::rule())?;
    let mut p = TermPresenter::new(chapter.steps, !yes && ui::interactive());
    let result = (chapter.demo)(&mut p);
    ui::restore_terminal();
    p.finish()?;
    match result {
        Ok(()) => {
            say!()?;
            say!("{}", ui::rule())?;
            say!("Everything this lesson created has been removed.")?;
            let work = crate::workspace::exercises()?;
            for e in chapter.exercises {
                say!(
                    "Next: the exercise {} (book/src/{}), then `learn-containers verify {}`.",
                    crate::workspace::shown(&work, e),
                    chapter.book_page,
                    chapter.number
                )?;
            }
            Ok(Outcome::Done)
        }
        Err(lessons::Error::Stop(Stop::Quit)) => {
            say!()?;
            say!("Stopped. Everything this lesson created has been removed.")?;
            Ok(Outcome::Done)
        }
        Err(e @ lessons::Error::Stop(Stop::Output(_))) => Err(e.into()),
        Err(e) => Err(anyhow::Error::new(e)
            .context(format!(
                "lesson {} stopped (everything it created has been removed); `learn-containers doctor` checks the host",
                chapter.number
            ))
            .into()),
    }
}
