//! Starting a container and ending it, from the CLI's side: the start protocol. The CLI
//! makes the cgroup, forks the namespace parent (which forks PID 1, see [`super::init`]),
//! and reads their [`Msg`]s until the pipe's end: PID 1's pid, and either why the start
//! failed or, at EOF, that CMD is running (exec closed the last write end).

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use crate::bail;
use crate::error::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::{ForkResult, fork, pipe2};

use super::init::{Handed, Prepared, namespace_parent};
use super::spec::{ContainerSpec, Net};
use super::trace::{Trace, note};
use crate::kernel::cgroup::{Cgroup, CgroupFs, Joint};
use crate::kernel::child::guard::exit_now;
use crate::kernel::child::lines::Lines;
use crate::kernel::child::{CHILD_ENV, ChildGuard};
use crate::kernel::net::bridge;
use crate::kernel::undo;
use crate::kernel::wire::{self, Msg};

/// Where CMD's standard streams go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Io {
    /// The caller's terminal or pipes, as `docker run -i` shares them.
    Inherit,
    /// A pipe for stdin and one for stdout and stderr together, read with
    /// [`Container::read_line`]. CMD's stdin closes with [`Container::close_stdin`].
    Piped,
}

/// Why a container did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// CMD itself could not be executed (ENOENT, EACCES, ...), inside the rootfs.
    #[error("{message}")]
    Exec { errno: Errno, message: String },
    /// A step before exec failed (a mount, pivot_root, sethostname, unshare, ...).
    #[error("{0}")]
    Setup(String),
}

impl StartError {
    /// The exit code for this: 127 command not found and 126 not executable, as a shell
    /// (and docker) give them; 2, the project's code for an environment problem, when the
    /// container itself could not be set up.
    pub fn exit_code(&self) -> i32 {
        match self {
            StartError::Exec {
                errno: Errno::ENOENT | Errno::ENOTDIR,
                ..
            } => 127,
            StartError::Exec { .. } => 126,
            StartError::Setup(_) => 2,
        }
    }

    /// The same error, with a line saying what to try next.
    pub fn with_hint(self, hint: &str) -> StartError {
        match self {
            StartError::Exec { errno, message } => StartError::Exec {
                errno,
                message: format!("{message}\n  {hint}"),
            },
            StartError::Setup(m) => StartError::Setup(format!("{m}\n  {hint}")),
        }
    }
}

/// A running container.
pub struct Container {
    /// The namespace parent: it waits for PID 1 and exits with its status. It leads a
    /// process group of its own with nobody else in it (PID 1 stays in the caller's group,
    /// with the terminal), so the undo registry's kill reaches it alone; PID 1 follows it
    /// through PR_SET_PDEATHSIG, and the kernel then ends the rest of the PID namespace.
    parent: ChildGuard,
    /// PID 1, as this process numbers it.
    init: i32,
    cgroup: Option<Joint>,
    /// Its place on the bridge (`--net bridge`), given back once it has ended.
    lease: Option<bridge::Lease>,
    stdin: Option<OwnedFd>,
    output: Option<Lines>,
    /// What the start had to say that did not stop it (no overlayfs here, say).
    notes: Vec<String>,
    trace: Option<Trace>,
}

/// Checks CMD and prepares what the children need.
fn prepare(spec: &ContainerSpec) -> Result<Prepared> {
    if spec.argv.is_empty() {
        bail!("no command to run");
    }
    let c = |s: &str| CString::new(s).with_context(|| format!("{s:?} contains a NUL byte"));
    let argv: Vec<CString> = spec.argv.iter().map(|a| c(a)).collect::<Result<_>>()?;
    let term = std::env::var("TERM").ok().filter(|t| !t.is_empty());
    let mut env = Vec::new();
    for e in CHILD_ENV {
        match (e.strip_prefix("TERM="), &term) {
            (Some(_), Some(t)) => env.push(c(&format!("TERM={t}"))?),
            _ => env.push(c(e)?),
        }
    }
    env.push(c(&format!("HOSTNAME={}", spec.hostname))?);
    let cmd = &spec.argv[0];
    let paths = if cmd.contains('/') {
        vec![c(cmd)?]
    } else {
        let path = CHILD_ENV
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or("/bin");
        path.split(':')
            .map(|d| c(&format!("{d}/{cmd}")))
            .collect::<Result<_>>()?
    };
    Ok(Prepared {
        rootfs: spec.rootfs.clone(),
        hostname: spec.hostname.clone(),
        root: spec.root,
        net: spec.net,
        argv,
        env,
        paths,
        uptime_offset: spec.uptime_offset,
        plug: None,
    })
}

