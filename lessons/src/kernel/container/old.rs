//! A container, composed in one place from the primitives of chapters 1 to 4: a root
//! filesystem (chapter 1), PID, mount and UTS namespaces (chapters 2 and 3), a fresh /proc
//! and a private tmpfs /tmp, pivot_root instead of chroot, a hostname, and a CPU cap in a
//! cgroup under learn-containers/ (chapter 4). `learn-containers run`, the chapter 5 demo
//! and the benchmark all start containers through [`Container::start`]; nothing else in
//! the project composes these steps.
//!
//! The processes, and who does what (the order Docker and util-linux use too):
//!
//! ```text
//! CLI ── fork ──> namespace parent ── unshare(NEWPID|NEWNS|NEWUTS), fork ──> PID 1
//!  │                 waits for PID 1,                                        joins the cgroup
//!  │                 exits with its status                                    make / rprivate
//!  │                                                                          bind DIR on itself
//!  │                                                                          pivot_root, umount old /
//!  │                                                                          mount /proc, /tmp
//!  │                                                                          sethostname
//!  └── creates the cgroup and opens its join file, before the fork            exec CMD
//! ```
//!
//! PID 1 joins the cgroup itself, through a descriptor the CLI opened before the fork:
//! before exec, so everything CMD forks is capped; the descriptor still works after
//! pivot_root has taken /sys/fs/cgroup out of sight. Two pipes tie the processes together:
//! the namespace parent sends PID 1's host pid up (`ready`), and PID 1 reports why it could
//! not exec (`errors`, close-on-exec: an empty EOF means CMD is running).
//!
//! Host safety: every mount happens in PID 1, inside the new mount namespace, after / was
//! made recursively private; the hostname is set only inside the new UTS namespace; the
//! cgroup is an [`OwnedCgroup`]; the namespace parent leads its own process group and is
//! registered for cleanup, and both children die with their parent (PR_SET_PDEATHSIG).

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sched::{CloneFlags, unshare};
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, signal, sigprocmask};
use nix::unistd::{ForkResult, Pid, chdir, fork, getppid, pipe2, pivot_root, sethostname};

use super::cgroup::{Cgroup, CgroupFs, CpuLimit, OwnedCgroup};
use super::child::{CHILD_ENV, Exit, failed, wait_exit};
use super::{cleanup, mountinfo, ns, scratch};

/// What to run, and in what.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    /// The directory that becomes / (canonical; see [`check_rootfs`]).
    pub rootfs: PathBuf,
    pub hostname: String,
    /// A CPU cap, in a new cgroup under learn-containers/.
    pub cpus: Option<CpuLimit>,
    /// CMD and its arguments. A CMD without a `/` is looked up in PATH inside the rootfs.
    pub argv: Vec<String>,
    /// Mount the rootfs read-only inside the container (/tmp stays writable).
    pub readonly: bool,
}

/// The hostname a container gets when none is asked for.
pub const DEFAULT_HOSTNAME: &str = "learn-containers";

/// The steps of a container's start, in order, with the chapter each comes from and the
/// shell command that does the same. The demo walks through them; PID 1 does them.
pub const STAGES: &[Stage] = &[
    Stage {
        chapter: 1,
        what: "a root filesystem: a directory with bash, busybox and what they need",
        shell: "rootfs-builder DIR --bin bash --busybox",
    },
    Stage {
        chapter: 2,
        what: "new PID, mount and UTS namespaces, then fork: the child is PID 1",
        shell: "unshare --pid --mount --uts --fork",
    },
    Stage {
        chapter: 4,
        what: "a cgroup with the CPU cap, made by the caller; PID 1 joins it first, long before exec, so everything CMD forks is capped",
        shell: "echo \"50000 100000\" > CG/cpu.max; echo 0 > CG/tasks   # v2: CG/cgroup.procs",
    },
    Stage {
        chapter: 3,
        what: "make every mount private, so nothing propagates back to the host",
        shell: "mount --make-rprivate /",
    },
    Stage {
        chapter: 5,
        what: "bind-mount DIR on itself (pivot_root needs a mount point), pivot_root into it, detach the old root",
        shell: "mount --bind DIR DIR; cd DIR; pivot_root . .; umount -l .",
    },
    Stage {
        chapter: 2,
        what: "a fresh proc at /proc, showing only the new PID namespace",
        shell: "mount -t proc proc /proc",
    },
    Stage {
        chapter: 3,
        what: "a tmpfs at /tmp that only this container sees",
        shell: "mount -t tmpfs tmpfs /tmp",
    },
    Stage {
        chapter: 5,
        what: "a hostname of its own, in the new UTS namespace",
        shell: "hostname NAME",
    },
    Stage {
        chapter: 1,
        what: "exec CMD: it is PID 1, in the rootfs, with its own hostname, capped",
        shell: "exec CMD",
    },
];

