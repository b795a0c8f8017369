//! The two processes a container's start forks, and the steps each takes: the namespace
//! parent (new namespaces, fork PID 1, report its pid, wait) and PID 1 (join the cgroup,
//! make / private, pivot_root, mount /proc and /tmp, set the hostname, exec CMD). Both
//! are forked children: they only make syscalls and send [`Msg`]s, then exit or exec.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{MntFlags, umount2};
use nix::sched::{CloneFlags, unshare};
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, signal, sigprocmask};
use nix::unistd::{ForkResult, Pid, chdir, fork, getppid, pivot_root, sethostname};

use super::root::{self, Root};
use super::trace::{Trace, note};
use crate::kernel::child::guard::exit_now;
use crate::kernel::child::{CHILD_ENV, Exit, SysError, close_all_but, die_with_parent, wait_exit};
use crate::kernel::ns;
use crate::kernel::timens;
use crate::kernel::wire::{Msg, Sender};

/// Everything prepared before the fork, so the children only make syscalls.
pub(super) struct Prepared {
    pub rootfs: PathBuf,
    pub hostname: String,
    pub root: Root,
    pub net: super::spec::Net,
    pub argv: Vec<CString>,
    pub env: Vec<CString>,
    /// Candidate paths for CMD inside the rootfs: itself if it has a `/`, else PATH.
    pub paths: Vec<CString>,
    /// A time namespace with both clocks this many seconds ahead (chapter 8).
    pub uptime_offset: Option<i64>,
    /// With `--net bridge`: the host end and the address the container gets.
    pub plug: Option<crate::kernel::net::bridge::Plug>,
}

/// What the namespace parent hands PID 1.
pub(super) struct Handed {
    /// The join file of each of the container's cgroups (one per hierarchy on v1),
    /// opened by the CLI before the fork: they still work after pivot_root has taken
    /// /sys/fs/cgroup out of sight.
    pub join: Vec<OwnedFd>,
    /// CMD's stdin and output, for a piped container.
    pub stdio: Option<(OwnedFd, OwnedFd)>,
}

