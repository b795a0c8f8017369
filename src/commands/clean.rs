use crate::error::Result;
use lessons::kernel::leftovers::{find_leftovers, remove, thaw_frozen};

use super::containers;
use crate::Outcome;
use crate::error::CliError;
use crate::say;
use crate::ui;
use lessons::kernel::net::bridge;

pub fn run() -> Result<Outcome> {
    let leftovers = find_leftovers();
    // Detached containers whose keeper was killed: their cgroups and mounts are among
    // the leftovers above; their records go too.
    let lost = containers::lost();
    // What crashed `run --net bridge`s left on the host's network.
    let net = bridge::stale();
    if leftovers.is_empty() && lost.is_empty() && net.is_empty() {
        say!("nothing to clean")?;
        return Ok(Outcome::Done);
    }
    thaw_frozen(&leftovers);
    let mut failed = 0;
    for r in &lost {
        match containers::remove(r) {
            Ok(()) => say!(
                "  {} removed the record of container {} (its keeper was killed)",
                ui::tick(),
                r.name
            )?,
            Err(e) => {
                failed += 1;
                say!("  {} {e}", ui::cross())?;
            }
        }
    }
    for l in &leftovers {
        match remove(l) {
            Ok(()) => say!("  {} removed {l}", ui::tick())?,
            Err(e) => {
                failed += 1;
                say!("  {} could not remove {l}: {e:#}", ui::cross())?;
            }
        }
    }
    if !net.is_empty() {
        match bridge::remove_stale() {
            Ok(()) => {
                for n in &net {
                    say!("  {} removed {n}", ui::tick())?;
                }
            }
            Err(e) => {
                failed += 1;
                say!("  {} could not remove {}: {e}", ui::cross(), net.join(", "))?;
            }
        }
    }
    if failed > 0 {
        return Err(CliError::Usage(format!(
            "{failed} leftovers could not be removed; run `sudo learn-containers clean`"
        )));
    }
    Ok(Outcome::Done)
}
