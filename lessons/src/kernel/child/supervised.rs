//! The one type for a child whose output is watched: a closure run in a forked child
//! ([`Supervised::fork`]) or a program ([`Supervised::spawn`]), in its own process group,
//! registered for undo, dying with this process. Its stdin is a pipe held open until the
//! watcher is done looking (closing it is how a waiting child is told to finish), its
//! output comes back line by line, and [`Supervised::finish`] ends it by a deadline.
//! A forked child can also send typed messages ([`crate::kernel::wire`]).

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::bail;
use crate::error::{Context, Result};
use nix::fcntl::OFlag;
use nix::unistd::{Pid, dup2_stderr, dup2_stdin, dup2_stdout, pipe2};

use super::guard::{ChildGuard, exit_now, fork_guarded};
use super::lines::Lines;
use super::{Exit, close_all_but};
use crate::kernel::wire::{self, Msg};
use crate::kernel::{procfs, undo};

/// A watched child.
pub struct Supervised {
    guard: ChildGuard,
    stdin: Option<OwnedFd>,
    out: Lines,
    /// Its stderr, when kept apart from stdout ([`Supervised::spawn`],
    /// [`Supervised::fork_wired_apart`]).
    err: Option<Lines>,
    wire: Option<wire::Receiver>,
    started: Instant,
}

/// How a watched child ended and everything it printed.
#[derive(Debug)]
pub struct Finished {
    pub exit: Exit,
    /// Its stdout lines (with stderr mixed in, for a forked child).
    pub stdout: Vec<String>,
    /// Its stderr, when kept apart; empty for a forked child whose stderr is its stdout.
    pub stderr: String,
    pub took: Duration,
}

impl Supervised {
    /// Runs `f` in a forked child, with stdout and stderr going to one pipe (as a terminal
    /// shows them). `f` returns the child's exit code, or execs. The child keeps no other
    /// descriptor of this process's.
    pub fn fork(f: impl FnOnce() -> i32) -> Result<Supervised> {
        Self::fork_inner(false, false, |_| f())
    }

    /// Like [`Supervised::fork`], and `f` can tell this process how its setup went with
    /// typed messages (see [`Supervised::wait_ready`]).
    pub fn fork_wired(f: impl FnOnce(&wire::Sender) -> i32) -> Result<Supervised> {
        Self::fork_inner(true, false, f)
    }

    /// Like [`Supervised::fork_wired`], with stderr kept apart from stdout, as
    /// [`Supervised::spawn`] keeps it: for a child that runs a program whose error
    /// messages are judged (the verifier's tracer).
    pub fn fork_wired_apart(f: impl FnOnce(&wire::Sender) -> i32) -> Result<Supervised> {
        Self::fork_inner(true, true, f)
    }