/// One step of the composition.
#[derive(Debug, Clone, Copy)]
pub struct Stage {
    pub chapter: u32,
    pub what: &'static str,
    pub shell: &'static str,
}

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
}

/// Checks a rootfs before anything is forked: it must be a directory other than / with
/// `proc` and `tmp` directories to mount on. Returns its canonical path.
pub fn check_rootfs(dir: &Path) -> Result<PathBuf, String> {
    let canonical = dir.canonicalize().map_err(|e| {
        format!(
            "--rootfs {}: {e}; build one with `rootfs-builder DIR --bin bash --busybox`, or leave --rootfs out for the default",
            dir.display()
        )
    })?;
    if canonical == Path::new("/") {
        return Err(format!(
            "--rootfs {}: that is the host's own /, which a container must not be given; build a rootfs with `rootfs-builder DIR --bin bash --busybox`",
            dir.display()
        ));
    }
    if !canonical.is_dir() {
        return Err(format!("--rootfs {}: not a directory", dir.display()));
    }
    for sub in ["proc", "tmp"] {
        let ok = std::fs::symlink_metadata(canonical.join(sub)).is_ok_and(|m| m.is_dir());
        if !ok {
            return Err(format!(
                "--rootfs {}: there is no {sub}/ directory to mount {} on; `mkdir {}/{sub}` (rootfs-builder makes it)",
                dir.display(),
                if sub == "proc" {
                    "/proc"
                } else {
                    "a tmpfs /tmp"
                },
                canonical.display()
            ));
        }
    }
    Ok(canonical)
}

/// Checks a hostname: 1 to 64 letters, digits, `-` and `.`, starting with a letter or digit.
pub fn check_hostname(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "--hostname {name:?}: a hostname is 1 to 64 letters, digits, `-` and `.`, starting with a letter or digit"
        ))
    }
}

/// The programs in the default rootfs.
const DEFAULT_BINS: &[&str] = &["bash"];

/// The default rootfs: bash and busybox (with its applets: sh, ls, ps, mount, hostname,
/// cat, echo, sleep), built with rootfs-builder into `cache/default` the first time and
/// reused after. It is built again when the host's bash or busybox changes. Returns its
/// path.
pub fn default_rootfs(cache: &Path) -> Result<PathBuf> {
    let dir = cache.join("default");
    let stamp_file = cache.join("default.stamp");
    let stamp = default_stamp()?;
    let built = dir.join(rootfs_builder::MARKER).is_file()
        && std::fs::read_to_string(&stamp_file).is_ok_and(|s| s == stamp);
    if built {
        return Ok(dir);
    }
    std::fs::create_dir_all(cache).with_context(|| format!("mkdir {}", cache.display()))?;
    // Built aside and renamed into place, so a half-built rootfs is never used.
    let me = std::process::id();
    let fresh = cache.join(format!("default.building-{me}"));
    scratch::remove_tree(&fresh)?;
    let plan = rootfs_builder::plan(&default_options())?;
    // Removed by an interrupt until it is renamed into place.
    let _building = cleanup::Registered::new(cleanup::Resource::Dir(fresh.clone()));
    cleanup::making(|| rootfs_builder::build(&fresh, &plan, &mut |_| {}))?;
    if dir.exists() {
        let old = cache.join(format!("default.old-{me}"));
        std::fs::rename(&dir, &old).with_context(|| format!("move {} aside", dir.display()))?;
        scratch::remove_tree(&old)?;
    }
    match std::fs::rename(&fresh, &dir) {
        Ok(()) => {}
        // Another run put its fresh copy there first: use that one.
        Err(_) if dir.join(rootfs_builder::MARKER).is_file() => scratch::remove_tree(&fresh)?,
        Err(e) => return Err(e).with_context(|| format!("rename to {}", dir.display())),
    }
    std::fs::write(&stamp_file, stamp)?;
    Ok(dir)
}

/// What rootfs-builder is asked for the default rootfs.
pub fn default_options() -> rootfs_builder::Options {
    rootfs_builder::Options {
        bins: DEFAULT_BINS.iter().map(|b| b.to_string()).collect(),
        busybox: true,
        skeleton: true,
    }
}

