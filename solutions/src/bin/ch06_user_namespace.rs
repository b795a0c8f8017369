//! Chapter 6 · User namespace: the program
//!
//! ```text
//!   ch06_user_namespace -- CMD [ARGS]...
//! ```
//!
//! It reads its arguments and forks. The child calls the function of
//! src/user_namespace.rs, which is where chapter 6 has you work (its header says what the
//! program must do), and then execs CMD; the parent stays outside the new namespace,
//! waits, and exits with CMD's status. Nothing to change here.

use std::process::exit;

use nix::errno::Errno;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};

use exercises::pid_namespace::{child_failed, exec, exit_code};
use exercises::user_namespace::root_in_new_user_namespace;

// ANCHOR: main
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cmd = match args.as_slice() {
        [dashes, cmd @ ..] if dashes == "--" && !cmd.is_empty() => cmd.to_vec(),
        _ => {
            eprintln!("usage: ch06_user_namespace -- CMD [ARGS]...");
            exit(2);
        }
    };
    // SAFETY: this program has a single thread, so the child may do anything the parent
    // could; it only makes system calls before it execs or exits.
    match unsafe { fork() } {
        // The child becomes root of a new user namespace, then CMD: the maps are written
        // before exec, so CMD is root from its first instruction.
        Ok(ForkResult::Child) => {
            if let Err(e) = root_in_new_user_namespace() {
                child_failed(&e);
            }
            child_failed(&exec(&cmd))
        }
        // The parent stays in the namespace it was started in, and passes CMD's status on.
        Ok(ForkResult::Parent { child }) => loop {
            match waitpid(child, None) {
                Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                    exit(exit_code(status));
                }
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(e) => {
                    eprintln!("ch06_user_namespace: waitpid: {e}");
                    exit(1);
                }
            }
        },
        Err(e) => {
            eprintln!("ch06_user_namespace: fork: {e}");
            exit(1);
        }
    }
}
// ANCHOR_END: main