/// The namespace parent: new namespaces, fork PID 1, report its pid, wait for it.
/// Returns the exit code for `_exit`.
pub(super) fn namespace_parent(
    cli: Pid,
    p: &Prepared,
    tx: Sender,
    handed: Handed,
    mut trace: Option<Trace>,
) -> i32 {
    die_with_parent();
    if getppid() != cli {
        // The CLI died before the prctl.
        return 125;
    }
    // Only its own descriptors: a copy of some other pipe of the caller's, held here for
    // the container's whole life, would hide that pipe's end from whoever reads it.
    let mut keep = vec![tx.as_raw_fd()];
    keep.extend(handed.join.iter().map(|f| f.as_raw_fd()));
    if let Some((a, b)) = &handed.stdio {
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
        let _ = unsafe { signal(sig, SigHandler::SigIgn) };
    }
    // IPC here; the cgroup namespace is PID 1's, made once it has joined its cgroup (see
    // pid1). A time namespace, like the PID one, is only the one PID 1 is born into: its
    // offsets are written before that fork, while nobody is in it.
    let mut flags = CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWIPC;
    let mut what = String::from("unshare(CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC");
    if p.net != super::spec::Net::Host {
        flags |= CloneFlags::CLONE_NEWNET;
        what.push_str("|CLONE_NEWNET");
    }
    // --net bridge: a netlink socket acts in the namespace it was opened in, so the one
    // that makes the host's end of the veth is opened before the unshare.
    let mut host_nl = None;
    if p.plug.is_some() {
        match crate::kernel::net::Rtnl::open() {
            Ok(nl) => host_nl = Some(nl),
            Err(e) => {
                tx.send(&Msg::Failed {
                    message: format!("--net bridge: {e}"),
                    errno: e.raw_os_error(),
                });
                return 125;
            }
        }
    }
    if p.uptime_offset.is_some() {
        flags |= timens::CLONE_NEWTIME;
        what.push_str("|CLONE_NEWTIME");
    }
    what.push(')');
    if let Err(e) = unshare(flags) {
        tx.send(&SysError::new(what, e).into());
        return 125;
    }
    note(&mut trace, &what);
    if let (Some(plug), Some(host)) = (&p.plug, host_nl.as_mut()) {
        if let Err(e) = crate::kernel::net::bridge::plug_in(plug, host) {
            tx.send(&Msg::Failed {
                message: format!("--net bridge: {e}"),
                errno: e.raw_os_error(),
            });
            return 125;
        }
        drop(host_nl);
        note(&mut trace, "eth0 plugged into the bridge");
    }
    // --net none: the new namespace's lo starts down; a container expects it up.
    if p.net == super::spec::Net::None {
        if let Err(e) = crate::kernel::net::Rtnl::open().and_then(|mut nl| nl.set_up("lo")) {
            tx.send(&Msg::Failed {
                message: format!("--net none: {e}"),
                errno: e.raw_os_error(),
            });
            return 125;
        }
        note(&mut trace, "lo up in a new network namespace");
    }
    if let Some(secs) = p.uptime_offset {
        if let Err(e) = timens::write_offsets(secs) {
            tx.send(&e.into());
            return 125;
        }
        note(&mut trace, "timens_offsets written");
    }
    // SAFETY: single-threaded child; the grandchild only makes syscalls, then execs.
    let child = match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            let trace = trace.as_ref().map(|t| t.fork("pid1"));
            let code = pid1(p, &tx, handed, trace);
            exit_now(code)
        }
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => {
            tx.send(&SysError::new("fork() for PID 1", e).into());
            return 125;
        }
    };
    drop(handed);
    // Its own process group: the CLI's undo kills this group, and only it. PID 1 was
    // forked before, so it stays in the caller's (foreground) group with the terminal.
    let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
    note(&mut trace, "forked PID 1");
    if let Some(t) = &mut trace {
        t.flush();
    }
    tx.send(&Msg::Pid {
        pid: child.as_raw(),
    });
    drop(tx);
    // 125: the container machinery itself failed, as runc and docker say.
    wait_exit(child).map_or(125, Exit::status)
}

/// PID 1: the cgroup barrier, mounts, pivot_root, hostname, exec. Returns only on failure.
fn pid1(p: &Prepared, tx: &Sender, handed: Handed, mut trace: Option<Trace>) -> i32 {
    // Its parent is outside its PID namespace, so getppid() says 0: only the prctl here.
    die_with_parent();
    // The cgroup first: nothing PID 1 or CMD ever does runs uncapped.
    for join in &handed.join {
        match nix::unistd::write(join, b"0") {
            Ok(1) => note(&mut trace, "joined the cgroup (wrote 0 to its join file)"),
            Ok(_) => {
                tx.send(
                    &SysError::new(
                        "joining the cgroup (writing 0 to its tasks/cgroup.procs)",
                        Errno::EIO,
                    )
                    .into(),
                );
                return 125;
            }
            Err(e) => {
                tx.send(
                    &SysError::new(
                        "joining the cgroup (writing 0 to its tasks/cgroup.procs)",
                        e,
                    )
                    .into(),
                );
                return 125;
            }
        }
    }
    // Then the cgroup namespace, rooted where PID 1 now is: CMD sees itself at `/`, not
    // the host's path to its cgroup (made before the join, it would).
    if let Err(e) = unshare(CloneFlags::CLONE_NEWCGROUP) {
        tx.send(&SysError::new("unshare(CLONE_NEWCGROUP)", e).into());
        return 125;
    }
    note(&mut trace, "unshare(CLONE_NEWCGROUP)");
    let setup = enter_rootfs(&p.rootfs, p.root, Proc::Mount, &mut trace)
        .map(|said| {
            if let Some(text) = said {
                tx.send(&Msg::Note { text });
            }
        })
        .and_then(|()| {
            sethostname(&p.hostname)
                .map_err(|e| SysError::new(format!("sethostname(\"{}\")", p.hostname), e))
        })
        .inspect(|()| note(&mut trace, "sethostname"));
    if let Err(e) = setup {
        tx.send(&e.into());
        return 125;
    }
    restore_signals();
    if let Some((stdin, out)) = &handed.stdio {
        let _ = nix::unistd::dup2_stdin(stdin);
        let _ = nix::unistd::dup2_stdout(out);
        let _ = nix::unistd::dup2_stderr(out);
    }
    note(&mut trace, "execve");
    if let Some(t) = &mut trace {
        t.flush();
    }
    let (errno, message) = exec_search(p);
    tx.send(&Msg::ExecFailed {
        errno: errno as i32,
        message,
    });
    match errno {
        Errno::ENOENT | Errno::ENOTDIR => 127,
        _ => 126,
    }
}