/// The host binaries the default rootfs copies, with their size and mtime: when any
/// changes, the cache is stale.
fn default_stamp() -> Result<String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = String::new();
    for name in DEFAULT_BINS.iter().chain(["busybox"].iter()) {
        let path = rootfs_builder::resolve_binary(name).with_context(|| {
            format!("the default rootfs needs {name} on the host (apt install busybox-static), or give --rootfs DIR")
        })?;
        let md = std::fs::metadata(&path)?;
        out.push_str(&format!(
            "{name} {} {} {}\n",
            path.display(),
            md.len(),
            md.mtime()
        ));
    }
    Ok(out)
}

/// Phase timings, printed to stderr when LEARN_CONTAINERS_TRACE=1: each process notes
/// the time since the CLI started the run, and since its own previous phase.
#[derive(Debug, Clone)]
pub struct Trace {
    t0: Instant,
    last: Instant,
    who: &'static str,
    lines: String,
}

impl Trace {
    pub fn new(t0: Instant, who: &'static str) -> Trace {
        Trace {
            t0,
            last: t0,
            who,
            lines: String::new(),
        }
    }

    /// The same clock, for another process.
    fn fork(&self, who: &'static str) -> Trace {
        Trace {
            t0: self.t0,
            last: Instant::now(),
            who,
            lines: String::new(),
        }
    }

    pub fn phase(&mut self, label: &str) {
        let now = Instant::now();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        self.lines.push_str(&format!(
            "[trace] {:<6} {:>9.3} ms {:>8.3} ms  {label}\n",
            self.who,
            ms(now - self.t0),
            ms(now - self.last)
        ));
        self.last = now;
    }

    /// Writes the phases noted so far to stderr, in one write, without Rust's stderr lock
    /// (this may be a forked child).
    pub fn flush(&mut self) {
        write_all_fd(2, self.lines.as_bytes());
        self.lines.clear();
    }
}

fn note(t: &mut Option<Trace>, label: &str) {
    if let Some(t) = t {
        t.phase(label);
    }
}

/// A running container.
pub struct Container {
    /// The namespace parent: it waits for PID 1 and exits with its status.
    parent: NsParent,
    /// PID 1, as this process numbers it.
    init: i32,
    cgroup: Option<OwnedCgroup>,
    stdin: Option<OwnedFd>,
    output: Option<File>,
    partial: Vec<u8>,
    lines: Vec<String>,
    eof: bool,
    trace: Option<Trace>,
}

/// Everything prepared before the fork, so the children only make syscalls.
struct Prepared {
    rootfs: PathBuf,
    hostname: String,
    readonly: bool,
    argv: Vec<CString>,
    env: Vec<CString>,
    /// Candidate paths for CMD inside the rootfs: itself if it has a `/`, else PATH.
    paths: Vec<CString>,
}

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
        readonly: spec.readonly,
        argv,
        env,
        paths,
    })
}

impl Container {
    /// Starts CMD as PID 1 of the container `spec` describes, and returns once CMD is
    /// running (exec succeeded), or why it could not start. `trace` is when the caller
    /// started, for LEARN_CONTAINERS_TRACE=1.
    pub fn start(spec: &ContainerSpec, io: Io, trace: Option<Instant>) -> Result<Container> {
        let mut tr = trace.map(|t0| Trace::new(t0, "cli"));
        let prepared = prepare(spec)?;
        let cgroup = match &spec.cpus {
            Some(limit) => {
                let fs = CgroupFs::detect()?;
                let cg = fs.create_owned("cpu", "run")?;
                cg.set_cpu_limit(limit)?;
                note(&mut tr, "cgroup created, cpu limit written");
                Some(cg)
            }
            None => None,
        };
        let (ready_r, ready_w) = pipe2(OFlag::O_CLOEXEC).context("pipe")?;
        let (err_r, err_w) = pipe2(OFlag::O_CLOEXEC).context("pipe")?;
        // PID 1 writes "0" here: on v1 the per-thread `tasks` file, which spares the
        // grace period a cgroup.procs write waits for (see Cgroup::self_join_file).
        let join: Option<OwnedFd> = match &cgroup {
            Some(cg) => {
                let path = cg.self_join_file();
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .with_context(|| format!("open {}", path.display()))?;
                Some(f.into())
            }
            None => None,
        };
        let piped = match io {
            Io::Piped => Some((
                pipe2(OFlag::O_CLOEXEC).context("pipe")?,
                pipe2(OFlag::O_CLOEXEC).context("pipe")?,
            )),
            Io::Inherit => None,
        };
        let me = nix::unistd::getpid();
        // Forked and registered in one step, so an interrupt never misses it.
        let forked = cleanup::making(|| -> Result<Option<NsParent>> {
            // SAFETY: the child only makes syscalls and formats messages, then exits.
            match unsafe { fork() }.context("fork")? {
                ForkResult::Child => Ok(None),
                ForkResult::Parent { child } => Ok(Some(NsParent::adopt(child))),
            }
        })?;
        match forked {
            None => {
                drop((ready_r, err_r));
                let stdio = piped.map(|((in_r, in_w), (out_r, out_w))| {
                    drop((in_w, out_r));
                    (in_r, out_w)
                });
                let trace = tr.as_ref().map(|t| t.fork("parent"));
                let code = namespace_parent(me, &prepared, ready_w, err_w, join, stdio, trace);
                unsafe { libc::_exit(code) }
            }
            Some(parent) => {
                drop((ready_w, err_w, join));
                let (stdin, output) = match piped {
                    Some(((in_r, in_w), (out_r, out_w))) => {
                        drop((in_r, out_w));
                        (Some(in_w), Some(File::from(out_r)))
                    }
                    None => (None, None),
                };
                note(&mut tr, "forked the namespace parent");
                let mut c = Container {
                    parent,
                    init: 0,
                    cgroup,
                    stdin,
                    output,
                    partial: Vec::new(),
                    lines: Vec::new(),
                    eof: false,
                    trace: tr,
                };
                c.handshake(ready_r, err_r)?;
                Ok(c)
            }
        }
    }

