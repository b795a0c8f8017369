//! learn-containers: a workshop that builds a Linux container from kernel primitives.
//! This crate is only the command line: arguments, terminal presentation and the
//! progress file. Everything about chapters and the kernel lives in the `lessons` crate.

mod cli;
mod commands;
mod error;
mod progress;
mod rootless;
mod signals;
mod ui;
mod workspace;

use std::process::ExitCode;

use clap::Parser;

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
        let _ = lessons::kernel::undo::release_all();
        return ExitCode::from(code);
    }
    match result {
        Ok(Ok(Outcome::Done)) => ExitCode::SUCCESS,
        Ok(Ok(Outcome::NotPassing)) => ExitCode::from(1),
        Ok(Err(e)) => {
            if !e.closed_pipe() {
                ui::error(&e);
            }
            ExitCode::from(e.exit_code())
        }
        // A panic: the guards have unwound, so nothing is left behind; the default hook
        // has printed where.
        Err(_) => ExitCode::from(101),
    }
}
