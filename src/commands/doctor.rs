use crate::error::Result;
use colored::Colorize;
use lessons::doctor::{Level, examine};

use crate::Outcome;
use crate::error::CliError;
use crate::say;
use crate::ui;

pub fn run() -> Result<Outcome> {
    let report = examine();
    for f in &report.findings {
        let mark = match f.level {
            Level::Ok => ui::tick(),
            Level::Note => ui::bang(),
            Level::Problem => ui::cross(),
        };
        let mut lines = f.text.lines();
        say!("  {mark} {}", lines.next().unwrap_or(""))?;
        for l in lines {
            say!("      {l}")?;
        }
        if let Some(fix) = &f.fix {
            say!("      {} {fix}", "fix:".dimmed())?;
        }
    }
    let total = lessons::chapters().len();
    if report.can_run() {
        say!("All {total} chapters can run here. Next: `learn-containers lesson 1`.")?;
        return Ok(Outcome::Done);
    }
    let can: Vec<String> = report.runnable.iter().map(u32::to_string).collect();
    Err(CliError::Usage(format!(
        "{} of {total} chapters can run here ({}); the lines marked ✘ or ! above say what the others need",
        can.len(),
        if can.is_empty() {
            "none".into()
        } else {
            can.join(", ")
        }
    )))
}
