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
        say!("  {:>2}  {:<18} {}", c.number, c.slug.bold(), c.title)?;
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
            say!("      {:<22} {status}", e.id)?;
        }
    }
    say!()?;
    say!(
        "Next: `learn-containers lesson N` for a chapter's demo, `learn-containers verify N` to check your exercise."
    )?;
    Ok(Outcome::Done)
}
