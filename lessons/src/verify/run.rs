//! Running a candidate binary under supervision: its own process group, a fresh work dir,
//! stdout read line by line (readiness and results travel as lines), stdin held open until
//! the verifier is done looking, and a deadline after which the whole group is killed.

use std::ffi::{CString, OsStr};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::error::{Context, Result};

use super::adversary::{self, Program};
use crate::bail;
use crate::error::Error;
pub use crate::kernel::child::Finished;
use crate::kernel::child::{Exit, Supervised};
use crate::kernel::ns::Entry;
use crate::kernel::userns::Unprivileged;
use crate::kernel::wire::Msg;

/// Caps every verifier deadline, in seconds (for slow classroom machines: raise it; for
/// tests of the timeout itself: lower it).
pub const TIMEOUT_ENV: &str = "LEARN_CONTAINERS_TIMEOUT";

/// The deadline to use: the verifier's own, unless LEARN_CONTAINERS_TIMEOUT says otherwise.
pub fn deadline(wanted: Duration) -> Duration {
    std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(wanted)
}

/// A candidate program running under supervision (see [`Supervised`]). Started through
/// [`super::Context`], directly or under the adversary's tracer.
pub struct Running {
    child: Supervised,
    /// The candidate's own pid, when a tracer stands between it and the verifier.
    program: Option<i32>,
    /// What the tracer saw: forks with the cgroups the children were born in, execs.
    events: Vec<Msg>,
}

impl Running {
    /// Starts `binary` in `cwd`; before exec it joins each cgroup whose `cgroup.procs` is
    /// in `join` (the pids limit's, then any the verifier prepared) and each namespace in
    /// `entries` in turn (a sandbox's mount namespace, a UTS sandbox).
    /// As `who`, when given: it drops to that uid last, after joining the cgroup (which
    /// only root may write to) and the namespaces.
    pub(super) fn start<S: AsRef<OsStr>>(
        binary: &Path,
        args: &[S],
        cwd: &Path,
        join: Vec<CString>,
        entries: Vec<Entry>,
        who: Option<Unprivileged>,
    ) -> Result<Running> {
        let mut cmd = Command::new(binary);
        cmd.args(args).current_dir(cwd).env("RUST_BACKTRACE", "0");
        if !join.is_empty() {
            // SAFETY: runs between fork and exec; join() only opens, writes and closes.
            unsafe {
                cmd.pre_exec(move || join.iter().try_for_each(|p| super::limits::join(p)));
            }
        }
        if !entries.is_empty() {
            let dir = CString::new(cwd.as_os_str().as_encoded_bytes())?;
            // SAFETY: runs between fork and exec; enter() and chdir only make syscalls.
            unsafe {
                cmd.pre_exec(move || {
                    for entry in &entries {
                        entry.enter()?;
                    }
                    // setns(2) moved the working directory to the namespace's /.
                    nix::unistd::chdir(dir.as_c_str())?;
                    Ok(())
                });
            }
        }
        if let Some(who) = who {
            // SAFETY: runs between fork and exec; become_it() only makes syscalls. The
            // parent-death signal Supervised::spawn sets comes after it (a change of
            // credentials would clear it).
            unsafe {
                cmd.pre_exec(move || who.become_it());
            }
        }
        let child = Supervised::spawn(&mut cmd)
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Running {
            child,
            program: None,
            events: Vec::new(),
        })
    }

    /// Starts the candidate under the adversary (see [`super::adversary`]).
    pub(super) fn start_traced(program: Program) -> Result<Running> {
        let binary = program.binary.clone();
        let mut child = Supervised::fork_wired_apart(move |tx| adversary::trace(program, tx))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let pid = match child.message(deadline) {
            Some(Msg::Pid { pid }) => pid,
            Some(Msg::Failed { message, .. }) => return Err(Error::msg(message)),
            _ => bail!("the verifier's tracer did not start {}", binary.display()),
        };
        Ok(Running {
            child,
            program: Some(pid),
            events: Vec::new(),
        })
    }

    /// The candidate's pid.
    pub fn pid(&self) -> i32 {
        self.program.unwrap_or_else(|| self.child.pid())
    }

    /// What the tracer has seen so far (nothing for an untraced candidate).
    pub fn events(&mut self) -> &[Msg] {
        if self.program.is_some() {
            while let Some(m) = self.child.message(Instant::now()) {
                self.events.push(m);
            }
        }
        &self.events
    }

    /// Waits up to `timeout` for a stdout line matching `pred`. None if the program ended
    /// or the time ran out first.
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        self.child.wait_for(deadline(timeout), pred)
    }

    /// Lines read so far.
    pub fn seen(&self) -> &[String] {
        self.child.lines()
    }

    /// Closing stdin is how the verifier tells a waiting exercise to finish.
    pub fn close_stdin(&mut self) {
        self.child.close_stdin();
    }

    /// Closes stdin and waits up to `timeout` for the program to end; kills its whole
    /// process group if it does not.
    pub fn finish(self, timeout: Duration) -> Finished {
        self.child.finish(deadline(timeout))
    }

    /// Like [`Running::finish`], and what the program forked gets `grace` after its
    /// exit to leave the process group before the group is killed (see
    /// [`crate::kernel::child::Supervised::finish_letting_go`]).
    pub fn finish_letting_go(self, timeout: Duration, grace: Duration) -> Finished {
        self.child.finish_letting_go(deadline(timeout), grace)
    }

    /// Like [`Running::finish`], and returns every event the tracer saw.
    pub fn finish_traced(mut self, timeout: Duration) -> (Finished, Vec<Msg>) {
        self.events();
        let Running {
            child, mut events, ..
        } = self;
        let mut child = child;
        child.close_stdin();
        // Events still in the pipe come before its end.
        let end = Instant::now() + deadline(timeout);
        let done = loop {
            match child.message(end) {
                Some(m) => events.push(m),
                None => break child.finish(deadline(timeout)),
            }
        };
        (done, events)
    }
}

