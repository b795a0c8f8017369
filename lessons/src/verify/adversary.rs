//! The adversary: runs a candidate under ptrace(2) and schedules it so that a wrong order
//! between a parent and the child it forks shows every time, not only on a slow machine.
//!
//! Whenever one of the program's own processes (one that has not exec'd something else)
//! forks, the parent is held stopped until the child (or one of its descendants) has
//! exec'd and the exec'd program has forked a child of its own, or the child's line has
//! ended, or [`HOLD`] has passed. A parent that means to move its
//! child into a cgroup after fork therefore does it only once CMD has already forked:
//! what CMD forked first was born outside the cgroup, and every birth is reported with
//! the cgroup it happened in. A correct program (the child joins before it execs) passes
//! unchanged; one that makes its child wait for the parent through a pipe passes too,
//! [`HOLD`] later.
//!
//! The tracer is a process of its own (the one [`super::Context::start_traced`] starts):
//! it spawns the candidate with its own stdin and stdout, sends what it sees as
//! [`Msg`]s, and ends the way the candidate ended, so the verifier sees the candidate.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::ptrace::{self, Event, Options};
use nix::sys::signal::{SigHandler, Signal, kill, signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::kernel::ns::Entry;
use crate::kernel::userns::Unprivileged;
use crate::kernel::wire::{Msg, Sender};

/// The longest a parent is held after it forks.
pub const HOLD: Duration = Duration::from_millis(1500);

/// What the candidate is, and where it runs.
pub struct Program {
    pub binary: PathBuf,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    /// The cgroups it joins before exec (their cgroup.procs files): the verifier's process
    /// limit, and chapter 9's ceiling.
    pub join: Vec<CString>,
    /// Namespaces it enters before exec (a sandbox's).
    pub entries: Vec<Entry>,
    /// Who it runs as, when not as the verifier (chapter 6: an unprivileged uid).
    pub who: Option<Unprivileged>,
}

/// Runs in the tracer process: starts the program traced, schedules it, and returns the
/// exit code to end with (a program killed by a signal is mirrored by dying of it).
pub fn trace(p: Program, tx: &Sender) -> i32 {
    let mut cmd = Command::new(&p.binary);
    cmd.args(&p.args)
        .current_dir(&p.cwd)
        .env("RUST_BACKTRACE", "0");
    let (join, entries, cwd, who) = (p.join, p.entries, p.cwd.clone(), p.who);
    let dir = CString::new(cwd.as_os_str().as_encoded_bytes()).unwrap_or_default();
    // SAFETY: runs between fork and exec; only system calls (prctl, open/write, setns,
    // chdir, setresuid, ptrace), no allocation.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            for procs in &join {
                super::limits::join(procs)?;
            }
            for e in &entries {
                e.enter()?;
            }
            if !entries.is_empty() {
                nix::unistd::chdir(dir.as_c_str())?;
            }
            // Last, when the cgroup and the namespaces are joined: only root may.
            if let Some(who) = &who {
                who.become_it()?;
                // A change of credentials cleared the parent-death signal.
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            }
            ptrace::traceme()?;
            Ok(())
        });
    }
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            tx.send(&Msg::Failed {
                errno: e.raw_os_error(),
                message: format!("starting {}: {e}", p.binary.display()),
            });
            return 126;
        }
    };
    let program = Pid::from_raw(child.id() as i32);
    tx.send(&Msg::Pid {
        pid: program.as_raw(),
    });
    // Stopped at its exec: from here on its forks and execs are ours to see.
    match waitpid(program, None) {
        Ok(WaitStatus::Stopped(_, Signal::SIGTRAP)) => {}
        Ok(status) => return mirror(status),
        Err(_) => return 125,
    }
    let options = Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE
        | Options::PTRACE_O_TRACEEXEC;
    if ptrace::setoptions(program, options).is_err() || ptrace::cont(program, None).is_err() {
        return 125;
    }
    Scheduler::new(program, tx).run()
}

/// Ends the tracer as the program ended.
fn mirror(status: WaitStatus) -> i32 {
    match status {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, sig, _) => {
            // SAFETY: SIG_DFL installs no handler code.
            let _ = unsafe { signal(sig, SigHandler::SigDfl) };
            let _ = kill(Pid::this(), sig);
            128 + sig as i32
        }
        _ => 125,
    }
}