    /// Learns PID 1's pid, then waits for the exec (or for why it failed).
    fn handshake(&mut self, ready: OwnedFd, errors: OwnedFd) -> Result<()> {
        let mut buf = [0u8; 4];
        let got = read_full(&ready, &mut buf);
        drop(ready);
        if got == 4 {
            self.init = i32::from_le_bytes(buf);
            note(&mut self.trace, "got PID 1's host pid");
        }
        // EOF without a message: CMD is running (the pipe closed on exec).
        let mut msg = Vec::new();
        let _ = File::from(errors).read_to_end(&mut msg);
        note(&mut self.trace, "CMD exec'd (error pipe closed)");
        if msg.is_empty() && got == 4 {
            return Ok(());
        }
        // Something failed: the namespace parent exits once PID 1 has.
        self.parent.kill();
        if let Some(t) = &mut self.trace {
            t.flush();
        }
        let text = String::from_utf8_lossy(&msg).into_owned();
        Err(match text.split_once('\n') {
            Some((head, message)) if head.starts_with("exec ") => StartError::Exec {
                errno: Errno::from_raw(head[5..].parse().unwrap_or(0)),
                message: message.to_owned(),
            },
            Some((_, message)) => StartError::Setup(message.to_owned()),
            None if text.is_empty() => {
                StartError::Setup("the namespace parent exited before starting PID 1".into())
            }
            None => StartError::Setup(text),
        }
        .into())
    }

    /// CMD's pid, as this process (outside the container) numbers it.
    pub fn pid(&self) -> i32 {
        self.init
    }

    /// The cgroup holding the container, when it has a CPU limit.
    pub fn cgroup(&self) -> Option<&Cgroup> {
        self.cgroup.as_deref()
    }

    /// Closes CMD's stdin ([`Io::Piped`]).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The next line CMD printed ([`Io::Piped`]), or None at EOF or after `timeout`.
    pub fn read_line(&mut self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.partial.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.partial.drain(..=i).collect();
                let line = String::from_utf8_lossy(&line[..i]).into_owned();
                self.lines.push(line.clone());
                return Some(line);
            }
            if self.eof {
                if self.partial.is_empty() {
                    return None;
                }
                let rest = String::from_utf8_lossy(&std::mem::take(&mut self.partial)).into_owned();
                self.lines.push(rest.clone());
                return Some(rest);
            }
            let out = self.output.as_mut()?;
            let left = deadline.saturating_duration_since(Instant::now());
            let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
            let mut fds = [PollFd::new(out.as_fd(), PollFlags::POLLIN)];
            match poll(
                &mut fds,
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
            ) {
                Ok(0) => return None,
                Ok(_) | Err(Errno::EINTR) => {}
                Err(_) => self.eof = true,
            }
            let mut buf = [0u8; 4096];
            match out.read(&mut buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.partial.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => self.eof = true,
            }
        }
    }

    /// Every line read so far.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Waits for CMD to end, removes the cgroup, and returns CMD's exit code (128+N when
    /// signal N killed it, as a shell reports it).
    pub fn wait(self) -> Result<i32> {
        let Container {
            mut parent,
            cgroup,
            mut trace,
            stdin,
            ..
        } = self;
        // A piped CMD that reads its stdin to the end must see the end.
        drop(stdin);
        let exit = parent.wait()?;
        drop(parent);
        note(&mut trace, "container ended (namespace parent reaped)");
        if let Some(cg) = cgroup {
            cg.remove()?;
            note(&mut trace, "cgroup removed");
        }
        if let Some(t) = &mut trace {
            t.flush();
        }
        Ok(exit.status())
    }

    /// Kills the whole container now (SIGKILL to its namespace parent; PID 1 and the
    /// rest of the PID namespace follow).
    pub fn kill(&mut self) {
        self.parent.kill();
    }
}