/// A `todo!()` or other panic in the learner's program: (location, message).
pub fn panic_of(stderr: &str) -> Option<(String, String)> {
    let mut lines = stderr.lines();
    while let Some(l) = lines.next() {
        if let Some(at) = l.split("panicked at ").nth(1) {
            let location = at.trim_end_matches(':').to_owned();
            let message = lines.next().unwrap_or("").trim().to_owned();
            return Some((location, message));
        }
    }
    None
}

/// One line saying how the program ended, in the learner's terms: a todo!() still to
/// write, a panic, a crash, a timeout, or an error exit with its last message; and
/// whether it ran into the verifier's process limit (`limit_hit`: the limit).
pub fn describe(f: &Finished, limit_hit: Option<u32>) -> String {
    let what = describe_exit(f);
    match limit_hit {
        Some(max) => format!(
            "{what}; it hit the verifier's limit of {max} processes (a fork bomb, or forking in a loop?)"
        ),
        None => what,
    }
}

fn describe_exit(f: &Finished) -> String {
    if let Some((location, message)) = panic_of(&f.stderr) {
        if let Some(todo) = message.strip_prefix("not yet implemented") {
            let todo = todo.trim_start_matches(':').trim();
            return format!("reached a todo!() at {location}: {todo}");
        }
        return format!("panicked at {location}: {message}");
    }
    match f.exit {
        Exit::TimedOut => format!(
            "timed out after {} s and was killed with everything it started",
            f.took.as_secs()
        ),
        Exit::Signal(s) => format!("was killed by {}", s.as_str()),
        Exit::Code(0) => "exited with status 0".to_owned(),
        Exit::Code(c) => match f.stderr.lines().rev().find(|l| !l.trim().is_empty()) {
            Some(last) => format!("exited with status {c}: {}", last.trim()),
            None => format!("exited with status {c}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_todo() {
        let err = "\nthread 'main' panicked at exercises/src/bin/ch01_chroot.rs:42:5:\nnot yet implemented: chroot into ROOTFS\nnote: run with `RUST_BACKTRACE=1`\n";
        let f = Finished {
            exit: Exit::Code(101),
            stdout: vec![],
            stderr: err.into(),
            took: Duration::ZERO,
        };
        assert_eq!(
            describe(&f, None),
            "reached a todo!() at exercises/src/bin/ch01_chroot.rs:42:5: chroot into ROOTFS"
        );
    }

    #[test]
    fn reads_an_error_exit() {
        let f = Finished {
            exit: Exit::Code(1),
            stdout: vec![],
            stderr: "Error: chroot: EPERM\n\n".into(),
            took: Duration::ZERO,
        };
        assert_eq!(
            describe(&f, None),
            "exited with status 1: Error: chroot: EPERM"
        );
    }
}
