//! Chapter 8 · IPC, cgroup and time namespaces: the program
//!
//! ```text
//!   ch08_more_namespaces --cgroup-parent CG --offset SECONDS -- CMD [ARGS]...
//! ```
//!
//! It checks its arguments, makes the cgroup CG/ch08-<its pid>, calls the function of
//! src/more_namespaces.rs, which is where chapter 8 has you work (its header says what it
//! must do), removes the cgroup once CMD has ended (chapter 4's `remove`) and exits with
//! CMD's status. Nothing to change here.

use std::path::PathBuf;
use std::process::exit;

use exercises::cgroup_cpu;
use exercises::more_namespaces::run_in_new_namespaces;

struct Args {
    cgroup_parent: PathBuf,
    offset: i64,
    cmd: Vec<String>,
}

fn main() {
    let args = match parse_args(std::env::args().skip(1).collect()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ch08_more_namespaces: {e}");
            eprintln!(
                "usage: ch08_more_namespaces --cgroup-parent CG --offset SECONDS -- CMD [ARGS]..."
            );
            exit(2);
        }
    };
    match run(&args) {
        Ok(code) => exit(code),
        Err(e) => {
            eprintln!("ch08_more_namespaces: {e}");
            exit(1);
        }
    }
}

fn parse_args(args: Vec<String>) -> Result<Args, String> {
    let (mut parent, mut offset) = (None, None);
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--cgroup-parent" => parent = it.next().map(PathBuf::from),
            "--offset" => offset = it.next(),
            "--" => break,
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    let cmd: Vec<String> = it.collect();
    let cgroup_parent = parent.ok_or("--cgroup-parent CG is missing")?;
    let offset = offset.ok_or("--offset SECONDS is missing")?;
    let offset: i64 = offset
        .parse()
        .map_err(|_| format!("--offset {offset}: not a whole number of seconds"))?;
    if cmd.is_empty() {
        return Err("no command given after --".into());
    }
    Ok(Args {
        cgroup_parent,
        offset,
        cmd,
    })
}

// ANCHOR: run
fn run(args: &Args) -> Result<i32, String> {
    let cgroup = args
        .cgroup_parent
        .join(format!("ch08-{}", std::process::id()));
    std::fs::create_dir(&cgroup).map_err(|e| format!("mkdir {}: {e}", cgroup.display()))?;
    let result = run_in_new_namespaces(&cgroup, args.offset, &args.cmd);
    // Remove the cgroup whatever happened, then report the first error.
    let removed = cgroup_cpu::remove(&cgroup);
    let code = result?;
    removed?;
    Ok(code)
}
// ANCHOR_END: run