/// The namespace parent, from the CLI's side. It leads a process group of its own with
/// nobody else in it (PID 1 stays in the caller's group, with the terminal), so the
/// cleanup registry's process-group kill reaches it alone; PID 1 follows it through
/// PR_SET_PDEATHSIG, and the kernel then ends the rest of the PID namespace. (Not a
/// [`super::child::ChildGuard`]: that one checks /proc for stragglers in its group when
/// dropped, about a millisecond on the start-up path, and this group has one member.)
struct NsParent {
    pid: Pid,
    reaped: bool,
    token: cleanup::Token,
}

impl NsParent {
    fn adopt(pid: Pid) -> NsParent {
        let token = cleanup::register(cleanup::Resource::ProcessGroup(pid.as_raw()));
        NsParent {
            pid,
            reaped: false,
            token,
        }
    }

    fn wait(&mut self) -> Result<Exit> {
        let exit = wait_exit(self.pid).context("waitpid")?;
        self.reaped = true;
        Ok(exit)
    }

    fn kill(&mut self) {
        if !self.reaped {
            let _ = nix::sys::signal::kill(self.pid, Signal::SIGKILL);
            let _ = self.wait();
        }
    }
}

impl Drop for NsParent {
    fn drop(&mut self) {
        self.kill();
        cleanup::unregister(self.token);
    }
}

/// The namespace parent: new namespaces, fork PID 1, report its pid, wait for it.
/// Returns the exit code for `_exit`.
#[allow(clippy::too_many_arguments)]
fn namespace_parent(
    cli: Pid,
    p: &Prepared,
    ready: OwnedFd,
    errors: OwnedFd,
    join: Option<OwnedFd>,
    stdio: Option<(OwnedFd, OwnedFd)>,
    mut trace: Option<Trace>,
) -> i32 {
    die_with_parent(cli);
    // Only its own descriptors: a copy of some other pipe of the caller's, held here for
    // the container's whole life, would hide that pipe's end from whoever reads it.
    let mut keep = vec![ready.as_raw_fd(), errors.as_raw_fd()];
    keep.extend(join.as_ref().map(|f| f.as_raw_fd()));
    if let Some((a, b)) = &stdio {
        keep.extend([a.as_raw_fd(), b.as_raw_fd()]);
    }
    close_all_but(&keep);
    // Ignored while it waits: Ctrl-C reaches the whole foreground group, and the CLI
    // forwards signals to PID 1 itself. PID 1 restores the defaults before exec.
    for sig in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        // SAFETY: SIG_IGN installs no handler code.
        unsafe {
            let _ = signal(sig, SigHandler::SigIgn);
        }
    }
    let flags = CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS;
    if let Err(e) = unshare(flags) {
        report(
            &errors,
            "setup",
            &failed("unshare(CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS)", e),
        );
        return 125;
    }
    note(&mut trace, "unshare(CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS)");
    let me = nix::unistd::getpid();
    // SAFETY: single-threaded child; the grandchild only makes syscalls, then execs.
    let child = match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            drop(ready);
            let trace = trace.as_ref().map(|t| t.fork("pid1"));
            let code = pid1(me, p, &errors, join, stdio, trace);
            unsafe { libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => {
            report(&errors, "setup", &failed("fork() for PID 1", e));
            return 125;
        }
    };
    drop((errors, join, stdio));
    // Its own process group: the CLI's cleanup kills this group, and only it. PID 1 was
    // forked before, so it stays in the caller's (foreground) group with the terminal.
    let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
    note(&mut trace, "forked PID 1");
    if let Some(t) = &mut trace {
        t.flush();
    }
    write_all_fd(ready.as_raw_fd(), &child.as_raw().to_le_bytes());
    drop(ready);
    // 125: the container machinery itself failed, as runc and docker say.
    wait_exit(child).map_or(125, Exit::status)
}

