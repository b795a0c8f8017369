//! Forked children: the only place namespace and mount work happens (never in the CLI
//! process itself, which may have threads). Every child gets its own process group so a
//! timeout or Ctrl-C can end it and everything it started, and is registered with the
//! cleanup registry until it has been reaped.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, dup2_stderr, dup2_stdout, fork, pipe, setpgid};

use super::{cleanup, procfs};

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(Signal),
    /// Still running when the deadline passed; it was killed.
    TimedOut,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit status {c}"),
            Exit::Signal(s) => write!(f, "killed by {}", s.as_str()),
            Exit::TimedOut => write!(f, "timed out"),
        }
    }
}

impl Exit {
    /// The status a shell would report: the exit code, or 128 + the signal (a child that
    /// timed out was killed with SIGKILL).
    pub fn status(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s as i32,
            Exit::TimedOut => 128 + Signal::SIGKILL as i32,
        }
    }

    pub fn from_wait(status: WaitStatus) -> Option<Exit> {
        match status {
            WaitStatus::Exited(_, code) => Some(Exit::Code(code)),
            WaitStatus::Signaled(_, sig, _) => Some(Exit::Signal(sig)),
            _ => None,
        }
    }
}

/// What a captured child printed (stdout and stderr interleaved, as a terminal shows them)
/// and how it ended.
#[derive(Debug)]
pub struct Captured {
    pub exit: Exit,
    pub output: String,
}

/// The environment children exec with: predictable, and valid inside a minimal rootfs.
pub const CHILD_ENV: &[&str] = &[
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/",
    "LC_ALL=C",
    "TERM=dumb",
];

/// Replaces the current (child) process with `argv`. Returns only on failure, with a line
/// that shows the real errno, e.g. `execve("/bin/bash") failed: ENOENT: No such file or directory`.
pub fn exec(argv: &[&str]) -> String {
    let c: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(*a).expect("argument without NUL"))
        .collect();
    let env: Vec<CString> = CHILD_ENV
        .iter()
        .map(|e| CString::new(*e).unwrap())
        .collect();
    let err = nix::unistd::execve(&c[0], &c, &env).unwrap_err();
    failed(&format!("execve(\"{}\")", argv[0]), err)
}

