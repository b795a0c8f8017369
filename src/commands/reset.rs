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
    let root = workspace::root()?;
    for e in chapter.exercises {
        let path = root.join(e.source_path());
        let current = std::fs::read(&path).ok();
        if current.as_deref() == Some(e.pristine.as_bytes()) {
            say!("{} is already as shipped; nothing to do.", e.source_path())?;
            continue;
        }
        if !yes {
            if !ui::interactive() {
                return Err(CliError::Usage(format!(
                    "reset would replace your {} with the shipped version; run again with --yes (your version is backed up first)",
                    e.source_path()
                )));
            }
            let go = dialoguer::Confirm::new()
                .with_prompt(format!(
                    "Replace your {} with the shipped version? (yours is backed up first)",
                    e.source_path()
                ))
                .default(false)
                .interact()?;
            if !go {
                say!("Left {} as it is.", e.source_path())?;
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
        std::fs::write(&path, e.pristine).with_context(|| format!("writing {}", path.display()))?;
        say!("{} is back as shipped.", e.source_path())?;
    }
    Ok(Outcome::Done)
}