/// Whether [`enter_rootfs`] mounts a proc for the new root (of the caller's PID namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proc {
    Mount,
    Skip,
}

/// Makes the mounts private, then makes `rootfs` the root (an overlay over it, or itself,
/// as `root` says) with a /dev and a /tmp: the mount work every container does before its
/// own mounts. For a forked child in a new mount namespace only. Returns a note for the
/// learner when the root had to be made otherwise than asked (no overlayfs here).
pub fn enter_rootfs(
    rootfs: &Path,
    root: Root,
    proc: Proc,
    trace: &mut Option<Trace>,
) -> Result<Option<String>, SysError> {
    ns::make_root_private()?;
    note(trace, "mount --make-rprivate /");
    let (new_root, said) = root::prepare(rootfs, root)?;
    note(
        trace,
        match root {
            Root::Ephemeral => "overlay: the rootfs under a tmpfs layer",
            _ => "bind-mount the rootfs as the new root",
        },
    );
    root::mount_dev(&new_root)?;
    note(trace, "a /dev: devices, links, devpts, shm");
    root::mount_tmp(&new_root)?;
    note(trace, "a /tmp of its own");
    if proc == Proc::Mount {
        // Before pivot_root, while the host's /proc is still in this namespace: in a user
        // namespace the kernel mounts a proc only where one is already fully visible.
        let at = new_root.join("proc");
        root::mount_point(&at)?;
        ns::mount_proc(&at)?;
        note(trace, "a proc of its own at /proc");
    }
    pivot_into(&new_root)?;
    note(trace, "pivot_root, old root detached");
    Ok(said)
}

/// pivot_root into `dir` (a mount point), with the old root stacked on the new one and
/// then detached, so nothing of the host's mount tree is left in this namespace:
/// `cd DIR; pivot_root . .; umount -l .` (the trick from man 2 pivot_root, which needs no
/// directory for the old root).
pub fn pivot_into(dir: &Path) -> Result<(), SysError> {
    chdir(dir).map_err(|e| SysError::new(format!("chdir(\"{}\")", dir.display()), e))?;
    pivot_root(".", ".").map_err(|e| {
        SysError::new(
            format!("pivot_root(\"{}\", \"{}\")", dir.display(), dir.display()),
            e,
        )
    })?;
    umount2(".", MntFlags::MNT_DETACH)
        .map_err(|e| SysError::new("umount2(old root, MNT_DETACH)", e))?;
    chdir("/").map_err(|e| SysError::new("chdir(\"/\")", e))
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
        SysError::new(format!("execve(\"{shown}\") inside the container"), worst).to_string()
    } else {
        format!(
            "{} inside the container (looked in {})",
            SysError::new(format!("execve(\"{shown}\")"), worst),
            CHILD_ENV
                .iter()
                .find_map(|e| e.strip_prefix("PATH="))
                .unwrap_or("")
        )
    };
    (worst, msg)
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
        let _ = unsafe { signal(sig, SigHandler::SigDfl) };
    }
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}
