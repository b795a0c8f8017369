//! What entering a process's mount namespace finds, as `nsenter --mount=/proc/PID/ns/mnt`
//! does: setns(2) puts the caller at the namespace's root, whatever that process's own
//! root is, so it sees the whole mount table, the old root included if it was kept.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use crate::bail;
use crate::error::Result;
use nix::fcntl::{OFlag, open, openat};
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;

use crate::kernel::child::{Exit, emit, failed, run_captured};
use crate::kernel::mountinfo;
use crate::kernel::ns::Entry;

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
    let entry = Entry::of(pid, "mnt", CloneFlags::CLONE_NEWNS);
    let out = run_captured(Duration::from_secs(10), || {
        // The host's /proc, opened before leaving: inside, /proc (if any) belongs to
        // another PID namespace, where this child has no /proc/self.
        let proc_dir = match open(
            "/proc",
            OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(e) => {
                emit(&failed("open(\"/proc\")", e));
                return 1;
            }
        };
        if let Err(e) = entry.enter() {
            emit(&format!("setns(CLONE_NEWNS) failed: {e}"));
            return 1;
        }
        let fd = match openat(
            &proc_dir,
            "self/mountinfo",
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(e) => {
                emit(&failed("open /proc/self/mountinfo", e));
                return 1;
            }
        };
        let mut text = String::new();
        let _ = File::from(fd).read_to_string(&mut text);
        for line in text.lines() {
            emit(&format!("m {line}"));
        }
        for p in paths {
            if p.symlink_metadata().is_ok() {
                emit(&format!("p {}", p.display()));
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

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
30 22 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw
";

    #[test]
    fn only_the_hosts_own_mounts_count_as_kept() {
        let host = mountinfo::parse(HOST).unwrap();
        // A chrooted container: its root is a directory of the host's disk (same device,
        // another root), its /proc and /tmp fresh; the host's / and cgroup2 are still there.
        let view = NsView {
            mounts: mountinfo::parse(
                "\
600 599 8:1 / / rw,relatime - ext4 /dev/sda1 rw
601 600 8:1 /tmp/learn-containers-x/rootfs /tmp/learn-containers-x/rootfs rw,relatime - ext4 /dev/sda1 rw
602 601 0:70 / /tmp/learn-containers-x/rootfs/proc rw,relatime - proc proc rw
603 601 0:71 / /tmp/learn-containers-x/rootfs/tmp rw,relatime - tmpfs tmpfs rw
604 600 0:25 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw
",
            )
            .unwrap(),
            present: Vec::new(),
        };
        let kept: Vec<u32> = host_mounts(&view, &host).iter().map(|m| m.id).collect();
        assert_eq!(kept, vec![600, 604]);
    }
}
