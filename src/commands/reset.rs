use anyhow::Context;

use crate::error::Result;

use crate::Outcome;
use crate::error::CliError;
use crate::progress::hash;
use crate::say;
use crate::ui;
use crate::workspace;

pub fn run(key: &str, yes: bool) -> Result<Outcome> {
    let chapter = super::chapter(key)?;
    let work = workspace::exercises()?;
    for e in chapter.exercises {
        let path = work.file(e);
        let shown = workspace::shown(&work, e);
        let current = std::fs::read(&path).ok();
        if current.as_deref() == Some(e.shipped.as_bytes()) {
            say!("{} is already as shipped; nothing to do.", shown)?;
            continue;
        }
        if !yes {
            if !ui::interactive() {
                return Err(CliError::Usage(format!(
                    "reset would replace your {} with the shipped version; run again with --yes (your version is backed up first)",
                    shown
                )));
            }
            let go = dialoguer::Confirm::new()
                .with_prompt(format!(
                    "Replace your {} with the shipped version? (yours is backed up first)",
                    shown
                ))
                .default(false)
                .interact()?;
            if !go {
                say!("Left {} as it is.", shown)?;
                continue;
            }
        }
        // Nothing is lost: the learner's version is kept, named by its content hash.
        if let Some(mine) = &current {
            let backups = workspace::state_dir()?.join("backups");
            std::fs::create_dir_all(&backups)?;
            let keep = backups.join(format!("{}-{}.rs", e.id, &hash(mine)[..12]));
            std::fs::write(&keep, mine)
                .with_context(|| format!("backing up to {}", keep.display()))?;
            say!("Your version is saved as {}.", keep.display())?;
        }
        work.restore(e)?;
        say!("{} is back as shipped.", shown)?;
    }
    Ok(Outcome::Done)
}