/// Writes a line to this (child) process's stdout without Rust's buffered, locked
/// stdout: after fork, another thread of the parent may have held that lock.
pub fn emit(line: &str) {
    let mut buf = line.as_bytes().to_vec();
    buf.push(b'\n');
    let mut rest = &buf[..];
    while !rest.is_empty() {
        match nix::unistd::write(std::io::stdout(), rest) {
            Ok(n) => rest = &rest[n..],
            Err(Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// Waits until child `pid` has ended, through EINTR and stop/continue reports.
pub fn wait_exit(pid: Pid) -> nix::Result<Exit> {
    loop {
        match waitpid(pid, None) {
            Ok(status) => {
                if let Some(exit) = Exit::from_wait(status) {
                    return Ok(exit);
                }
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// `what failed: ENOENT: No such file or directory`: how a child reports a syscall error.
pub fn failed(what: &str, err: Errno) -> String {
    format!("{what} failed: {err}")
}

/// Runs `f` in a forked child whose stdout and stderr go to one pipe, and returns what it
/// printed. `f` returns the child's exit code (or execs). The child is killed if it is
/// still running after `timeout`.
pub fn run_captured(timeout: Duration, f: impl FnOnce() -> i32) -> Result<Captured> {
    let (read_end, write_end) = pipe().context("pipe")?;
    match fork_guarded()? {
        None => {
            drop(read_end);
            let _ = dup2_stdout(&write_end);
            let _ = dup2_stderr(&write_end);
            drop(write_end);
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
            unsafe { libc::_exit(code) }
        }
        Some(guard) => {
            drop(write_end);
            let (output, timed_out) = read_until_eof(read_end, timeout);
            let mut guard = guard;
            let exit = if timed_out {
                guard.kill();
                Exit::TimedOut
            } else {
                guard.wait()?
            };
            Ok(Captured { exit, output })
        }
    }
}

/// Reads a pipe until EOF or until `timeout` passes. Returns the text and whether it timed out.
fn read_until_eof(fd: OwnedFd, timeout: Duration) -> (String, bool) {
    let deadline = Instant::now() + timeout;
    let mut file = std::fs::File::from(fd);
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (String::from_utf8_lossy(&out).into_owned(), true);
        }
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        let raw = file.as_raw_fd();
        // SAFETY: `file` owns the fd for the whole loop.
        let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(raw) };
        let mut fds = [PollFd::new(borrowed, PollFlags::POLLIN)];
        match poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(0) => continue,
            Ok(_) => match file.read(&mut buf) {
                Ok(0) => return (String::from_utf8_lossy(&out).into_owned(), false),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
            },
            Err(Errno::EINTR) => {}
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
        }
    }
}

/// Forks a long-lived child running `f` (which should exec or loop), in its own process
/// group. The guard kills the whole group and reaps it when dropped.
pub fn spawn(f: impl FnOnce() -> i32) -> Result<ChildGuard> {
    match fork_guarded()? {
        None => {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
            unsafe { libc::_exit(code) }
        }
        Some(guard) => Ok(guard),
    }
}

/// fork(), with the child made the leader of its own process group and registered for
/// cleanup in the same step (see [`cleanup::making`]): an interrupt never finds a child
/// that is not registered yet. The child also dies with this process (PR_SET_PDEATHSIG,
/// kept across exec): after a SIGKILL, when nothing of ours runs to clean up, a burner
/// on the host's bash would otherwise spin on, with nothing to tell `clean` it is ours.
/// Returns the guard in the parent and None in the child, which must only make syscalls
/// and then exit or exec.
pub fn fork_guarded() -> Result<Option<ChildGuard>> {
    let parent = nix::unistd::getpid();
    cleanup::making(|| {
        // SAFETY: see above; the callers' children keep to that.
        match unsafe { fork() }.context("fork")? {
            ForkResult::Child => {
                let _ = setpgid(Pid::from_raw(0), Pid::from_raw(0));
                die_with_parent();
                if nix::unistd::getppid() != parent {
                    // The parent died before the prctl.
                    unsafe { libc::_exit(125) };
                }
                Ok(None)
            }
            ForkResult::Parent { child } => {
                // Also set it from this side, so the group exists before anyone signals it.
                let _ = setpgid(child, child);
                Ok(Some(ChildGuard::adopt(child)))
            }
        }
    })
}

/// PR_SET_PDEATHSIG(SIGKILL): the calling process dies when the one that forked it does.
/// For a lesson's grandchildren: a SIGKILLed CLI cleans up nothing, its children die
/// with it (see [`fork_guarded`]), and this carries that one generation further. In a
/// new PID namespace getppid() says 0, so there is no check that the parent still lives.
pub fn die_with_parent() {
    // SAFETY: plain prctl.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
}

/// SIGKILLs process group `pgid` and waits (up to a second) until none of its members is
/// still alive. Members that are not our children (a container's processes, reparented
/// when their PID 1 died) cannot be waited for: without this they may still be dying
/// when the run has ended.
pub fn kill_group(pgid: Pid) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while killpg(pgid, Signal::SIGKILL).is_ok()
        && !procfs::group_members(pgid.as_raw()).is_empty()
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `cmd.output()` for a host tool (cargo, ldd) run on the way: in a process group of its
/// own, registered for cleanup as it starts, and dying with this process, so that an
/// interrupt at any moment stops it too. Stdin is closed; stdout and stderr are captured.
pub fn output(cmd: &mut std::process::Command) -> Result<std::process::Output> {
    use std::process::Stdio;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (child, _registered) = spawn_command(cmd)?;
    Ok(child.wait_with_output()?)
}

/// `cmd.spawn()` for a host tool: in a process group of its own, registered for cleanup
/// in the same step (see [`cleanup::making`]), and dying with this process. The
/// registration lasts as long as the returned [`cleanup::Registered`].
pub fn spawn_command(
    cmd: &mut std::process::Command,
) -> Result<(std::process::Child, cleanup::Registered)> {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    // SAFETY: between fork and exec; prctl is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            die_with_parent();
            Ok(())
        });
    }
    cleanup::making(|| {
        let child = cmd.spawn()?;
        let group = cleanup::Resource::ProcessGroup(child.id() as i32);
        Ok((child, cleanup::Registered::new(group)))
    })
}

/// A child process (and its process group) that is killed and reaped when dropped.
#[derive(Debug)]
pub struct ChildGuard {
    pid: Pid,
    reaped: bool,
    token: cleanup::Token,
}

impl ChildGuard {
    /// Takes charge of a child that leads its own process group.
    pub fn adopt(pid: Pid) -> ChildGuard {
        let token = cleanup::register(cleanup::Resource::ProcessGroup(pid.as_raw()));
        ChildGuard {
            pid,
            reaped: false,
            token,
        }
    }

    pub fn pid(&self) -> i32 {
        self.pid.as_raw()
    }

    /// Waits for the child to end.
    pub fn wait(mut self) -> Result<Exit> {
        let exit = self.wait_inner()?;
        Ok(exit)
    }

    fn wait_inner(&mut self) -> Result<Exit> {
        let exit = wait_exit(self.pid).context("waitpid")?;
        self.reaped = true;
        Ok(exit)
    }

    /// Has the child ended? Reaps it if so.
    pub fn try_wait(&mut self) -> Result<Option<Exit>> {
        if self.reaped {
            return Ok(None);
        }
        match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => Ok(None),
            Ok(status) => {
                let exit = Exit::from_wait(status);
                if exit.is_some() {
                    self.reaped = true;
                }
                Ok(exit)
            }
            Err(e) => Err(e).context("waitpid"),
        }
    }

    /// Kills the child's whole process group and reaps the child.
    pub fn kill(&mut self) -> Option<Exit> {
        let _ = killpg(self.pid, Signal::SIGKILL);
        if self.reaped {
            return None;
        }
        let _ = nix::sys::signal::kill(self.pid, Signal::SIGKILL);
        let exit = self.wait_inner().ok();
        // Reaped: no process holds this pid now, so the group is still ours.
        kill_group(self.pid);
        exit
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.reaped {
            // The group may still hold grandchildren after its leader was reaped. The
            // kernel does not reuse a PID while it names a live group, so while no
            // process holds this PID a group with this id is still ours (killpg on an
            // empty one just fails); a process with this PID means the number was reused
            // (the group emptied), and it is not.
            if procfs::pgid(self.pid.as_raw()).is_none() {
                kill_group(self.pid);
            }
        } else {
            self.kill();
        }
        cleanup::unregister(self.token);
    }
}
