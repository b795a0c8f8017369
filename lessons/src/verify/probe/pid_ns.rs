//! A PID namespace seen from both sides: what CMD prints inside (`$$`, the numbers in
//! /proc) and what the host reads of it (the NSpid line, ns/pid inodes, the namespace's
//! members). Chapters 2 and 5 judge it the same way.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::tagged::find_cmd;
use crate::kernel::procfs;
use crate::verify::{Check, CheckId};

/// The titles these checks go by, in every chapter that has them.
pub mod title {
    pub const PID1: &str = "PID 1: CMD is PID 1 of its own PID namespace";
    pub const PROC: &str = "/proc: inside, it lists only the namespace's processes";
    pub const NSPID: &str = "kernel: from the host, CMD's NSpid has two levels, the inner one 1";
    pub const INODE: &str = "kernel: CMD's ns/pid inode differs from the verifier's";
}

/// Which of the calling chapter's checks each judgement goes to.
#[derive(Debug, Clone, Copy)]
pub struct Ids<C> {
    pub pid1: C,
    pub proc: C,
    pub nspid: C,
    pub inode: C,
}

/// What one CMD reported and what the host saw of it.
#[derive(Debug, Default)]
pub struct Seen {
    /// CMD's PID as seen from the host.
    pub host_pid: i32,
    /// `$$` inside.
    pub inner_pid: Option<i32>,
    /// The comm of /proc/1 inside.
    pub proc1: Option<String>,
    /// The numbered entries of /proc inside.
    pub listed: BTreeSet<i32>,
    pub nspid: Vec<i32>,
    pub nspid_line: String,
    pub pidns: u64,
    pub mntns: u64,
    /// The namespace's members, as (inner PID, host PID, comm).
    pub members: Vec<(i32, i32, String)>,
    pub root: Option<PathBuf>,
    pub lines: Vec<String>,
}

/// Finds CMD (the topmost bash carrying `token` in its arguments) and reads what the
/// kernel says about it and its namespace.
pub fn observe(token: &str, lines: &[String]) -> Option<Seen> {
    let host_pid = find_cmd(token)?;
    let nspid_line = procfs::status_line(host_pid, "NSpid").ok()?;
    let pidns = procfs::ns_inode(host_pid, "pid").ok()?;
    let mut members: Vec<(i32, i32, String)> = procfs::members("pid", pidns)
        .into_iter()
        .filter_map(|p| {
            let inner = *procfs::nspid(p).ok()?.last()?;
            Some((inner, p, procfs::comm(p).unwrap_or_default()))
        })
        .collect();
    members.sort();
    let value = |key: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(key).map(str::to_owned))
    };
    Some(Seen {
        host_pid,
        inner_pid: value("pid ").and_then(|v| v.parse().ok()),
        proc1: value("proc1 "),
        listed: lines
            .iter()
            .filter_map(|l| l.strip_prefix("proc ")?.parse().ok())
            .collect(),
        nspid: procfs::parse_nspid(&nspid_line).ok()?,
        nspid_line: nspid_line.replace('\t', " "),
        pidns,
        mntns: procfs::ns_inode(host_pid, "mnt").ok()?,
        members,
        root: procfs::root(host_pid).ok(),
        lines: lines.to_vec(),
    })
}

pub fn pid_link(inode: u64) -> String {
    format!("pid:[{inode}]")
}

/// Up to `max` pids, space-separated.
pub fn list(pids: &BTreeSet<i32>, max: usize) -> String {
    let mut s: Vec<String> = pids.iter().take(max).map(i32::to_string).collect();
    if pids.len() > max {
        s.push("…".into());
    }
    s.join(" ")
}

