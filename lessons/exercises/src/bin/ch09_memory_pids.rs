//! Chapter 9 · Memory and pids: the program
//!
//! ```text
//!   ch09_memory_pids --memory-parent CGM --pids-parent CGP --memory BYTES --pids N -- CMD [ARGS]...
//! ```
//!
//! It checks its arguments, makes the cgroups, then calls the functions of
//! src/memory_pids.rs, which is where chapter 9 has you work (its header says what the
//! program must do), and chapter 4's join and remove. Nothing to change here, but read
//! `run`: which cgroup gets which limit, and when CMD joins them.

use std::path::{Path, PathBuf};
use std::process::exit;

use nix::errno::Errno;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};

// Chapter 4's join and remove, and chapter 2's helpers for forking.
use exercises::cgroup_cpu::{join, remove};
use exercises::memory_pids::{read_report, set_memory_limit, set_pids_limit};
use exercises::pid_namespace::{child_failed, exec, exit_code};

struct Args {
    memory_parent: PathBuf,
    pids_parent: PathBuf,
    bytes: u64,
    pids: u64,
    cmd: Vec<String>,
}

const USAGE: &str = "usage: ch09_memory_pids --memory-parent CGM --pids-parent CGP --memory BYTES --pids N -- CMD [ARGS]...";

fn main() {
    let args = match parse_args(std::env::args().skip(1).collect()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ch09_memory_pids: {e}");
            eprintln!("{USAGE}");
            exit(2);
        }
    };
    match run(&args) {
        Ok(code) => exit(code),
        Err(e) => {
            eprintln!("ch09_memory_pids: {e}");
            exit(1);
        }
    }
}

fn parse_args(args: Vec<String>) -> Result<Args, String> {
    let (mut cgm, mut cgp, mut bytes, mut pids) = (None, None, None, None);
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--memory-parent" => cgm = it.next().map(PathBuf::from),
            "--pids-parent" => cgp = it.next().map(PathBuf::from),
            "--memory" => bytes = it.next(),
            "--pids" => pids = it.next(),
            "--" => break,
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    let cmd: Vec<String> = it.collect();
    if cmd.is_empty() {
        return Err("no command given after --".into());
    }
    let number = |flag: &str, v: Option<String>| -> Result<u64, String> {
        let v = v.ok_or(format!("{flag} is missing"))?;
        match v.parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{flag} {v}: give a whole number above 0")),
        }
    };
    Ok(Args {
        memory_parent: cgm.ok_or("--memory-parent CGM is missing")?,
        pids_parent: cgp.ok_or("--pids-parent CGP is missing")?,
        bytes: number("--memory", bytes)?,
        pids: number("--pids", pids)?,
        cmd,
    })
}

// ANCHOR: run
fn run(args: &Args) -> Result<i32, String> {
    let name = format!("ch09-{}", std::process::id());
    let (memory, pids) = make_cgroups(&args.memory_parent, &args.pids_parent, &name)?;
    let result = limit_and_start(args, &memory, &pids);
    // Remove the cgroups whatever happened (CMD has ended), then report the first error.
    let removed = remove_cgroups(&memory, &pids);
    let code = result?;
    removed?;
    Ok(code)
}

/// Limits, CMD, and the report: everything between making the cgroups and removing them.
fn limit_and_start(args: &Args, memory: &Path, pids: &Path) -> Result<i32, String> {
    set_memory_limit(memory, args.bytes)?;
    set_pids_limit(pids, args.pids)?;
    let code = start_in(&[memory, pids], &args.cmd)?;
    // CMD has ended and the cgroups are still there: the kernel's counts are complete.
    let report = read_report(memory, pids)?;
    println!("{report}");
    Ok(code)
}
// ANCHOR_END: run

/// CGM/NAME and CGP/NAME: one directory when they are the same (cgroup v2).
fn make_cgroups(cgm: &Path, cgp: &Path, name: &str) -> Result<(PathBuf, PathBuf), String> {
    let (memory, pids) = (cgm.join(name), cgp.join(name));
    std::fs::create_dir(&memory).map_err(|e| format!("mkdir {}: {e}", memory.display()))?;
    if pids != memory
        && let Err(e) = std::fs::create_dir(&pids)
    {
        let _ = remove(&memory);
        return Err(format!("mkdir {}: {e}", pids.display()));
    }
    Ok((memory, pids))
}

fn remove_cgroups(memory: &Path, pids: &Path) -> Result<(), String> {
    let first = if pids != memory { remove(pids) } else { Ok(()) };
    let second = remove(memory);
    first.and(second)
}

/// Starts CMD inside every cgroup of `cgroups`, waits for it, and returns its exit code.
fn start_in(cgroups: &[&Path], cmd: &[String]) -> Result<i32, String> {
    // SAFETY: this program has a single thread, so the forked child may do anything.
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            // CMD's own process joins, before exec: the hog is limited from its first
            // byte, and everything the fork bomb forks is born inside.
            for cgroup in cgroups {
                if let Err(e) = join(cgroup) {
                    child_failed(&e);
                }
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