impl Container {
    /// Starts CMD as PID 1 of the container `spec` describes, and returns once CMD is
    /// running (exec succeeded), or why it could not start. `trace` is when the caller
    /// started, for LEARN_CONTAINERS_TRACE=1.
    pub fn start(spec: &ContainerSpec, io: Io, trace: Option<Instant>) -> Result<Container> {
        let mut tr = trace.map(|t0| Trace::new(t0, "cli"));
        let mut prepared = prepare(spec)?;
        let cgroup = make_cgroups(spec)?;
        let lease = match spec.net {
            Net::Bridge => {
                let l = bridge::lease(&spec.ports)
                    .map_err(|e| StartError::Setup(format!("--net bridge: {e}")))?;
                prepared.plug = Some(l.plug.clone());
                note(&mut tr, "a place on the bridge leased");
                Some(l)
            }
            _ => None,
        };
        if cgroup.is_some() {
            note(&mut tr, "cgroups created, limits written");
        }
        let (tx, mut rx) = wire::channel()?;
        // PID 1 writes "0" here: on v1 the per-thread `tasks` file, which spares the
        // grace period a cgroup.procs write waits for (see Cgroup::self_join_file).
        let mut join: Vec<OwnedFd> = Vec::new();
        for cg in cgroup.iter().flat_map(Joint::cgroups) {
            let path = cg.self_join_file();
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .with_context(|| format!("open {}", path.display()))?;
            join.push(f.into());
        }
        let piped = match io {
            Io::Piped => Some((
                pipe2(OFlag::O_CLOEXEC).context("pipe")?,
                pipe2(OFlag::O_CLOEXEC).context("pipe")?,
            )),
            Io::Inherit => None,
        };
        let me = nix::unistd::getpid();
        // Forked and registered in one step, so an interrupt never misses it. Not
        // fork_guarded: the namespace parent makes its own process group only after
        // forking PID 1, which must stay in the caller's (foreground) group.
        let forked = undo::making(|| -> Result<Option<ChildGuard>> {
            // SAFETY: the child only makes syscalls and sends messages, then exits.
            match unsafe { fork() }.context("fork")? {
                ForkResult::Child => Ok(None),
                ForkResult::Parent { child } => Ok(Some(ChildGuard::adopt_lone(child))),
            }
        })?;
        let Some(parent) = forked else {
            drop(rx);
            let stdio = piped.map(|((in_r, in_w), (out_r, out_w))| {
                drop((in_w, out_r));
                (in_r, out_w)
            });
            let trace = tr.as_ref().map(|t| t.fork("parent"));
            let handed = Handed { join, stdio };
            exit_now(namespace_parent(me, &prepared, tx, handed, trace))
        };
        drop((tx, join));
        let (stdin, output) = match piped {
            Some(((in_r, in_w), (out_r, out_w))) => {
                drop((in_r, out_w));
                (Some(in_w), Some(Lines::new(out_r)))
            }
            None => (None, None),
        };
        note(&mut tr, "forked the namespace parent");
        let mut c = Container {
            parent,
            init: 0,
            cgroup,
            lease,
            stdin,
            output,
            notes: Vec::new(),
            trace: tr,
        };
        c.handshake(&mut rx)?;
        if let Some(l) = &mut c.lease {
            l.unlock();
        }
        Ok(c)
    }

    /// Learns PID 1's pid, then waits for the exec (or for why it failed).
    fn handshake(&mut self, rx: &mut wire::Receiver) -> Result<()> {
        let mut failure = None;
        for msg in std::iter::from_fn(|| rx.recv(far_future())) {
            match msg {
                Msg::Pid { pid } => {
                    self.init = pid;
                    note(&mut self.trace, "got PID 1's host pid");
                }
                Msg::Failed { message, .. } => failure = Some(StartError::Setup(message)),
                Msg::ExecFailed { errno, message } => {
                    failure = Some(StartError::Exec {
                        errno: Errno::from_raw(errno),
                        message,
                    })
                }
                Msg::Note { text } => self.notes.push(text),
                Msg::Ready | Msg::Forked { .. } | Msg::Execed { .. } => {}
            }
        }
        // EOF without a failure: CMD is running (the pipe closed on exec).
        note(&mut self.trace, "CMD exec'd (message pipe closed)");
        let failure = failure.or_else(|| {
            (self.init == 0).then(|| {
                StartError::Setup("the namespace parent exited before starting PID 1".into())
            })
        });
        let Some(failure) = failure else {
            return Ok(());
        };
        // Something failed: the namespace parent exits once PID 1 has.
        self.parent.kill();
        if let Some(t) = &mut self.trace {
            t.flush();
        }
        Err(failure.into())
    }