/// PID 1: mounts, pivot_root, hostname, the cgroup barrier, exec. Returns only on failure.
fn pid1(
    parent: Pid,
    p: &Prepared,
    errors: &OwnedFd,
    join: Option<OwnedFd>,
    stdio: Option<(OwnedFd, OwnedFd)>,
    mut trace: Option<Trace>,
) -> i32 {
    // Its parent is outside its PID namespace, so getppid() says 0: only the prctl here.
    let _ = parent;
    // SAFETY: plain prctl.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    // The cgroup first: nothing PID 1 or CMD ever does runs uncapped.
    if let Some(join) = join {
        // SAFETY: writing from a live buffer to a descriptor this process holds.
        let n = unsafe { libc::write(join.as_raw_fd(), b"0".as_ptr().cast(), 1) };
        if n != 1 {
            report(
                errors,
                "setup",
                &failed(
                    "joining the cgroup (writing 0 to its tasks/cgroup.procs)",
                    Errno::last(),
                ),
            );
            return 125;
        }
        note(&mut trace, "joined the cgroup (wrote 0 to its join file)");
    }
    if let Err(e) = enter_rootfs(&p.rootfs, p.readonly, &mut trace) {
        report(errors, "setup", &e);
        return 125;
    }
    if let Err(e) = ns::mount_proc(Path::new("/proc")) {
        report(errors, "setup", &e);
        return 125;
    }
    note(&mut trace, "mount proc at /proc");
    if let Err(e) = mount_tmp(Path::new("/tmp")) {
        report(errors, "setup", &e);
        return 125;
    }
    note(&mut trace, "mount tmpfs at /tmp");
    if let Err(e) = sethostname(&p.hostname) {
        report(
            errors,
            "setup",
            &failed(&format!("sethostname(\"{}\")", p.hostname), e),
        );
        return 125;
    }
    note(&mut trace, "sethostname");
    restore_signals();
    if let Some((stdin, out)) = stdio {
        let _ = nix::unistd::dup2_stdin(&stdin);
        let _ = nix::unistd::dup2_stdout(&out);
        let _ = nix::unistd::dup2_stderr(&out);
    }
    note(&mut trace, "execve");
    if let Some(t) = &mut trace {
        t.flush();
    }
    let (errno, message) = exec_search(p);
    report(errors, &format!("exec {}", errno as i32), &message);
    match errno {
        Errno::ENOENT | Errno::ENOTDIR => 127,
        _ => 126,
    }
}

/// Makes the mounts private, then makes `rootfs` the root: the mount work every container
/// does before its own mounts. For a forked child in a new mount namespace only.
pub fn enter_rootfs(
    rootfs: &Path,
    readonly: bool,
    trace: &mut Option<Trace>,
) -> Result<(), String> {
    ns::make_root_private()?;
    note(trace, "mount --make-rprivate /");
    bind_on_itself(rootfs, readonly)?;
    note(trace, "bind-mount the rootfs on itself");
    pivot_into(rootfs)?;
    note(trace, "pivot_root, old root detached");
    Ok(())
}

/// `mount --bind DIR DIR` (recursively): pivot_root's new root must be a mount point.
/// With `readonly`, the bind mount is then remounted read-only.
pub fn bind_on_itself(dir: &Path, readonly: bool) -> Result<(), String> {
    mount(
        Some(dir),
        dir,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| failed(&format!("mount(\"{}\", MS_BIND|MS_REC)", dir.display()), e))?;
    if readonly {
        mount(
            None::<&str>,
            dir,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .map_err(|e| {
            failed(
                &format!("mount(\"{}\", MS_BIND|MS_REMOUNT|MS_RDONLY)", dir.display()),
                e,
            )
        })?;
    }
    Ok(())
}

/// pivot_root into `dir` (a mount point), with the old root stacked on the new one and
/// then detached, so nothing of the host's mount tree is left in this namespace:
/// `cd DIR; pivot_root . .; umount -l .` (the trick from man 2 pivot_root, which needs no
/// directory for the old root).
pub fn pivot_into(dir: &Path) -> Result<(), String> {
    chdir(dir).map_err(|e| failed(&format!("chdir(\"{}\")", dir.display()), e))?;
    pivot_root(".", ".").map_err(|e| {
        failed(
            &format!("pivot_root(\"{}\", \"{}\")", dir.display(), dir.display()),
            e,
        )
    })?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| failed("umount2(old root, MNT_DETACH)", e))?;
    chdir("/").map_err(|e| failed("chdir(\"/\")", e))
}

/// A tmpfs at `at` (named `learn-containers`, mode 1777).
pub fn mount_tmp(at: &Path) -> Result<(), String> {
    ns::mount_tmpfs(at, "mode=1777")
}