/// Judges what a PID namespace shows of CMD: `$$` is 1, /proc lists only the namespace,
/// NSpid has two levels ending in 1, and ns/pid differs from the verifier's (`my_pidns`).
/// `ids` names the four checks in the calling chapter's list.
pub fn judge<C: CheckId>(ids: Ids<C>, s: &Seen, my_pidns: u64) -> Vec<Check> {
    let new_ns = s.pidns != my_pidns;
    let mut checks = Vec::new();

    checks.push(match s.inner_pid {
        Some(1) => ids.pid1.pass( "echo $$ inside printed 1"),
        other => {
            let shown = other.map_or("nothing".to_owned(), |p| p.to_string());
            if !new_ns {
                ids.pid1.fail(
                    format!(
                        "echo $$ inside printed {shown}: CMD (host PID {}) is still in the host's PID namespace, {}",
                        s.host_pid,
                        pid_link(s.pidns)
                    ),
                )
                .expected("1")
                .hint(
                    "unshare(CLONE_NEWPID) does not move the calling process: only the children it \
                     creates afterwards are in the new namespace, and the first of them is its PID 1. \
                     fork() after unshare, exec CMD in the child, and have the parent wait for it \
                     (that is what `unshare --pid --fork` does). man 7 pid_namespaces.",
                )
            } else {
                ids.pid1.fail(
                    format!("echo $$ inside printed {shown}: CMD is in a new PID namespace, but not its first process"),
                )
                .expected("1")
                .hint("exec CMD in the first child forked after unshare(CLONE_NEWPID): that child is PID 1")
            }
        }
    });

    let inner: BTreeSet<i32> = s.members.iter().map(|m| m.0).collect();
    let proc1 = s.proc1.as_deref().unwrap_or("unreadable");
    checks.push(if !new_ns {
        ids.proc.fail(
            format!(
                "/proc inside lists {} processes, the host's: CMD never left the host's PID namespace, so every proc shows the host",
                s.listed.len()
            ),
        )
        .expected("only the processes of CMD's own namespace")
        .hint("put CMD in a new PID namespace first (see the first check)")
    } else if s.listed.is_empty() {
        ids.proc.fail( "/proc inside is empty: no proc is mounted there")
            .expected(format!("the namespace's processes: {}", list(&inner, 10)))
            .hint("mount a fresh proc at /proc from inside the new namespace: mount(\"proc\", \"/proc\", \"proc\", ...)")
    } else if s.listed.is_subset(&inner) {
        ids.proc.pass(
            format!("PIDs {}; /proc/1 is {proc1}", list(&s.listed, 10)),
        )
    } else {
        let foreign: BTreeSet<i32> = s.listed.difference(&inner).copied().collect();
        ids.proc.fail(
            format!(
                "/proc inside lists {} processes and its /proc/1 is {proc1}, but CMD's namespace {} holds only {} (PIDs {}): this /proc still shows the host's PID namespace ({} not in CMD's: {})",
                s.listed.len(),
                pid_link(s.pidns),
                inner.len(),
                list(&inner, 10),
                foreign.len(),
                list(&foreign, 8)
            ),
        )
        .expected("only the namespace's processes")
        .hint(
            "a proc filesystem shows the PID namespace of the process that mounted it, so the /proc \
             CMD inherited still lists the host's processes. In the child (PID 1), after \
             unshare(CLONE_NEWNS) and making / private, mount a fresh proc at /proc \
             (`unshare --pid --fork --mount-proc`).",
        )
    });

    checks.push(
        if s.nspid.len() == 2 && s.nspid.last() == Some(&1) {
            ids.nspid.pass( format!("/proc/{}/status: {}", s.host_pid, s.nspid_line))
        } else {
            let hint = if s.nspid.len() == 1 {
                "one level means CMD is in no namespace but the host's: fork after unshare(CLONE_NEWPID) and exec CMD in the child"
            } else if s.nspid.len() > 2 {
                "CMD is nested more than one namespace deep: unshare(CLONE_NEWPID) once, then fork once"
            } else {
                "CMD is in a new namespace but is not its first process: exec it in the first child"
            };
            ids.nspid.fail( format!("/proc/{}/status: {}", s.host_pid, s.nspid_line))
                .expected(format!("NSpid: {} 1  (its PID on the host, then 1 inside)", s.host_pid))
                .hint(hint)
        },
    );

    checks.push(if new_ns {
        ids.inode.pass(
            format!("CMD {} · verifier {}", pid_link(s.pidns), pid_link(my_pidns)),
        )
    } else {
        ids.inode.fail(
            format!(
                "/proc/{}/ns/pid is {}, the same as the verifier's",
                s.host_pid,
                pid_link(s.pidns)
            ),
        )
        .expected("a PID namespace of its own")
        .hint("unshare(CLONE_NEWPID) and then fork: the child, not the caller, is in the new namespace")
    });

    checks
}
