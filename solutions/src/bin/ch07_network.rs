//! Chapter 7 · Network namespace: the program
//!
//! ```text
//!   ch07_network --veth NAME --host-addr A.B.C.D/P --container-addr E.F.G.H/P -- CMD [ARGS]...
//! ```
//!
//! It reads its arguments and forks. The child moves into a new network namespace and
//! tells the parent, which plugs a veth pair in (NAME here, eth0 in the child's
//! namespace) and tells the child to go on; the child configures its side and execs CMD.
//! The parent waits for CMD, removes the pair, and exits with CMD's status. The four
//! steps are the functions of src/network.rs, which is where chapter 7 has you work (its
//! header says what the program must do). Nothing to change here.

use std::io::{Read, Write};
use std::process::exit;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, pipe};

use exercises::network::{Veth, configure_inside, new_network_namespace, plug_in, unplug};
use exercises::pid_namespace::{child_failed, exec, exit_code};

const USAGE: &str = "usage: ch07_network --veth NAME --host-addr A.B.C.D/P --container-addr E.F.G.H/P -- CMD [ARGS]...";

fn usage(why: &str) -> ! {
    eprintln!("ch07_network: {why}\n{USAGE}");
    exit(2);
}

/// The command line, checked: the pair and its addresses, then CMD.
fn parse(args: &[String]) -> (Veth, Vec<String>) {
    let Some(dashes) = args.iter().position(|a| a == "--") else {
        usage("no `--` before CMD");
    };
    let (opts, cmd) = (&args[..dashes], &args[dashes + 1..]);
    if cmd.is_empty() {
        usage("no CMD after `--`");
    }
    let value = |flag: &str| -> String {
        match opts.iter().position(|a| a == flag) {
            Some(i) if i + 1 < opts.len() => opts[i + 1].clone(),
            _ => usage(&format!("{flag} is missing")),
        }
    };
    let name = value("--veth");
    if name.is_empty() || name.len() > 15 || name.contains('/') {
        usage(&format!(
            "--veth {name:?}: a link name has 1 to 15 bytes, no `/`"
        ));
    }
    let addr = |flag: &str| {
        value(flag)
            .parse()
            .unwrap_or_else(|e: String| usage(&format!("{flag}: {e}")))
    };
    let veth = Veth {
        name,
        host: addr("--host-addr"),
        container: addr("--container-addr"),
    };
    (veth, cmd.to_vec())
}

// ANCHOR: main
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (veth, cmd) = parse(&args);
    // Two pipes: the child says "ready" (it is in its new namespace), the parent says
    // "go" (the pair is plugged in).
    let ((ready_r, ready_w), (go_r, go_w)) = match (pipe(), pipe()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("ch07_network: pipe: {e}");
            exit(1);
        }
    };
    // SAFETY: this program has a single thread, so the child may do anything the parent
    // could; it only makes system calls before it execs or exits.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            drop((ready_r, go_w));
            if let Err(e) = new_network_namespace() {
                child_failed(&e);
            }
            let _ = std::fs::File::from(ready_w).write_all(b"r");
            let mut go = [0u8; 1];
            if !matches!(std::fs::File::from(go_r).read(&mut go), Ok(1)) {
                child_failed("the parent could not plug the pair in");
            }
            if let Err(e) = configure_inside(&veth) {
                child_failed(&e);
            }
            child_failed(&exec(&cmd))
        }
        Ok(ForkResult::Parent { child }) => {
            drop((ready_w, go_r));
            let mut ready = [0u8; 1];
            let plugged = match std::fs::File::from(ready_r).read(&mut ready) {
                Ok(1) => plug_in(&veth, child),
                _ => Err("the child ended before its namespace was made".to_owned()),
            };
            let failed = plugged.is_err();
            match plugged {
                Ok(()) => {
                    let _ = std::fs::File::from(go_w).write_all(b"g");
                }
                Err(e) => {
                    eprintln!("ch07_network: {e}");
                    let _ = kill(child, Signal::SIGKILL);
                }
            }
            let status = loop {
                match waitpid(child, None) {
                    Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                        break exit_code(status);
                    }
                    Ok(_) | Err(Errno::EINTR) => continue,
                    Err(e) => {
                        eprintln!("ch07_network: waitpid: {e}");
                        exit(1);
                    }
                }
            };
            if let Err(e) = unplug(&veth) {
                eprintln!("ch07_network: {e}");
                exit(1);
            }
            exit(if failed { 1 } else { status });
        }
        Err(e) => {
            eprintln!("ch07_network: fork: {e}");
            exit(1);
        }
    }
}
// ANCHOR_END: main
