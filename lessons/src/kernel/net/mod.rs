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

/// Runs `nft ARGS` with `script` on its stdin, in the namespace `entry` names (the
/// caller's own with None), and returns what it printed; the host's nft, from Debian's
/// nftables package.
pub fn nft(
    entry: Option<crate::kernel::ns::Entry>,
    args: &[&str],
    script: &str,
) -> std::io::Result<String> {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let mut cmd = Command::new("nft");
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(entry) = entry {
        // SAFETY: runs between fork and exec; enter() only opens a file and calls setns.
        unsafe {
            cmd.pre_exec(move || entry.enter());
        }
    }
    let (mut child, _registered) = crate::kernel::child::spawn_command(&mut cmd)
        .map_err(|e| std::io::Error::other(format!("nft: {e} (apt install nftables)")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "nft {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
