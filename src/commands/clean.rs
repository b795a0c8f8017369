use anyhow::Result;
use lessons::kernel::leftovers::{find_leftovers, remove};

use crate::ui;
use crate::{Outcome, Usage};

pub fn run() -> Result<Outcome> {
    let leftovers = find_leftovers();
    if leftovers.is_empty() {
        println!("nothing to clean");
        return Ok(Outcome::Done);
    }
    let mut failed = 0;
    for l in &leftovers {
        match remove(l) {
            Ok(()) => println!("  {} removed {l}", ui::tick()),
            Err(e) => {
                failed += 1;
                println!("  {} could not remove {l}: {e:#}", ui::cross());
            }
        }
    }
    if failed > 0 {
        return Err(Usage(format!(
            "{failed} leftovers could not be removed; run `sudo learn-containers clean`"
        ))
        .into());
    }
    Ok(Outcome::Done)
}
