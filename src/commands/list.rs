use crate::error::Result;
use colored::Colorize;

use crate::Outcome;
use crate::progress::{Progress, Standing};
use crate::say;
use crate::workspace;

pub fn run() -> Result<Outcome> {
    let work = workspace::exercises()?;
    let progress = Progress::load(&workspace::state_dir()?)?;
    for c in lessons::chapters() {
        let quiz = match progress.quiz.get(c.slug) {
            Some(q) => format!("quiz {} of {}", q.best, q.of),
            None => "quiz not taken".to_owned(),
        };
        say!(
            "  {:>2}  {:<18} {:<46} {}",
            c.number,
            c.slug.bold(),
            c.title,
            quiz.dimmed()
        )?;
        for e in c.exercises {
            let current = std::fs::read(work.file(e)).ok();
            let status = match progress.standing(e.id, current.as_deref(), e.shipped) {
                Standing::NotStarted => format!("{} not started", "·".dimmed()),
                Standing::Started => format!("{} started, not passing yet", "·".dimmed()),
                Standing::Passed { date } => format!("{} passed {date}", crate::ui::tick()),
                Standing::EditedSincePass { date } => {
                    format!("{} passed {date}, edited since", crate::ui::bang())
                }
            };
            let seen = if progress.solution_seen.contains_key(e.id) {
                format!("   {}", "(solution seen before passing)".dimmed())
            } else {
                String::new()
            };
            say!("      {:<22} {status}{seen}", e.id)?;
        }
    }
    say!()?;
    say!(
        "Next: `learn-containers lesson N` for a chapter's demo, `learn-containers watch` to verify your exercise on every save, `learn-containers quiz N` to check yourself."
    )?;
    Ok(Outcome::Done)
}
