//! learn-containers: a workshop that builds a Linux container from kernel primitives.
//! This crate is only the command line: arguments, terminal presentation and the
//! progress file. Everything about chapters and the kernel lives in the `lessons` crate.

mod cli;
mod commands;
mod progress;
mod rootless;
mod signals;
mod ui;
mod workspace;

use std::process::ExitCode;

use clap::Parser;

/// A problem with what the learner asked for or with the host: exit code 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Usage {}

/// What a command reports back: 0 done or passed, 1 the exercise does not pass yet.
pub enum Outcome {
    Done,
    NotPassing,
}

fn main() -> ExitCode {
    // A signal that comes before the handlers are in place waits for them, rather than
    // ending the run with no exit code.
    signals::hold_until_installed();
    let args = cli::Cli::parse();
    // Before any thread exists: a threaded process cannot enter a user namespace.
    rootless::enter(&args);
    ui::init_colors();
    signals::install();
    let result = std::panic::catch_unwind(|| commands::run(args));
    signals::finish();
    // Rootless chapter 4: the delegated cgroup goes back to how it was.
    lessons::kernel::cgroup::delegation::step_back();
    if let Some(code) = signals::interrupted() {
        // The signal thread is cleaning up and exiting too; make sure of both here.
        lessons::kernel::undo::release_all();
        return ExitCode::from(code);
    }
    match result {
        Ok(Ok(Outcome::Done)) => ExitCode::SUCCESS,
        Ok(Ok(Outcome::NotPassing)) => ExitCode::from(1),
        Ok(Err(e)) => {
            ui::error(&e);
            ExitCode::from(2)
        }
        // stdout was closed (`| head -1`) or could not be written; the guards have
        // unwound, so nothing is left behind.
        Err(_) => match signals::output_failed() {
            Some(why) if why.is_empty() => ExitCode::from(141),
            Some(why) => {
                eprintln!(
                    "error: cannot write the output: {why}; check where stdout goes (a full disk?)"
                );
                ExitCode::from(2)
            }
            None => ExitCode::from(101),
        },
    }
}