/// execve CMD, trying each PATH entry when it has no `/` (as execvp does, but with the
/// container's PATH and environment). Returns the error that counts: the last one that
/// was not ENOENT, or ENOENT.
fn exec_search(p: &Prepared) -> (Errno, String) {
    let mut worst = Errno::ENOENT;
    for path in &p.paths {
        let err = match nix::unistd::execve(path, &p.argv, &p.env) {
            Err(e) => e,
            Ok(never) => match never {},
        };
        if err != Errno::ENOENT && err != Errno::ENOTDIR {
            worst = err;
        }
    }
    let shown = p.argv[0].to_string_lossy();
    let msg = if shown.contains('/') {
        failed(&format!("execve(\"{shown}\") inside the container"), worst)
    } else {
        format!(
            "{} inside the container (looked in {})",
            failed(&format!("execve(\"{shown}\")"), worst),
            CHILD_ENV
                .iter()
                .find_map(|e| e.strip_prefix("PATH="))
                .unwrap_or("")
        )
    };
    (worst, msg)
}

/// Closes every descriptor from 3 up except those in `keep` (close_range(2) on the gaps).
fn close_all_but(keep: &[i32]) {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter(|&&f| f >= 3)
        .map(|&f| f as u32)
        .collect();
    keep.sort_unstable();
    let mut from = 3u32;
    for k in keep {
        if k > from {
            // SAFETY: closing descriptors this process owns; no Rust object refers to them.
            unsafe { libc::syscall(libc::SYS_close_range, from, k - 1, 0) };
        }
        from = k + 1;
    }
    unsafe { libc::syscall(libc::SYS_close_range, from, u32::MAX, 0) };
}

/// PR_SET_PDEATHSIG(SIGKILL), then makes sure the parent did not die before that.
fn die_with_parent(parent: Pid) {
    // SAFETY: plain prctl.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    if getppid() != parent {
        unsafe { libc::_exit(125) };
    }
}

/// The dispositions and mask CMD should start with: the namespace parent ignored the
/// job-control signals and Rust ignores SIGPIPE; exec keeps ignored signals ignored.
fn restore_signals() {
    for sig in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGPIPE,
    ] {
        // SAFETY: SIG_DFL installs no handler code.
        unsafe {
            let _ = signal(sig, SigHandler::SigDfl);
        }
    }
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}

/// Sends the CLI why the start failed: a head line (`setup` or `exec ERRNO`) and the
/// message.
fn report(errors: &OwnedFd, head: &str, message: &str) {
    write_all_fd(errors.as_raw_fd(), format!("{head}\n{message}").as_bytes());
}

fn write_all_fd(fd: i32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: writing from a live buffer to a descriptor this process holds.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n > 0 {
            bytes = &bytes[n as usize..];
        } else if n < 0 && Errno::last() == Errno::EINTR {
            continue;
        } else {
            return;
        }
    }
}

/// Reads until `buf` is full or EOF; returns how many bytes came.
fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match nix::unistd::read(fd, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::EINTR) => {}
            Err(_) => break,
        }
    }
    got
}

/// Starts a container and waits for it: what `learn-containers run` does.
pub fn run(spec: &ContainerSpec, trace: Option<Instant>) -> Result<i32> {
    Container::start(spec, Io::Inherit, trace)?.wait()
}

/// The OCI runtime configuration (config.json) that gives `runc run` the same container
/// as [`ContainerSpec`]: the same rootfs, PID, mount and UTS namespaces, hostname, /proc,
/// a tmpfs /tmp, and the CPU quota, in a cgroup under learn-containers/. runc also needs
/// a /dev to create its device nodes in: a tmpfs, so the rootfs is not written to.
pub fn oci_config(spec: &ContainerSpec, cgroups_path: &str) -> serde_json::Value {
    let env: Vec<String> = CHILD_ENV.iter().map(|e| e.to_string()).collect();
    let mut linux = serde_json::json!({
        "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}],
        "cgroupsPath": cgroups_path,
    });
    if let Some(limit) = &spec.cpus {
        linux["resources"] = serde_json::json!({
            "cpu": {"quota": limit.quota_us.map_or(-1, |q| q as i64), "period": limit.period_us}
        });
    }
    serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": spec.argv,
            "env": env,
            "cwd": "/",
            "noNewPrivileges": true
        },
        "root": {"path": spec.rootfs, "readonly": spec.readonly},
        "hostname": spec.hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "learn-containers",
             "options": ["nosuid", "nodev", "mode=1777"]}
        ],
        "linux": linux
    })
}

