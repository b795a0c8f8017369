//! Chapter 4 · cgroups: the program
//!
//! ```text
//!   ch04_cgroup_cpu --parent DIR --cpus CPUS -- CMD [ARGS]...
//! ```
//!
//! It checks its arguments, then calls the functions of src/cgroup_cpu.rs, which is where
//! chapter 4 has you work (its header says what the program must do). Nothing to change
//! here, but read `start_in`: how CMD gets into the cgroup is part of the lesson.

use std::path::{Path, PathBuf};
use std::process::exit;

use nix::errno::Errno;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};

use exercises::cgroup_cpu::{self, PERIOD_US};
// Chapter 2's given helpers, the same in every exercise that forks.
use exercises::pid_namespace::{child_failed, exec, exit_code};

struct Args {
    parent: PathBuf,
    cpus: f64,
    cmd: Vec<String>,
}

fn main() {
    let args = match parse_args(std::env::args().skip(1).collect()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ch04_cgroup_cpu: {e}");
            eprintln!("usage: ch04_cgroup_cpu --parent DIR --cpus CPUS -- CMD [ARGS]...");
            exit(2);
        }
    };
    match run(&args) {
        Ok(code) => exit(code),
        Err(e) => {
            eprintln!("ch04_cgroup_cpu: {e}");
            exit(1);
        }
    }
}

fn parse_args(args: Vec<String>) -> Result<Args, String> {
    let (mut parent, mut cpus) = (None, None);
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--parent" => parent = it.next().map(PathBuf::from),
            "--cpus" => cpus = it.next(),
            "--" => break,
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    let cmd: Vec<String> = it.collect();
    let parent = parent.ok_or("--parent DIR is missing")?;
    let cpus = cpus.ok_or("--cpus CPUS is missing")?;
    if cmd.is_empty() {
        return Err("no command given after --".into());
    }
    let cpus: f64 = cpus
        .parse()
        .map_err(|_| format!("--cpus {cpus}: not a number"))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if !cpus.is_finite() || cpus <= 0.0 {
        return Err(format!(
            "--cpus {cpus}: give a number of CPUs above 0, such as 0.5"
        ));
    }
    if cpus > cores as f64 {
        return Err(format!(
            "--cpus {cpus}: this machine has {cores} CPUs; a quota above that could never \
             be used up, so it would not limit anything"
        ));
    }
    // The kernel refuses quotas below 1000 µs.
    if (cpus * PERIOD_US as f64).round() < 1000.0 {
        return Err(format!("--cpus {cpus}: the smallest limit is 0.01 CPUs"));
    }
    Ok(Args { parent, cpus, cmd })
}

// ANCHOR: run
fn run(args: &Args) -> Result<i32, String> {
    let name = format!("ch04-{}", std::process::id());
    let cgroup = cgroup_cpu::create(&args.parent, &name, args.cpus)?;
    let result = start_in(&cgroup, &args.cmd);
    // Remove the cgroup whatever happened, then report the first error.
    let removed = cgroup_cpu::remove(&cgroup);
    let code = result?;
    removed?;
    Ok(code)
}

/// Starts CMD inside `cgroup`, waits for it, and returns its exit code.
fn start_in(cgroup: &Path, cmd: &[String]) -> Result<i32, String> {
    // SAFETY: this program has a single thread, so the forked child may do anything.
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            // CMD's process joins the cgroup itself, after fork and before exec: CMD is
            // capped from its first instruction, and so is everything it forks. Started
            // first and moved in afterwards, it would run uncapped for a moment, and a
            // child it forked in that moment would stay outside the cgroup for good.
            if let Err(e) = cgroup_cpu::join(cgroup) {
                child_failed(&e);
            }
            child_failed(&exec(cmd))
        }
        ForkResult::Parent { child } => loop {
            match waitpid(child, None) {
                Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                    return Ok(exit_code(status));
                }
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(e) => return Err(format!("waitpid: {e}")),
            }
        },
    }
}
// ANCHOR_END: run
