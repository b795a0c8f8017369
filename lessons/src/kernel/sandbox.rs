//! Namespaces of the verifier's own (or a demo's), held open by a waiting child:
//! candidates run inside them, so a wrong one that mounts without a namespace of its own,
//! or renames the host, hits the sandbox and not the host, and the verifier can still see
//! it happen by comparing the sandbox before and after.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bail;
use crate::error::Result;
use nix::sched::{CloneFlags, unshare};

use super::child::{Exit, Supervised, SysError, emit, run_captured, wait_for_stdin_eof};
use super::mountinfo::{self, Mount};
use super::ns::{self, Entry};
use super::procfs;
use super::wire::Msg;

/// How long a sandbox may take to set up.
const SETUP: Duration = Duration::from_secs(10);

/// How the sandbox's mounts propagate among themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// / is private, as on hosts without systemd (and as util-linux `unshare` leaves it).
    Private,
    /// A systemd host: / and every mount under it shared, each in a peer group of its own,
    /// with the temp dir a mount of its own (systemd's tmp.mount, as on Fedora, Arch and
    /// Debian 13), so what a candidate works on lies on a shared submount: a namespace
    /// copied from it stays a peer, and making only / private leaves the rest peers too.
    Shared,
}

/// A mount namespace held open by a waiting child. Its mounts are first made private (cut
/// off from the host), and then, for [`Propagation::Shared`], shared again among the
/// sandbox and the namespaces copied from it, never with the host.
pub struct Sandbox {
    held: Supervised,
}

impl Sandbox {
    pub fn start(propagation: Propagation) -> Result<Sandbox> {
        let tmp = std::env::temp_dir();
        let mut held = Supervised::fork_wired(move |tx| {
            let setup = ns::private_mount_namespace().and_then(|()| match propagation {
                Propagation::Shared => {
                    ns::bind_on_itself(&tmp).and_then(|()| ns::make_root_shared())
                }
                Propagation::Private => Ok(()),
            });
            if let Err(e) = setup {
                tx.send(&e.into());
                return 1;
            }
            tx.send(&Msg::Ready);
            wait_for_stdin_eof();
            0
        })?;
        if let Err(e) = held.wait_ready(SETUP) {
            bail!("could not set up a sandbox mount namespace: {e}");
        }
        Ok(Sandbox { held })
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
        Entry::of(self.pid(), "mnt", CloneFlags::CLONE_NEWNS)
    }
}

/// A UTS namespace (hostname and domain name) held open by a waiting child: candidates
/// join it, so a wrong one that calls sethostname before unshare(CLONE_NEWUTS) renames
/// the sandbox instead of the host, and the verifier can still see it happen by reading
/// the sandbox's hostname before and after.
pub struct UtsSandbox {
    held: Supervised,
}

impl UtsSandbox {
    pub fn start() -> Result<UtsSandbox> {
        let mut held = Supervised::fork_wired(|tx| {
            if let Err(e) = unshare(CloneFlags::CLONE_NEWUTS) {
                tx.send(&SysError::new("unshare(CLONE_NEWUTS)", e).into());
                return 1;
            }
            tx.send(&Msg::Ready);
            wait_for_stdin_eof();
            0
        })?;
        if let Err(e) = held.wait_ready(SETUP) {
            bail!("could not set up a sandbox UTS namespace: {e}");
        }
        Ok(UtsSandbox { held })
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
        let out = run_captured(Duration::from_secs(5), move || {
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
                    emit(&SysError::new("gethostname", e).to_string());
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
        Entry::of(self.pid(), "uts", CloneFlags::CLONE_NEWUTS)
    }
}
