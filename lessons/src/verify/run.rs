//! Running a candidate binary under supervision: its own process group, a fresh work dir,
//! stdout read line by line (readiness and results travel as lines), stdin held open until
//! the verifier is done looking, and a deadline after which the whole group is killed.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::kernel::child::{ChildGuard, Exit};
use crate::kernel::ns::{Entry, Sandbox};

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

pub struct Running {
    guard: ChildGuard,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Receiver<String>,
    started: Instant,
}

/// How a candidate ended and everything it printed.
#[derive(Debug)]
pub struct Finished {
    pub exit: Exit,
    pub stdout: Vec<String>,
    pub stderr: String,
    pub took: Duration,
}

impl Running {
    pub fn start<S: AsRef<OsStr>>(binary: &Path, args: &[S], cwd: &Path) -> Result<Running> {
        Self::start_with(binary, args, cwd, Vec::new())
    }

    /// Like [`Running::start`], but the candidate enters `sandbox`'s mount namespace just
    /// before exec: whatever it mounts by mistake lands there, not on the host.
    pub fn start_in<S: AsRef<OsStr>>(
        binary: &Path,
        args: &[S],
        cwd: &Path,
        sandbox: &Sandbox,
    ) -> Result<Running> {
        Self::start_with(binary, args, cwd, vec![sandbox.entry()])
    }

    /// Like [`Running::start_in`], joining each namespace in `entries` in turn (a
    /// [`Sandbox`]'s mount namespace, a [`crate::kernel::ns::UtsSandbox`], ...).
    pub fn start_joining<S: AsRef<OsStr>>(
        binary: &Path,
        args: &[S],
        cwd: &Path,
        entries: &[Entry],
    ) -> Result<Running> {
        Self::start_with(binary, args, cwd, entries.to_vec())
    }

    fn start_with<S: AsRef<OsStr>>(
        binary: &Path,
        args: &[S],
        cwd: &Path,
        entries: Vec<Entry>,
    ) -> Result<Running> {
        let mut cmd = Command::new(binary);
        cmd.args(args)
            .current_dir(cwd)
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if let Some(procs) = super::limits::active() {
            // SAFETY: runs between fork and exec; join() only opens, writes and closes.
            unsafe {
                cmd.pre_exec(move || super::limits::join(&procs));
            }
        }
        if !entries.is_empty() {
            let dir = std::ffi::CString::new(cwd.as_os_str().as_encoded_bytes())?;
            // SAFETY: runs between fork and exec; enter() and chdir only make syscalls.
            unsafe {
                cmd.pre_exec(move || {
                    for entry in &entries {
                        entry.enter()?;
                    }
                    // setns(2) moved the working directory to the namespace's /.
                    if libc::chdir(dir.as_ptr()) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        // Started and registered in one step (see cleanup::making). Reaping is
        // ChildGuard's job from here on; std's Child is only used for its pipes.
        let (mut child, guard) = crate::kernel::cleanup::making(|| {
            let child = cmd
                .spawn()
                .with_context(|| format!("starting {}", binary.display()))?;
            let guard = ChildGuard::adopt(nix::unistd::Pid::from_raw(child.id() as i32));
            anyhow::Ok((child, guard))
        })?;
        let (tx, lines) = channel();
        let out = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (etx, stderr) = channel();
        let mut err = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = err.read_to_end(&mut buf);
            let _ = etx.send(String::from_utf8_lossy(&buf).into_owned());
        });
        Ok(Running {
            guard,
            stdin: child.stdin.take(),
            lines,
            seen: Vec::new(),
            stderr,
            started: Instant::now(),
        })
    }

    pub fn pid(&self) -> i32 {
        self.guard.pid()
    }

    /// Waits up to `timeout` for a stdout line matching `pred`. None if the program ended
    /// or the time ran out first.
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + deadline(timeout);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return Some(line);
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    return None;
                }
            }
        }
    }

    /// Lines read so far.
    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    /// Closing stdin is how the verifier tells a waiting exercise to finish.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Closes stdin and waits up to `timeout` for the program to end; kills its whole
    /// process group if it does not.
    pub fn finish(mut self, timeout: Duration) -> Finished {
        self.close_stdin();
        let deadline = Instant::now() + deadline(timeout);
        let exit = loop {
            match self.guard.try_wait() {
                Ok(Some(exit)) => break exit,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => {
                    self.guard.kill();
                    break Exit::TimedOut;
                }
            }
        };
        let took = self.started.elapsed();
        // Whatever else the group started dies with it, which also closes the pipes.
        drop(self.guard);
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            self.seen.push(line);
        }
        let stderr = self
            .stderr
            .recv_timeout(Duration::from_secs(1))
            .unwrap_or_default();
        Finished {
            exit,
            stdout: self.seen,
            stderr,
            took,
        }
    }
}

/// Runs a candidate to completion with no stdin interaction.
pub fn run_to_end<S: AsRef<OsStr>>(
    binary: &Path,
    args: &[S],
    cwd: &Path,
    timeout: Duration,
) -> Result<Finished> {
    let mut r = Running::start(binary, args, cwd)?;
    r.close_stdin();
    Ok(r.finish(timeout))
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

impl Finished {
    pub fn succeeded(&self) -> bool {
        self.exit == Exit::Code(0)
    }

    /// One line saying how the program ended, in the learner's terms: a todo!() still to
    /// write, a panic, a crash, a timeout, or an error exit with its last message.
    pub fn describe(&self) -> String {
        let what = self.describe_exit();
        match super::limits::hit() {
            Some(max) => format!(
                "{what}; it hit the verifier's limit of {max} processes (a fork bomb, or forking in a loop?)"
            ),
            None => what,
        }
    }

    fn describe_exit(&self) -> String {
        if let Some((location, message)) = panic_of(&self.stderr) {
            if let Some(todo) = message.strip_prefix("not yet implemented") {
                let todo = todo.trim_start_matches(':').trim();
                return format!("reached a todo!() at {location}: {todo}");
            }
            return format!("panicked at {location}: {message}");
        }
        match self.exit {
            Exit::TimedOut => format!(
                "timed out after {} s and was killed with everything it started",
                self.took.as_secs()
            ),
            Exit::Signal(s) => format!("was killed by {}", s.as_str()),
            Exit::Code(0) => "exited with status 0".to_owned(),
            Exit::Code(c) => match self.stderr.lines().rev().find(|l| !l.trim().is_empty()) {
                Some(last) => format!("exited with status {c}: {}", last.trim()),
                None => format!("exited with status {c}"),
            },
        }
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
            f.describe(),
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
        assert_eq!(f.describe(), "exited with status 1: Error: chroot: EPERM");
    }
}