struct Scheduler<'a> {
    program: Pid,
    tx: &'a Sender,
    family: Family,
    /// Parents held stopped: the child they forked, and since when.
    held: BTreeMap<Pid, (Pid, Instant)>,
    /// Tasks seen at least once (a new one's first stop is its attach SIGSTOP).
    known: BTreeSet<Pid>,
    gone: BTreeSet<Pid>,
}

impl<'a> Scheduler<'a> {
    fn new(program: Pid, tx: &'a Sender) -> Scheduler<'a> {
        Scheduler {
            program,
            tx,
            family: Family::default(),
            held: BTreeMap::new(),
            known: BTreeSet::from([program]),
            gone: BTreeSet::new(),
        }
    }

    fn run(mut self) -> i32 {
        loop {
            self.release();
            let status = match waitpid(
                Pid::from_raw(-1),
                Some(WaitPidFlag::__WALL | WaitPidFlag::WNOHANG),
            ) {
                Ok(WaitStatus::StillAlive) => {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                Ok(s) => s,
                Err(Errno::EINTR) => continue,
                Err(_) => return 125,
            };
            match status {
                WaitStatus::PtraceEvent(pid, _, event) => self.event(pid, event),
                WaitStatus::Stopped(pid, sig) => {
                    // A new task's first stop is the SIGSTOP of its automatic attach.
                    let first = self.known.insert(pid);
                    let sig = (!(first && sig == Signal::SIGSTOP)).then_some(sig);
                    let _ = ptrace::cont(pid, sig);
                }
                WaitStatus::Exited(pid, _) | WaitStatus::Signaled(pid, _, _) => {
                    self.gone.insert(pid);
                    self.held.remove(&pid);
                    if pid == self.program {
                        return mirror(status);
                    }
                }
                _ => {}
            }
        }
    }

    fn event(&mut self, pid: Pid, event: i32) {
        self.known.insert(pid);
        let new = ptrace::getevent(pid).ok().map(|n| Pid::from_raw(n as i32));
        let forkish = event == Event::PTRACE_EVENT_FORK as i32
            || event == Event::PTRACE_EVENT_VFORK as i32
            || (event == Event::PTRACE_EVENT_CLONE as i32
                && new.is_some_and(|c| !same_process(pid, c)));
        if forkish && let Some(child) = new {
            self.family.forked(pid, child);
            // Read now: the child has not run yet, so this is the cgroup it was born in.
            let cgroup =
                std::fs::read_to_string(format!("/proc/{child}/cgroup")).unwrap_or_default();
            self.tx.send(&Msg::Forked {
                parent: pid.as_raw(),
                child: child.as_raw(),
                cgroup,
            });
            // Only the program's own processes are held: what CMD forks has no order to
            // get wrong, and holding it would only slow CMD down.
            if self.family.in_program(pid) {
                self.held.insert(pid, (child, Instant::now()));
                return;
            }
        }
        if event == Event::PTRACE_EVENT_EXEC as i32 {
            self.family.execed.insert(pid);
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            self.tx.send(&Msg::Execed {
                pid: pid.as_raw(),
                comm: comm.trim_end().to_owned(),
            });
        }
        let _ = ptrace::cont(pid, None);
    }

    /// Lets go of the parents whose child's line has exec'd and forked, ended, or that
    /// have waited long enough.
    fn release(&mut self) {
        let ready: Vec<Pid> = self
            .held
            .iter()
            .filter(|(_, (child, since))| {
                since.elapsed() >= HOLD || self.gone.contains(child) || self.family.has_run(*child)
            })
            .map(|(p, _)| *p)
            .collect();
        for p in ready {
            self.held.remove(&p);
            let _ = ptrace::cont(p, None);
        }
    }
}

/// Who forked whom, and who exec'd: what the scheduler decides by.
#[derive(Default)]
struct Family {
    /// Who forked whom (processes, not threads).
    parent: BTreeMap<Pid, Pid>,
    /// Processes that exec'd after the program's own start.
    execed: BTreeSet<Pid>,
    /// Exec'd processes that then forked.
    forked_after_exec: BTreeSet<Pid>,
}

impl Family {
    fn forked(&mut self, parent: Pid, child: Pid) {
        self.parent.insert(child, parent);
        if self.execed.contains(&parent) {
            self.forked_after_exec.insert(parent);
        }
    }

    /// Has `child`'s line exec'd something that then forked?
    fn has_run(&self, child: Pid) -> bool {
        self.forked_after_exec
            .iter()
            .any(|d| self.descends(*d, child))
    }

    /// Is `pid` still the candidate program: neither it nor an ancestor since the program
    /// started has exec'd something else?
    fn in_program(&self, mut pid: Pid) -> bool {
        for _ in 0..64 {
            if self.execed.contains(&pid) {
                return false;
            }
            match self.parent.get(&pid) {
                Some(p) => pid = *p,
                None => return true,
            }
        }
        true
    }

    /// Is `pid` `ancestor` or one of its descendants?
    fn descends(&self, mut pid: Pid, ancestor: Pid) -> bool {
        for _ in 0..64 {
            if pid == ancestor {
                return true;
            }
            match self.parent.get(&pid) {
                Some(p) => pid = *p,
                None => return false,
            }
        }
        false
    }
}

/// The first child process `pid` forked after it exec'd (CMD, once the candidate has
/// exec'd it), and the text of the /proc/PID/cgroup it was born with, from the tracer's
/// events.
pub fn first_child(events: &[Msg], pid: i32) -> Option<(i32, String)> {
    let exec = events
        .iter()
        .position(|e| matches!(e, Msg::Execed { pid: p, .. } if *p == pid))?;
    events[exec..].iter().find_map(|e| match e {
        Msg::Forked {
            parent,
            child,
            cgroup,
        } if *parent == pid => Some((*child, cgroup.clone())),
        _ => None,
    })
}

/// Whether `task` is a thread of `of`'s process (clone with CLONE_THREAD).
fn same_process(of: Pid, task: Pid) -> bool {
    let tgid = |p: Pid| {
        std::fs::read_to_string(format!("/proc/{p}/status"))
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("Tgid:").map(|v| v.trim().to_owned()))
    };
    tgid(of).is_some() && tgid(of) == tgid(task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_child_is_the_first_fork_after_the_exec() {
        let forked = |parent: i32, child: i32, cg: &str| Msg::Forked {
            parent,
            child,
            cgroup: cg.into(),
        };
        let events = [
            forked(10, 11, "0::/before-exec\n"),
            Msg::Execed {
                pid: 11,
                comm: "bash".into(),
            },
            forked(10, 12, "0::/other\n"),
            forked(11, 13, "0::/born-here\n"),
            forked(11, 14, "0::/later\n"),
        ];
        assert_eq!(
            first_child(&events, 11),
            Some((13, "0::/born-here\n".to_owned()))
        );
        assert_eq!(first_child(&events, 10), None, "10 never exec'd");
    }

    #[test]
    fn only_the_programs_own_forks_are_held_until_cmd_has_forked() {
        let pid = Pid::from_raw;
        let mut f = Family::default();
        // The program (10) forks 11, which execs CMD.
        f.forked(pid(10), pid(11));
        assert!(f.in_program(pid(10)) && f.in_program(pid(11)));
        assert!(!f.has_run(pid(11)), "11 has not exec'd yet");
        f.execed.insert(pid(11));
        assert!(!f.in_program(pid(11)), "11 is CMD now");
        assert!(!f.has_run(pid(11)), "CMD has not forked yet");
        // CMD forks 12, and 12 forks 13: neither is the program's.
        f.forked(pid(11), pid(12));
        assert!(f.has_run(pid(11)), "the hold on 10 ends");
        f.forked(pid(12), pid(13));
        assert!(!f.in_program(pid(12)) && !f.in_program(pid(13)));
        // A grandchild of the program that exec'd and forked releases the program too.
        f.forked(pid(10), pid(20));
        f.forked(pid(20), pid(21));
        f.execed.insert(pid(21));
        assert!(f.in_program(pid(20)) && !f.has_run(pid(20)));
        f.forked(pid(21), pid(22));
        assert!(f.has_run(pid(20)));
    }
}