    fn fork_inner(
        wired: bool,
        apart: bool,
        f: impl FnOnce(&wire::Sender) -> i32,
    ) -> Result<Supervised> {
        let (in_r, in_w) = pipe2(OFlag::O_CLOEXEC).context("pipe")?;
        let (out_r, out_w) = pipe2(OFlag::O_CLOEXEC).context("pipe")?;
        let err = if apart {
            Some(pipe2(OFlag::O_CLOEXEC).context("pipe")?)
        } else {
            None
        };
        let (tx, rx) = wire::channel()?;
        match fork_guarded()? {
            None => {
                let _ = dup2_stdin(&in_r);
                let _ = dup2_stdout(&out_w);
                let _ = dup2_stderr(err.as_ref().map_or(&out_w, |(_, w)| w));
                drop((in_r, in_w, out_r, out_w, rx, err));
                close_all_but(&[tx.as_raw_fd()]);
                let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&tx)))
                    .unwrap_or(101);
                exit_now(code)
            }
            Some(guard) => {
                drop((in_r, out_w, tx));
                Ok(Supervised {
                    guard,
                    stdin: Some(in_w),
                    out: Lines::new(out_r),
                    err: err.map(|(r, _)| Lines::new(r)),
                    wire: wired.then_some(rx),
                    started: Instant::now(),
                })
            }
        }
    }

    /// Starts a program (`cmd` as the caller set it up: arguments, working directory,
    /// pre_exec hooks), with stdout and stderr read apart.
    pub fn spawn(cmd: &mut Command) -> Result<Supervised> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // SAFETY: runs between fork and exec; prctl allocates nothing.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
                Ok(())
            });
        }
        // Started and registered in one step (see undo::making). Reaping is the guard's
        // job from here on; std's Child is only used for its pipes.
        let (mut child, guard) = undo::making(|| {
            let child = cmd.spawn()?;
            let guard = ChildGuard::adopt(Pid::from_raw(child.id() as i32));
            Ok::<_, crate::error::Error>((child, guard))
        })
        .with_context(|| format!("starting {}", cmd.get_program().to_string_lossy()))?;
        let stdin = child.stdin.take().map(OwnedFd::from);
        let out = child.stdout.take().map(OwnedFd::from).context("stdout")?;
        let err = child.stderr.take().map(OwnedFd::from).context("stderr")?;
        Ok(Supervised {
            guard,
            stdin,
            out: Lines::new(out),
            err: Some(Lines::new(err)),
            wire: None,
            started: Instant::now(),
        })
    }

    pub fn pid(&self) -> i32 {
        self.guard.pid()
    }

    /// Every line it printed so far.
    pub fn lines(&self) -> &[String] {
        self.out.lines()
    }

    /// Reads its output until a line matches `pred` (returned), it closes its output, or
    /// `timeout` passes (both None). Only lines that came after the last call are tested.
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut checked = self.out.lines().len();
        loop {
            if let Some(l) = self.out.lines()[checked..].iter().find(|l| pred(l)) {
                return Some(l.clone());
            }
            checked = self.out.lines().len();
            self.drain_stderr();
            if !self
                .out
                .read_some(deadline.min(Instant::now() + Duration::from_millis(50)))
                && (self.out.eof || Instant::now() >= deadline)
            {
                return None;
            }
        }
    }

    /// Waits for a forked child's [`Msg::Ready`]; its [`Msg::Failed`], an early end or the
    /// deadline are the error, with what it printed.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let rx = self
            .wire
            .as_mut()
            .context("this child has no message channel")?;
        match rx.recv(deadline) {
            Some(Msg::Ready) => {
                // What it printed before it said so is in the pipe already.
                while self.out.read_some(Instant::now()) {}
                Ok(())
            }
            Some(Msg::Failed { message, .. }) => bail!("{message}"),
            Some(other) => bail!("unexpected message {other:?}"),
            None => {
                self.out.drain(Instant::now() + Duration::from_millis(200));
                let said = self.out.lines().join("; ");
                if said.is_empty() {
                    bail!("it ended or hung before it was ready, and printed nothing");
                }
                bail!("it ended or hung before it was ready: {said}")
            }
        }
    }

    /// The next typed message from a forked child, waiting until `deadline` (None at the
    /// deadline or once every sender is gone).
    pub fn message(&mut self, deadline: Instant) -> Option<Msg> {
        self.wire.as_mut()?.recv(deadline)
    }

    /// Closing stdin is how a waiting child is told to finish.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Has it ended? Reaps it if so.
    pub fn try_wait(&mut self) -> Result<Option<Exit>> {
        self.guard.try_wait()
    }

    /// Kills it and its whole process group now.
    pub fn kill(&mut self) -> Option<Exit> {
        self.guard.kill()
    }

    /// Closes its stdin, then waits up to `timeout` for it to end, killing its whole
    /// process group if it does not. Returns how it ended and everything it printed.
    pub fn finish(self, timeout: Duration) -> Finished {
        self.finish_letting_go(timeout, Duration::ZERO)
    }

    /// Like [`Supervised::finish`], but once it has ended by itself, what it forked gets
    /// up to `grace` to leave its process group (setsid) before the group is killed: a
    /// child forked just before the exit may not have been scheduled yet, and a kill
    /// aimed at the group in that instant is the watcher's doing, not the program's.
    pub fn finish_letting_go(mut self, timeout: Duration, grace: Duration) -> Finished {
        self.close_stdin();
        let deadline = Instant::now() + timeout;
        let exit = loop {
            match self.guard.try_wait() {
                Ok(Some(exit)) => break exit,
                Ok(None) if Instant::now() < deadline => {
                    // Keep its pipes flowing while it ends: a full pipe would stall it.
                    let step = (Instant::now() + Duration::from_millis(10)).min(deadline);
                    if !self.out.read_some(step) {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    self.drain_stderr();
                }
                _ => {
                    self.guard.kill();
                    break Exit::TimedOut;
                }
            }
        };
        let took = self.started.elapsed();
        if exit != Exit::TimedOut {
            let pgid = self.guard.pid();
            let end = Instant::now() + grace;
            while Instant::now() < end && !procfs::group_members(pgid).is_empty() {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        // Whatever else the group started dies with it, which also closes the pipes.
        let Supervised {
            guard,
            mut out,
            mut err,
            ..
        } = self;
        drop(guard);
        let end = Instant::now() + Duration::from_millis(500);
        out.drain(end);
        if let Some(e) = &mut err {
            e.drain(end);
        }
        Finished {
            exit,
            stdout: out.take(),
            stderr: err.map(|e| e.text()).unwrap_or_default(),
            took,
        }
    }

    fn drain_stderr(&mut self) {
        if let Some(e) = &mut self.err {
            while e.read_some(Instant::now()) {}
        }
    }
}

/// What a child run to its end printed (stdout and stderr interleaved, as a terminal
/// shows them) and how it ended.
#[derive(Debug)]
pub struct Captured {
    pub exit: Exit,
    pub output: String,
}

/// Runs `f` in a forked child with no stdin, and returns what it printed. `f` returns the
/// child's exit code (or execs). The child is killed if it is still running after
/// `timeout`.
pub fn run_captured(timeout: Duration, f: impl FnOnce() -> i32) -> Result<Captured> {
    let mut child = Supervised::fork(f)?;
    child.close_stdin();
    let deadline = Instant::now() + timeout;
    // Until EOF: everything it (and what it started) printed.
    child.out.drain(deadline);
    if !child.out.eof {
        let mut child = child;
        child.guard.kill();
        let output = child.out.text();
        return Ok(Captured {
            exit: Exit::TimedOut,
            output,
        });
    }
    let mut guard_child = child;
    let exit = guard_child.guard.wait()?;
    Ok(Captured {
        exit,
        output: guard_child.out.text(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::unistd::{ForkResult, fork, setsid};

    /// A child that forks a grandchild and exits at once; the grandchild calls setsid()
    /// only `late` later, then lives a few seconds. Was the grandchild still alive once
    /// `finish_letting_go(.., grace)` had returned?
    fn grandchild_survives(late: Duration, grace: Duration) -> bool {
        let child = Supervised::fork(move || {
            // SAFETY: the forked test child only sleeps, calls setsid and exits.
            match unsafe { fork() } {
                Ok(ForkResult::Child) => {
                    std::thread::sleep(late);
                    let _ = setsid();
                    std::thread::sleep(Duration::from_secs(3));
                    exit_now(0)
                }
                Ok(ForkResult::Parent { child }) => {
                    let line = format!("{child}\n");
                    let _ = nix::unistd::write(std::io::stdout(), line.as_bytes());
                    0
                }
                Err(_) => 1,
            }
        })
        .unwrap();
        let done = child.finish_letting_go(Duration::from_secs(5), grace);
        let pid: i32 = done.stdout[0].trim().parse().unwrap();
        // A killed grandchild is reaped by whoever adopted it: give that a moment.
        std::thread::sleep(Duration::from_millis(100));
        let alive = procfs::alive(pid);
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        alive
    }

    #[test]
    fn a_grandchild_that_leaves_the_group_in_its_grace_survives() {
        assert!(grandchild_survives(
            Duration::from_millis(50),
            Duration::from_millis(500)
        ));
    }

    #[test]
    fn a_grandchild_still_in_the_group_when_the_grace_ends_is_killed() {
        assert!(!grandchild_survives(
            Duration::from_millis(1500),
            Duration::from_millis(200)
        ));
        assert!(!grandchild_survives(
            Duration::from_millis(1500),
            Duration::ZERO
        ));
    }
}