/// Writes `bundle/config.json` for `runc run --bundle BUNDLE` (see [`oci_config`]).
pub fn write_oci_bundle(
    bundle: &Path,
    spec: &ContainerSpec,
    cgroups_path: &str,
) -> Result<PathBuf> {
    std::fs::create_dir_all(bundle).with_context(|| format!("mkdir {}", bundle.display()))?;
    let path = bundle.join("config.json");
    let text = serde_json::to_string_pretty(&oci_config(spec, cgroups_path))?;
    let mut f = File::create(&path).with_context(|| format!("create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    Ok(path)
}

/// Before `runc run` with `cgroupsPath` `cgroups_path`: runc makes that cgroup in every
/// hierarchy (name=systemd and unified included). Registered, so that an interrupt
/// removes what runc, killed, could not; dropping the registrations forgets them.
pub fn register_runc_cgroups(cgroups_path: &str) -> Result<Vec<cleanup::Registered>> {
    let rel = cgroups_path.trim_start_matches('/');
    Ok(CgroupFs::detect()?
        .hierarchies()
        .into_iter()
        .map(|(h, version)| {
            cleanup::Registered::new(cleanup::Resource::Cgroup(h.join(rel), version))
        })
        .collect())
}

/// After `runc run`: runc removes the cgroups it made, but not the `learn-containers/`
/// directories it created above them in every hierarchy. Removes those that are empty;
/// rmdir is the test, nothing is killed.
pub fn remove_empty_cgroup_parents() {
    let Ok(fs) = CgroupFs::detect() else {
        return;
    };
    for d in fs.learn_containers_dirs() {
        let _ = std::fs::remove_dir(&d);
    }
}

/// What a process finds when it enters another process's mount namespace, as
/// `nsenter --mount=/proc/PID/ns/mnt` does: setns(2) puts it at the namespace's root,
/// whatever that process's own root is.
#[derive(Debug, Clone)]
pub struct NsView {
    /// The namespace's whole mount table, read from there. /proc/PID/mountinfo cannot
    /// show this: it leaves out every mount outside a chrooted process's root.
    pub mounts: Vec<mountinfo::Mount>,
    /// Which of the paths asked about exist there.
    pub present: Vec<PathBuf>,
}

/// Enters `pid`'s mount namespace in a forked child and reports what is there (see
/// [`NsView`]). Nothing is changed: the child only reads, then exits.
pub fn enter_and_look(pid: i32, paths: &[PathBuf]) -> Result<NsView> {
    let ns_path = CString::new(format!("/proc/{pid}/ns/mnt"))?;
    let out = super::child::run_captured(Duration::from_secs(10), || {
        use std::os::fd::FromRawFd;
        // The host's /proc, opened before leaving: inside, /proc (if any) belongs to
        // another PID namespace, where this child has no /proc/self.
        // SAFETY: plain syscalls on NUL-terminated paths; fds owned below.
        let proc_fd = unsafe {
            libc::open(
                c"/proc".as_ptr(),
                libc::O_DIRECTORY | libc::O_RDONLY | libc::O_CLOEXEC,
            )
        };
        let ns_fd = unsafe { libc::open(ns_path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if proc_fd < 0 || ns_fd < 0 {
            super::child::emit(&failed("open /proc or the namespace", Errno::last()));
            return 1;
        }
        if unsafe { libc::setns(ns_fd, libc::CLONE_NEWNS) } != 0 {
            super::child::emit(&failed("setns(CLONE_NEWNS)", Errno::last()));
            return 1;
        }
        let fd = unsafe {
            libc::openat(
                proc_fd,
                c"self/mountinfo".as_ptr(),
                libc::O_RDONLY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            super::child::emit(&failed("open /proc/self/mountinfo", Errno::last()));
            return 1;
        }
        // SAFETY: fd was just opened and is owned by this File.
        let mut text = String::new();
        let _ = unsafe { File::from_raw_fd(fd) }.read_to_string(&mut text);
        for line in text.lines() {
            super::child::emit(&format!("m {line}"));
        }
        for p in paths {
            if p.symlink_metadata().is_ok() {
                super::child::emit(&format!("p {}", p.display()));
            }
        }
        0
    })?;
    if out.exit != Exit::Code(0) {
        bail!(
            "entering the mount namespace of {pid}: {}",
            out.output.trim()
        );
    }
    let table: String = out
        .output
        .lines()
        .filter_map(|l| l.strip_prefix("m "))
        .map(|l| format!("{l}\n"))
        .collect();
    Ok(NsView {
        mounts: mountinfo::parse(&table)?,
        present: out
            .output
            .lines()
            .filter_map(|l| l.strip_prefix("p "))
            .map(PathBuf::from)
            .collect(),
    })
}

/// The mounts of `view` that are the host's own (the same filesystem and the same
/// directory of it as a mount in `host`): what a container keeps of the old root.
pub fn host_mounts<'a>(view: &'a NsView, host: &[mountinfo::Mount]) -> Vec<&'a mountinfo::Mount> {
    view.mounts
        .iter()
        .filter(|m| host.iter().any(|h| h.dev == m.dev && h.root == m.root))
        .collect()
}
