//! fork(2) with the child made the leader of its own process group, registered for undo
//! in the same step, and killed with its whole group when its guard is dropped.

use std::time::{Duration, Instant};

use crate::error::{Context, Result};
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, setpgid};

use super::{Exit, wait_exit};
use crate::kernel::procfs;
use crate::kernel::undo::{self, Phase};

/// fork(), with the child made the leader of its own process group and registered for
/// undo in the same step (see [`undo::making`]): an interrupt never finds a child that is
/// not registered yet. The child also dies with this process (PR_SET_PDEATHSIG, kept
/// across exec): after a SIGKILL, when nothing of ours runs to clean up, a burner on the
/// host's bash would otherwise spin on, with nothing to tell `clean` it is ours.
/// Returns the guard in the parent and None in the child, which must only make syscalls
/// and then exit or exec.
pub fn fork_guarded() -> Result<Option<ChildGuard>> {
    let parent = nix::unistd::getpid();
    undo::making(|| {
        // SAFETY: the child of a process that may have threads; the callers' children
        // only make syscalls (and format messages) before they exit or exec.
        match unsafe { fork() }.context("fork")? {
            ForkResult::Child => {
                let _ = setpgid(Pid::from_raw(0), Pid::from_raw(0));
                die_with_parent();
                if nix::unistd::getppid() != parent {
                    // The parent died before the prctl.
                    exit_now(125);
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

/// Ends a forked child without running the parent's exit handlers or destructors (which
/// belong to the parent's copy of the program).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit(2) is async-signal-safe and never returns.
    unsafe { libc::_exit(code) }
}

/// PR_SET_PDEATHSIG(SIGKILL): the calling process dies when the one that forked it does.
/// For a lesson's grandchildren: a SIGKILLed CLI cleans up nothing, its children die
/// with it (see [`fork_guarded`]), and this carries that one generation further. In a
/// new PID namespace getppid() says 0, so there is no check that the parent still lives.
pub fn die_with_parent() {
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
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

/// A child process (and its process group) that is killed and reaped when dropped.
#[derive(Debug)]
pub struct ChildGuard {
    pid: Pid,
    reaped: bool,
    /// Nobody else is in its group (a container's namespace parent): no /proc scan for
    /// stragglers, which costs about a millisecond on `run`'s start-up path.
    lone: bool,
    token: undo::Token,
}

impl ChildGuard {
    /// Takes charge of a child that leads its own process group.
    pub fn adopt(pid: Pid) -> ChildGuard {
        Self::adopt_with(pid, false)
    }

    /// Takes charge of a child that leads a process group it is alone in.
    pub fn adopt_lone(pid: Pid) -> ChildGuard {
        Self::adopt_with(pid, true)
    }

    fn adopt_with(pid: Pid, lone: bool) -> ChildGuard {
        let token = undo::register(Phase::Processes, move || {
            kill_group(pid);
            let _ = waitpid(pid, None);
        });
        ChildGuard {
            pid,
            reaped: false,
            lone,
            token,
        }
    }

    pub fn pid(&self) -> i32 {
        self.pid.as_raw()
    }

    /// Waits for the child to end.
    pub fn wait(&mut self) -> Result<Exit> {
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
        if self.reaped {
            let _ = killpg(self.pid, Signal::SIGKILL);
            return None;
        }
        if !self.lone {
            let _ = killpg(self.pid, Signal::SIGKILL);
        }
        let _ = nix::sys::signal::kill(self.pid, Signal::SIGKILL);
        let exit = self.wait().ok();
        if !self.lone {
            // Reaped: no process holds this pid now, so the group is still ours.
            kill_group(self.pid);
        }
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
            if !self.lone && procfs::pgid(self.pid.as_raw()).is_none() {
                kill_group(self.pid);
            }
        } else {
            self.kill();
        }
        undo::unregister(self.token);
    }
}
