//! Namespaces: the one step every mount-namespace child must take first, children that
//! hold namespaces open to be observed from outside, and the sandbox verifiers run in.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{MsFlags, mount};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sched::{CloneFlags, unshare};
use nix::unistd::{dup2_stderr, dup2_stdin, dup2_stdout, pipe2};

use super::child::{ChildGuard, Exit, emit, failed, fork_guarded};
use super::mountinfo::{self, Mount};
use super::procfs;

/// Makes every mount in this (new) mount namespace private, recursively, so nothing
/// mounted here propagates back to the host. systemd hosts mount / as shared, and a bare
/// `unshare(CLONE_NEWNS)` keeps that peer relationship. `mount --make-rprivate /`.
pub fn make_root_private() -> Result<(), String> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| failed("mount(\"/\", MS_REC|MS_PRIVATE)", e))
}

/// Makes every mount in this namespace shared, recursively, as systemd does on a host's
/// /. Only inside a sandbox namespace, to show what propagation does; never on the host.
pub fn make_root_shared() -> Result<(), String> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SHARED,
        None::<&str>,
    )
    .map_err(|e| failed("mount(\"/\", MS_REC|MS_SHARED)", e))
}

/// Enters a new mount namespace and makes it private: the safe start of any mount work.
/// For use in a forked child only.
pub fn private_mount_namespace() -> Result<(), String> {
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| failed("unshare(CLONE_NEWNS)", e))?;
    make_root_private()
}

/// A forked child that holds namespaces open so they can be looked at from outside, through
/// /proc/PID: it runs `f`, its stdout and stderr come back as lines, and it (or whatever it
/// execs) can wait for its stdin to close, which is how it is told to finish. Its own
/// process group, killed on drop; it also dies with its parent (PR_SET_PDEATHSIG).
pub struct Held {
    guard: ChildGuard,
    stdin: Option<OwnedFd>,
    out: std::fs::File,
    partial: Vec<u8>,
    lines: Vec<String>,
    eof: bool,
}

impl Held {
    pub fn start(f: impl FnOnce() -> i32) -> Result<Held> {
        let (in_r, in_w) = pipe2(OFlag::O_CLOEXEC).context("pipe")?;
        let (out_r, out_w) = pipe2(OFlag::O_CLOEXEC).context("pipe")?;
        // The child only makes syscalls, then exits or execs.
        match fork_guarded()? {
            None => {
                let _ = dup2_stdin(&in_r);
                let _ = dup2_stdout(&out_w);
                let _ = dup2_stderr(&out_w);
                close_from(3);
                let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
                unsafe { libc::_exit(code) }
            }
            Some(guard) => {
                drop((in_r, out_w));
                Ok(Held {
                    guard,
                    stdin: Some(in_w),
                    out: std::fs::File::from(out_r),
                    partial: Vec::new(),
                    lines: Vec::new(),
                    eof: false,
                })
            }
        }
    }

    pub fn pid(&self) -> i32 {
        self.guard.pid()
    }

    /// Every line it printed so far.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Reads its output until a line matches `pred` (returned), it closes its output, or
    /// `timeout` passes (both None).
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut checked = self.lines.len();
        loop {
            if let Some(l) = self.lines[checked..].iter().find(|l| pred(l)) {
                return Some(l.clone());
            }
            checked = self.lines.len();
            if self.eof || !self.read_some(deadline) {
                return None;
            }
        }
    }

    /// Reads what is available before `deadline`; false when nothing more will come in time.
    fn read_some(&mut self, deadline: Instant) -> bool {
        use std::io::Read;
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
        let mut fds = [PollFd::new(self.out.as_fd(), PollFlags::POLLIN)];
        match poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(0) => return false,
            Ok(_) => {}
            Err(Errno::EINTR) => return true,
            Err(_) => {
                self.eof = true;
                return false;
            }
        }
        let mut buf = [0u8; 8192];
        match self.out.read(&mut buf) {
            Ok(0) | Err(_) => {
                self.eof = true;
                if !self.partial.is_empty() {
                    let rest = std::mem::take(&mut self.partial);
                    self.lines.push(String::from_utf8_lossy(&rest).into_owned());
                }
                false
            }
            Ok(n) => {
                self.partial.extend_from_slice(&buf[..n]);
                while let Some(i) = self.partial.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = self.partial.drain(..=i).collect();
                    self.lines.push(
                        String::from_utf8_lossy(&line[..i])
                            .trim_end_matches('\r')
                            .to_owned(),
                    );
                }
                true
            }
        }
    }

    /// Closes its stdin (the signal to finish), then waits up to `timeout` for it to end,
    /// killing its whole process group if it does not. Returns how it ended and everything
    /// it printed.
    pub fn finish(mut self, timeout: Duration) -> (Exit, Vec<String>) {
        self.stdin = None;
        let deadline = Instant::now() + timeout;
        while !self.eof && self.read_some(deadline) {}
        let exit = loop {
            match self.guard.try_wait() {
                Ok(Some(exit)) => break exit,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                _ => {
                    self.guard.kill();
                    break Exit::TimedOut;
                }
            }
        };
        (exit, std::mem::take(&mut self.lines))
    }
}