    /// What the start had to say that did not stop it.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// CMD's pid, as this process (outside the container) numbers it.
    pub fn pid(&self) -> i32 {
        self.init
    }

    /// The cgroup that pauses the container, when it was started freezable.
    pub fn freezer(&self) -> Option<&Cgroup> {
        self.cgroup.as_ref()?.freezer()
    }

    /// The container's cgroup in `controller`'s hierarchy, when it has a limit there.
    pub fn cgroup(&self, controller: &str) -> Option<&Cgroup> {
        self.cgroup.as_ref()?.of(controller)
    }

    /// Closes CMD's stdin ([`Io::Piped`]).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The next line CMD printed ([`Io::Piped`]), or None at EOF or after `timeout`.
    pub fn read_line(&mut self, timeout: Duration) -> Option<String> {
        self.output.as_mut()?.next_line(Instant::now() + timeout)
    }

    /// Every line read so far.
    pub fn lines(&self) -> &[String] {
        self.output.as_ref().map_or(&[], |o| o.lines())
    }

    /// Waits for CMD to end, removes the cgroups, and returns CMD's exit code (128+N when
    /// signal N killed it, as a shell reports it).
    pub fn wait(self) -> Result<i32> {
        Ok(self.wait_ended()?.code)
    }

    /// [`Container::wait`], and whether the OOM killer ended CMD: it died of SIGKILL
    /// while its memory cgroup counted a kill (read before the cgroup goes).
    pub fn wait_ended(self) -> Result<Ended> {
        let Container {
            mut parent,
            cgroup,
            lease,
            mut trace,
            stdin,
            ..
        } = self;
        // A piped CMD that reads its stdin to the end must see the end.
        drop(stdin);
        let exit = parent.wait()?;
        drop(parent);
        note(&mut trace, "container ended (namespace parent reaped)");
        let code = exit.status();
        let oom_killed = code == 128 + libc::SIGKILL
            && cgroup
                .as_ref()
                .and_then(|j| j.of("memory"))
                .and_then(|m| m.oom_kills().ok())
                .is_some_and(|n| n > 0);
        if let Some(cg) = cgroup {
            cg.remove()?;
            note(&mut trace, "cgroups removed");
        }
        if lease.is_some() {
            drop(lease);
            note(&mut trace, "its place on the bridge given back");
        }
        if let Some(t) = &mut trace {
            t.flush();
        }
        Ok(Ended { code, oom_killed })
    }

    /// Kills the whole container now (SIGKILL to its namespace parent; PID 1 and the
    /// rest of the PID namespace follow).
    pub fn kill(&mut self) {
        self.parent.kill();
    }
}

/// How a container ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// CMD's exit code (128+N when signal N killed it).
    pub code: i32,
    /// The OOM killer ended CMD (its memory cgroup counted a kill).
    pub oom_killed: bool,
}

/// The container's cgroups, one per hierarchy that holds one of its limits (and the
/// freezer's, for a freezable one), with the limits written: cpu, memory (swap held to it
/// where the kernel has the file) and pids.
fn make_cgroups(spec: &ContainerSpec) -> Result<Option<Joint>> {
    let mut controllers = Vec::new();
    if spec.cpus.is_some() {
        controllers.push("cpu");
    }
    if spec.memory.is_some() {
        controllers.push("memory");
    }
    if spec.pids.is_some() {
        controllers.push("pids");
    }
    if controllers.is_empty() && !spec.freezable {
        return Ok(None);
    }
    let fs = CgroupFs::detect()?;
    let joint = if spec.freezable {
        fs.create_owned_joint_freezable(&controllers, "run")?
    } else {
        fs.create_owned_joint(&controllers, "run")?
    };
    let of = |c: &str| joint.of(c).expect("made for it");
    if let Some(l) = &spec.cpus {
        of("cpu").set(l)?;
    }
    if let Some(l) = &spec.memory {
        of("memory").set(l)?;
    }
    if let Some(l) = &spec.pids {
        of("pids").set(l)?;
    }
    Ok(Some(joint))
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(365 * 24 * 3600)
}

/// Starts a container and waits for it: what `learn-containers run` does.
pub fn run(spec: &ContainerSpec, trace: Option<Instant>) -> Result<i32> {
    Container::start(spec, Io::Inherit, trace)?.wait()
}
