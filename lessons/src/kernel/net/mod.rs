//! Network namespaces and what is in them, over rtnetlink (the netlink-packet-route
//! crate on a plain synchronous netlink-sys socket): [`rtnl`] reads links, addresses and
//! routes and makes or removes them; [`sandbox`] holds network namespaces of our own
//! open, in which lessons and verifiers work, never in the host's.

pub mod bridge;
pub mod make;
pub mod rtnl;
pub mod sandbox;

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::sched::{CloneFlags, setns};

pub use rtnl::{Addr, Link, Route, Rtnl, Snapshot};
pub use sandbox::NetSandbox;

/// Runs `f` in a thread that has joined the network namespace `ns` (/proc/PID/ns/net),
/// and returns what it returns: a socket made there stays there, and this process, its
/// other threads included, stays where it is.
pub fn within<T: Send>(
    ns: &Path,
    f: impl FnOnce() -> std::io::Result<T> + Send,
) -> std::io::Result<T> {
    let fd: OwnedFd = std::fs::File::open(ns)?.into();
    std::thread::scope(|s| {
        s.spawn(|| {
            setns(fd.as_fd(), CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)?;
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("a thread panicked")))
    })
}