/// Closes every descriptor from `first` up, in a freshly forked child, so it keeps no
/// end of another child's pipes open (which would hide that child's EOF).
fn close_from(first: u32) {
    // SAFETY: plain syscalls on descriptors this process owns.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0) };
    if r != 0 {
        for fd in first..1024 {
            unsafe { libc::close(fd as i32) };
        }
    }
}

/// Blocks until stdin reaches end of file: how a held child waits to be released.
pub fn wait_for_stdin_eof() {
    let mut buf = [0u8; 256];
    loop {
        match nix::unistd::read(std::io::stdin(), &mut buf) {
            Ok(0) => return,
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// How the sandbox's mounts propagate among themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// / is private, as on hosts without systemd (and as util-linux `unshare` leaves it).
    Private,
    /// / is shared, recursively, as systemd mounts it at boot: a namespace copied from it
    /// stays a peer and mounts made there come back.
    Shared,
}

/// A mount namespace of the verifier's own (or a demo's), held open by a waiting child:
/// candidates run inside it, so a wrong one that mounts without a namespace of its own
/// clobbers the sandbox and not the host, and the verifier can still see it happen by
/// comparing the sandbox's mountinfo before and after. Its mounts are first made private
/// (cut off from the host), and then, for [`Propagation::Shared`], shared again among the
/// sandbox and the namespaces copied from it, never with the host.
pub struct Sandbox {
    held: Held,
    entry: CString,
}

/// Marks a sandbox that is set up.
const SANDBOX_READY: &str = "learn-containers-sandbox-ready";

impl Sandbox {
    pub fn start(propagation: Propagation) -> Result<Sandbox> {
        let mut held = Held::start(move || {
            if let Err(e) = private_mount_namespace() {
                emit(&e);
                return 1;
            }
            if propagation == Propagation::Shared
                && let Err(e) = make_root_shared()
            {
                emit(&format!("{e} (in the sandbox)"));
                return 1;
            }
            emit(SANDBOX_READY);
            wait_for_stdin_eof();
            0
        })?;
        if held
            .wait_for(Duration::from_secs(10), |l| l == SANDBOX_READY)
            .is_none()
        {
            bail!(
                "could not set up a sandbox mount namespace: {}",
                held.lines().join("; ")
            );
        }
        let entry = CString::new(format!("/proc/{}/ns/mnt", held.pid()))?;
        Ok(Sandbox { held, entry })
    }

    pub fn pid(&self) -> i32 {
        self.held.pid()
    }

    /// The sandbox's mount table, as the kernel reports it now.
    pub fn mounts(&self) -> Result<Vec<Mount>> {
        Ok(mountinfo::read(Some(self.pid()))?)
    }

    /// The inode of the sandbox's mount namespace.
    pub fn mnt_inode(&self) -> Result<u64> {
        procfs::ns_inode(self.pid(), "mnt")
    }

    /// Whether `path` exists as a process in the sandbox resolves it: through
    /// /proc/PID/root, which follows that process's mount namespace.
    pub fn sees(&self, path: &Path) -> bool {
        let inside = PathBuf::from(format!("/proc/{}/root", self.pid()))
            .join(path.strip_prefix("/").unwrap_or(path));
        inside.symlink_metadata().is_ok()
    }

    /// How a forked child (or a pre_exec hook) joins the sandbox's mount namespace.
    pub fn entry(&self) -> Entry {
        Entry(self.entry.clone(), libc::CLONE_NEWNS)
    }
}

/// The way into a [`Sandbox`]'s mount namespace (`nsenter --mount=/proc/PID/ns/mnt`), or
/// into a [`UtsSandbox`] (`nsenter --uts=/proc/PID/ns/uts`): the namespace file and its
/// CLONE_NEW* type.
#[derive(Debug, Clone)]
pub struct Entry(CString, libc::c_int);

impl Entry {
    /// Moves the calling process into the sandbox's namespace. For a forked,
    /// single-threaded child or a pre_exec hook: it only makes syscalls (no allocation).
    /// For a mount namespace, setns(2) also moves the root and working directory to the
    /// namespace's /.
    pub fn enter(&self) -> std::io::Result<()> {
        // SAFETY: a NUL-terminated path and plain syscalls.
        unsafe {
            let fd = libc::open(self.0.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let r = libc::setns(fd, self.1);
            let err = std::io::Error::last_os_error();
            libc::close(fd);
            if r != 0 {
                return Err(err);
            }
        }
        Ok(())
    }
}

/// A UTS namespace of the verifier's own (hostname and domain name), held open by a
/// waiting child: candidates join it, so a wrong one that calls sethostname before
/// unshare(CLONE_NEWUTS) renames the sandbox instead of the host, and the verifier can
/// still see it happen by reading the sandbox's hostname before and after.
pub struct UtsSandbox {
    held: Held,
    entry: CString,
}

/// Marks a UTS sandbox that is set up.
const UTS_READY: &str = "learn-containers-uts-sandbox-ready";

impl UtsSandbox {
    pub fn start() -> Result<UtsSandbox> {
        let mut held = Held::start(|| {
            if let Err(e) = unshare(CloneFlags::CLONE_NEWUTS) {
                emit(&failed("unshare(CLONE_NEWUTS)", e));
                return 1;
            }
            emit(UTS_READY);
            wait_for_stdin_eof();
            0
        })?;
        if held
            .wait_for(Duration::from_secs(10), |l| l == UTS_READY)
            .is_none()
        {
            bail!(
                "could not set up a sandbox UTS namespace: {}",
                held.lines().join("; ")
            );
        }
        let entry = CString::new(format!("/proc/{}/ns/uts", held.pid()))?;
        Ok(UtsSandbox { held, entry })
    }

    pub fn pid(&self) -> i32 {
        self.held.pid()
    }

    /// The inode of the sandbox's UTS namespace.
    pub fn inode(&self) -> Result<u64> {
        procfs::ns_inode(self.pid(), "uts")
    }

    /// The sandbox's hostname now, read by a child that joins it (`nsenter --uts hostname`).
    pub fn hostname(&self) -> Result<String> {
        let entry = self.entry();
        let out = super::child::run_captured(Duration::from_secs(5), move || {
            if let Err(e) = entry.enter() {
                emit(&format!("setns(CLONE_NEWUTS) failed: {e}"));
                return 1;
            }
            match nix::unistd::gethostname() {
                Ok(name) => {
                    emit(&name.to_string_lossy());
                    0
                }
                Err(e) => {
                    emit(&failed("gethostname", e));
                    1
                }
            }
        })?;
        if out.exit != Exit::Code(0) {
            bail!("reading the sandbox's hostname: {}", out.output.trim());
        }
        Ok(out.output.trim_end_matches('\n').to_owned())
    }

    /// How a forked child (or a pre_exec hook) joins the sandbox's UTS namespace.
    pub fn entry(&self) -> Entry {
        Entry(self.entry.clone(), libc::CLONE_NEWUTS)
    }
}

/// Mounts a fresh proc at `at`, showing the caller's PID namespace. Only for a child that
/// has entered a private mount namespace of its own.
pub fn mount_proc(at: &Path) -> Result<(), String> {
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(
        Some("learn-containers"),
        at,
        Some("proc"),
        flags,
        None::<&str>,
    )
    .map_err(|e| failed(&format!("mount(proc, \"{}\")", at.display()), e))
}

/// Mounts a tmpfs with the project's name as its source at `at`, with mount options such
/// as "size=1m" or "mode=1777". Only for a child in a private mount namespace of its own.
pub fn mount_tmpfs(at: &Path, options: &str) -> Result<(), String> {
    mount(
        Some("learn-containers"),
        at,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(options),
    )
    .map_err(|e| failed(&format!("mount(tmpfs, \"{}\")", at.display()), e))
}

/// Makes the host's processes visible at `at`, as a /proc mounted inside a chroot does.
/// Rootless (in a user namespace) a fresh proc needs a PID namespace of its own, so the
/// kernel refuses it with EPERM; a recursive bind of the existing /proc shows the same
/// processes. Returns how it was done, for the learner.
pub fn mount_host_proc(at: &Path) -> Result<&'static str, String> {
    match mount_proc(at) {
        Ok(()) => Ok("mount -t proc proc"),
        Err(_) => mount(
            Some("/proc"),
            at,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map(|_| "mount --rbind /proc (rootless: a fresh proc needs a PID namespace of its own)")
        .map_err(|e| {
            failed(
                &format!("mount(\"/proc\", \"{}\", MS_BIND|MS_REC)", at.display()),
                e,
            )
        }),
    }
}
