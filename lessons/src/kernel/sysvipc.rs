//! System V message queues, and the IPC namespaces that hold them. A queue lives in the
//! IPC namespace of the process that made it, until removed (IPC_RMID) or until the
//! namespace goes with its last process; /proc/sysvipc/msg lists the queues of the
//! namespace of whoever opens it. Host safety: queues are only ever made inside an IPC
//! namespace of this tool's own (never the one the tool itself runs in, which is the
//! host's), with keys that spell "lc" in their top bytes ([`KEY_BASE`]).

use std::time::Duration;

use nix::errno::Errno;
use nix::sched::{CloneFlags, unshare};

use super::child::{Exit, Supervised, emit, run_captured, wait_for_stdin_eof};
use super::ns::Entry;
use super::procfs;
use super::sys::SysError;
use super::wire::Msg;
use crate::bail;
use crate::error::Result;

/// The keys of the queues this tool makes: 0x6c63xxxx, "lc" and a number of its own.
pub const KEY_BASE: i32 = 0x6c63_0000;

/// One line of /proc/sysvipc/msg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    /// The key it was made with (0 for IPC_PRIVATE), as the file shows it: decimal.
    pub key: i32,
    pub msqid: i32,
    /// Messages in it.
    pub qnum: u64,
}

/// Parses the text of /proc/sysvipc/msg (a header, then one queue a line).
pub fn parse_msg(text: &str) -> Vec<Queue> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some(Queue {
                key: f.first()?.parse().ok()?,
                msqid: f.get(1)?.parse().ok()?,
                qnum: f.get(4)?.parse().ok()?,
            })
        })
        .collect()
}

/// A key as ipcs(1) prints it: `0x6c630008`.
pub fn hex(key: i32) -> String {
    format!("0x{:08x}", key as u32)
}

/// Makes a queue with `key` (mode 0600) in the caller's IPC namespace; its msqid. For a
/// forked child in a namespace of this tool's own.
pub fn make_queue(key: i32) -> std::result::Result<i32, SysError> {
    // SAFETY: msgget takes two integers and touches no memory of ours.
    let id = unsafe { libc::msgget(key, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) };
    if id < 0 {
        return Err(SysError::new(
            format!("msgget({}, IPC_CREAT|IPC_EXCL|0600)", hex(key)),
            Errno::last(),
        ));
    }
    Ok(id)
}

/// Removes queue `msqid` from the caller's IPC namespace.
pub fn remove_queue(msqid: i32) -> std::result::Result<(), SysError> {
    // SAFETY: IPC_RMID reads no buffer; a null pointer is what msgctl(2) expects for it.
    let r = unsafe { libc::msgctl(msqid, libc::IPC_RMID, std::ptr::null_mut()) };
    if r < 0 {
        return Err(SysError::new(
            format!("msgctl({msqid}, IPC_RMID)"),
            Errno::last(),
        ));
    }
    Ok(())
}

/// The queues of the IPC namespace process `pid` is in, read by a child that joins it
/// (`nsenter --target PID --ipc cat /proc/sysvipc/msg`).
pub fn queues_of(pid: i32) -> Result<Vec<Queue>> {
    let entry = Entry::of(pid, "ipc", CloneFlags::CLONE_NEWIPC);
    let out = run_captured(Duration::from_secs(5), move || {
        if let Err(e) = entry.enter() {
            emit(&format!("setns(CLONE_NEWIPC) failed: {e}"));
            return 1;
        }
        match std::fs::read_to_string("/proc/sysvipc/msg") {
            Ok(text) => {
                emit(text.trim_end());
                0
            }
            Err(e) => {
                emit(&format!("reading /proc/sysvipc/msg: {e}"));
                1
            }
        }
    })?;
    if out.exit != Exit::Code(0) {
        bail!(
            "reading the queues of {pid}'s IPC namespace: {}",
            out.output.trim()
        );
    }
    Ok(parse_msg(&out.output))
}

/// Makes a queue with `key` in the IPC namespace process `pid` is in, by a child that
/// joins it; refused when that is this process's own namespace (the host's): the tool
/// never makes IPC objects there. The queue lasts as long as the namespace.
pub fn make_queue_in(pid: i32, key: i32) -> Result<i32> {
    let mine = procfs::ns_inode(std::process::id() as i32, "ipc")?;
    if procfs::ns_inode(pid, "ipc")? == mine {
        bail!("process {pid} is in this process's own IPC namespace: no queue is made there");
    }
    let entry = Entry::of(pid, "ipc", CloneFlags::CLONE_NEWIPC);
    let out = run_captured(Duration::from_secs(5), move || {
        if let Err(e) = entry.enter() {
            emit(&format!("setns(CLONE_NEWIPC) failed: {e}"));
            return 1;
        }
        match make_queue(key) {
            Ok(id) => {
                emit(&id.to_string());
                0
            }
            Err(e) => {
                emit(&e.to_string());
                1
            }
        }
    })?;
    match (out.exit, out.output.trim().parse()) {
        (Exit::Code(0), Ok(id)) => Ok(id),
        _ => bail!(
            "making a queue in {pid}'s IPC namespace: {}",
            out.output.trim()
        ),
    }
}

/// An IPC namespace of this tool's own, held open by a waiting child, with one message
/// queue made in it: candidates run inside it, so the queues they see and make are never
/// the host's. It goes, queue and all, when the child does.
pub struct IpcSandbox {
    held: Supervised,
    /// The key of the queue made in it.
    pub key: i32,
}

impl IpcSandbox {
    pub fn start(key: i32) -> Result<IpcSandbox> {
        let mut held = Supervised::fork_wired(move |tx| {
            if let Err(e) = unshare(CloneFlags::CLONE_NEWIPC) {
                tx.send(&SysError::new("unshare(CLONE_NEWIPC)", e).into());
                return 1;
            }
            let id = match make_queue(key) {
                Ok(id) => id,
                Err(e) => {
                    tx.send(&e.into());
                    return 1;
                }
            };
            tx.send(&Msg::Ready);
            wait_for_stdin_eof();
            // The namespace would take it along; removed all the same, as made.
            let _ = remove_queue(id);
            0
        })?;
        if let Err(e) = held.wait_ready(Duration::from_secs(10)) {
            bail!("could not set up a sandbox IPC namespace: {e}");
        }
        Ok(IpcSandbox { held, key })
    }

    pub fn pid(&self) -> i32 {
        self.held.pid()
    }

    /// The inode of the sandbox's IPC namespace.
    pub fn inode(&self) -> Result<u64> {
        procfs::ns_inode(self.pid(), "ipc")
    }

    /// The queues in the sandbox's namespace now.
    pub fn queues(&self) -> Result<Vec<Queue>> {
        queues_of(self.pid())
    }

    /// How a forked child (or a pre_exec hook) joins the sandbox's IPC namespace.
    pub fn entry(&self) -> Entry {
        Entry::of(self.pid(), "ipc", CloneFlags::CLONE_NEWIPC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &str = "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n1818427400          0   600           0            0     0     0     0     0     0     0          0          0 1764718420\n         0      32769   600          12            1   100   0     0     0     0     0          0          0 1764718421\n";

    #[test]
    fn reads_the_queues_and_skips_the_header() {
        let q = parse_msg(MSG);
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].key, 0x6c63_0008);
        assert_eq!(hex(q[0].key), "0x6c630008");
        assert_eq!((q[1].key, q[1].msqid, q[1].qnum), (0, 32769, 1));
        assert!(parse_msg("").is_empty());
    }
}
