//! Chapter 2 · PID namespace: the program
//!
//! ```text
//!   ch02_pid_namespace [--rootfs DIR] -- CMD [ARGS]...
//! ```
//!
//! It reads its arguments and calls the functions of src/pid_namespace.rs, which is where
//! chapter 2 has you work (its header says what the program must do). Nothing to change
//! here.

use std::path::PathBuf;
use std::process::exit;

use exercises::pid_namespace::{be_pid1, run_as_pid1};

// ANCHOR: main
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (rootfs, cmd) = match args.as_slice() {
        [flag, dir, dashes, cmd @ ..]
            if flag == "--rootfs" && dashes == "--" && !cmd.is_empty() =>
        {
            (Some(PathBuf::from(dir)), cmd.to_vec())
        }
        [dashes, cmd @ ..] if dashes == "--" && !cmd.is_empty() => (None, cmd.to_vec()),
        _ => {
            eprintln!("usage: ch02_pid_namespace [--rootfs DIR] -- CMD [ARGS]...");
            exit(2);
        }
    };
    // The parent's half runs here; the child's, be_pid1, in PID 1 of the new namespace.
    match run_as_pid1(|| be_pid1(rootfs.as_deref(), &cmd)) {
        Ok(code) => exit(code),
        Err(e) => {
            eprintln!("ch02_pid_namespace: {e}");
            exit(1);
        }
    }
}
// ANCHOR_END: main
