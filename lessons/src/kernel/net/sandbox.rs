//! A network namespace of our own, held open by a waiting child, with `lo` up: it stands
//! in for the host (or for "the internet") in lessons and verifiers, so that nothing
//! they or a candidate do to links, addresses and routes reaches the real host's.

use std::path::PathBuf;
use std::time::Duration;

use nix::sched::{CloneFlags, unshare};

use super::rtnl::Rtnl;
use crate::bail;
use crate::error::Result;
use crate::kernel::child::{Supervised, SysError, wait_for_stdin_eof};
use crate::kernel::ns::Entry;
use crate::kernel::procfs;
use crate::kernel::wire::Msg;

/// How long a sandbox may take to set up.
const SETUP: Duration = Duration::from_secs(10);

pub struct NetSandbox {
    held: Supervised,
}

impl NetSandbox {
    /// A new network namespace, `lo` up in it, held by a child until this is dropped.
    pub fn start() -> Result<NetSandbox> {
        NetSandbox::start_with(true)
    }

    /// A new network namespace as the kernel makes it: `lo`, down.
    pub fn start_bare() -> Result<NetSandbox> {
        NetSandbox::start_with(false)
    }

    fn start_with(lo_up: bool) -> Result<NetSandbox> {
        let mut held = Supervised::fork_wired(move |tx| {
            if let Err(e) = unshare(CloneFlags::CLONE_NEWNET) {
                tx.send(&SysError::new("unshare(CLONE_NEWNET)", e).into());
                return 1;
            }
            let lo = if lo_up {
                Rtnl::open().and_then(|mut nl| nl.set_up("lo"))
            } else {
                Ok(())
            };
            if let Err(e) = lo {
                tx.send(&Msg::Failed {
                    message: format!("lo up in a new network namespace: {e}"),
                    errno: e.raw_os_error(),
                });
                return 1;
            }
            tx.send(&Msg::Ready);
            wait_for_stdin_eof();
            0
        })?;
        if let Err(e) = held.wait_ready(SETUP) {
            bail!("could not set up a network namespace of the verifier's own: {e}");
        }
        Ok(NetSandbox { held })
    }

    pub fn pid(&self) -> i32 {
        self.held.pid()
    }

    /// /proc/PID/ns/net of the holding child.
    pub fn ns_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.pid()))
    }

    /// The inode of the namespace.
    pub fn inode(&self) -> Result<u64> {
        procfs::ns_inode(self.pid(), "net")
    }

    /// A netlink socket inside it.
    pub fn rtnl(&self) -> Result<Rtnl> {
        Ok(Rtnl::open_in(&self.ns_path())?)
    }

    /// How a forked child (or a pre_exec hook) joins it.
    pub fn entry(&self) -> Entry {
        Entry::of(self.pid(), "net", CloneFlags::CLONE_NEWNET)
    }
}

impl NetSandbox {
    /// Runs `nft -f -` with `script` inside the namespace (`ip netns exec NS nft -f -`):
    /// its tables live and die with the namespace. Returns what nft printed.
    pub fn nft(&self, script: &str) -> Result<String> {
        match super::nft(Some(self.entry()), &["-f", "-"], script) {
            Ok(out) => Ok(out),
            Err(e) => bail!("{e}, in a namespace of our own"),
        }
    }

    /// `sysctl net.ipv4.ip_forward=1` inside the namespace (each has its own).
    pub fn forward(&self) -> Result<()> {
        super::within(&self.ns_path(), || {
            std::fs::write("/proc/sys/net/ipv4/ip_forward", "1")
        })?;
        Ok(())
    }
}
