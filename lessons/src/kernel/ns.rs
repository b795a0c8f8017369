//! Namespace and mount steps a forked child takes: the one every mount-namespace child
//! must take first (make / recursively private), the mounts the chapters make (proc,
//! tmpfs), and joining another process's namespace (setns). Every failure is a
//! [`SysError`] naming the call.

use std::ffi::{CStr, CString};
use std::path::Path;

use nix::fcntl::{OFlag, open};
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::stat::Mode;

use super::child::SysError;

/// Makes every mount in this (new) mount namespace private, recursively, so nothing
/// mounted here propagates back to the host. systemd hosts mount / as shared, and a bare
/// `unshare(CLONE_NEWNS)` keeps that peer relationship. `mount --make-rprivate /`.
pub fn make_root_private() -> Result<(), SysError> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| SysError::new("mount(\"/\", MS_REC|MS_PRIVATE)", e))
}

/// Makes every mount in this namespace shared, recursively, as systemd does on a host's
/// /. Only inside a sandbox namespace, to show what propagation does; never on the host.
pub fn make_root_shared() -> Result<(), SysError> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SHARED,
        None::<&str>,
    )
    .map_err(|e| SysError::new("mount(\"/\", MS_REC|MS_SHARED)", e))
}

/// `mount --rbind DIR DIR`: makes a directory a mount of its own (pivot_root's new root
/// must be one; systemd's tmp.mount makes /tmp one).
pub fn bind_on_itself(dir: &Path) -> Result<(), SysError> {
    mount(
        Some(dir),
        dir,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| SysError::new(format!("mount(\"{}\", MS_BIND|MS_REC)", dir.display()), e))
}

/// Enters a new mount namespace and makes it private: the safe start of any mount work.
/// For use in a forked child only.
pub fn private_mount_namespace() -> Result<(), SysError> {
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| SysError::new("unshare(CLONE_NEWNS)", e))?;
    make_root_private()
}

/// Mounts a fresh proc at `at`, showing the caller's PID namespace. Only for a child that
/// has entered a private mount namespace of its own.
pub fn mount_proc(at: &Path) -> Result<(), SysError> {
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(
        Some("learn-containers"),
        at,
        Some("proc"),
        flags,
        None::<&str>,
    )
    .map_err(|e| SysError::new(format!("mount(proc, \"{}\")", at.display()), e))
}

/// Mounts a tmpfs with the project's name as its source at `at`, with mount options such
/// as "size=1m" or "mode=1777". Only for a child in a private mount namespace of its own.
pub fn mount_tmpfs(at: &Path, options: &str) -> Result<(), SysError> {
    mount(
        Some("learn-containers"),
        at,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(options),
    )
    .map_err(|e| SysError::new(format!("mount(tmpfs, \"{}\")", at.display()), e))
}

/// Makes the host's processes visible at `at`, as a /proc mounted inside a chroot does.
/// Rootless (in a user namespace) a fresh proc needs a PID namespace of its own, so the
/// kernel refuses it with EPERM; a recursive bind of the existing /proc shows the same
/// processes. Returns how it was done, for the learner.
pub fn mount_host_proc(at: &Path) -> Result<&'static str, SysError> {
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
            SysError::new(
                format!("mount(\"/proc\", \"{}\", MS_BIND|MS_REC)", at.display()),
                e,
            )
        }),
    }
}

/// The way into another process's namespace (`nsenter --mount=/proc/PID/ns/mnt`): the
/// namespace file and its kind.
#[derive(Debug, Clone)]
pub struct Entry {
    path: CString,
    kind: CloneFlags,
}

impl Entry {
    /// The namespace of `kind` ("mnt", "uts", ...) that process `pid` is in.
    pub fn of(pid: i32, kind: &str, flag: CloneFlags) -> Entry {
        Entry {
            path: CString::new(format!("/proc/{pid}/ns/{kind}")).expect("no NUL in a path"),
            kind: flag,
        }
    }

    pub fn path(&self) -> &CStr {
        &self.path
    }

    /// Moves the calling process into the namespace. For a forked, single-threaded child
    /// or a pre_exec hook: it only makes syscalls (no allocation). For a mount namespace,
    /// setns(2) also moves the root and working directory to the namespace's /.
    pub fn enter(&self) -> std::io::Result<()> {
        let fd = open(
            self.path.as_c_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        setns(&fd, self.kind)?;
        Ok(())
    }
}
