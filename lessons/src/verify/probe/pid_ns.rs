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

#[cfg(test)]
mod tests {
    //! The judge, fed made-up observations of CMD: no namespace is made, no /proc read.

    use super::*;
    use crate::verify::Status;

    crate::checks! {
        enum T {
            Pid1 => title::PID1,
            Proc => title::PROC,
            NsPid => title::NSPID,
            Inode => title::INODE,
        }
    }

    const IDS: Ids<T> = Ids {
        pid1: T::Pid1,
        proc: T::Proc,
        nspid: T::NsPid,
        inode: T::Inode,
    };
    /// The verifier's own PID namespace.
    const MINE: u64 = 4026531836;
    /// CMD's, when it has one.
    const NEW: u64 = 4026532901;

    fn saw(c: &Check) -> &str {
        c.saw.as_deref().unwrap_or("")
    }

    fn hint(c: &Check) -> &str {
        c.hint.as_deref().unwrap_or("")
    }

    fn statuses(checks: &[Check]) -> Vec<Status> {
        checks.iter().map(|c| c.status).collect()
    }

    /// What a correct program shows: CMD (host PID 4242) is PID 1 of a namespace of its
    /// own, with the sleeper as PID 2, and /proc lists just those.
    fn correct() -> Seen {
        Seen {
            host_pid: 4242,
            inner_pid: Some(1),
            proc1: Some("bash".into()),
            listed: [1, 2].into(),
            nspid: vec![4242, 1],
            nspid_line: "NSpid: 4242 1".into(),
            pidns: NEW,
            mntns: 4026532900,
            members: vec![(1, 4242, "bash".into()), (2, 4243, "sleep".into())],
            root: Some("/".into()),
            lines: Vec::new(),
        }
    }

    /// The host's processes, as a /proc of the host's PID namespace lists them.
    fn host_pids() -> BTreeSet<i32> {
        [1, 2, 310, 977, 4200, 4242, 4243].into()
    }

    #[test]
    fn a_correct_namespace_passes_all_four() {
        let checks = judge(IDS, &correct(), MINE);
        let titles: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            titles,
            vec![title::PID1, title::PROC, title::NSPID, title::INODE]
        );
        assert_eq!(statuses(&checks), vec![Status::Pass; 4], "{checks:#?}");
        assert_eq!(saw(&checks[0]), "echo $$ inside printed 1");
        assert_eq!(saw(&checks[1]), "PIDs 1 2; /proc/1 is bash");
        assert_eq!(saw(&checks[2]), "/proc/4242/status: NSpid: 4242 1");
        assert_eq!(
            saw(&checks[3]),
            "CMD pid:[4026532901] · verifier pid:[4026531836]"
        );
    }

    #[test]
    fn unshare_without_fork_is_named() {
        // ch02_no_fork: CMD is the process that called unshare, still in the host's
        // namespace, and every proc it can see shows the host.
        let s = Seen {
            inner_pid: Some(4242),
            proc1: Some("systemd".into()),
            listed: host_pids(),
            nspid: vec![4242],
            nspid_line: "NSpid: 4242".into(),
            pidns: MINE,
            members: host_pids()
                .into_iter()
                .map(|p| (p, p, "x".to_owned()))
                .collect(),
            ..correct()
        };
        let checks = judge(IDS, &s, MINE);
        assert_eq!(statuses(&checks), vec![Status::Fail; 4], "{checks:#?}");

        let pid1 = &checks[0];
        assert_eq!(
            saw(pid1),
            "echo $$ inside printed 4242: CMD (host PID 4242) is still in the host's PID namespace, pid:[4026531836]"
        );
        assert_eq!(pid1.expected.as_deref(), Some("1"));
        assert!(hint(pid1).contains("fork() after unshare"), "{pid1:#?}");

        let proc = &checks[1];
        assert_eq!(
            saw(proc),
            "/proc inside lists 7 processes, the host's: CMD never left the host's PID namespace, so every proc shows the host"
        );
        assert!(hint(proc).contains("see the first check"), "{proc:#?}");

        let nspid = &checks[2];
        assert_eq!(saw(nspid), "/proc/4242/status: NSpid: 4242");
        assert_eq!(
            nspid.expected.as_deref(),
            Some("NSpid: 4242 1  (its PID on the host, then 1 inside)")
        );
        assert!(hint(nspid).starts_with("one level"), "{nspid:#?}");

        let inode = &checks[3];
        assert_eq!(
            saw(inode),
            "/proc/4242/ns/pid is pid:[4026531836], the same as the verifier's"
        );
        assert!(
            hint(inode).contains("the child, not the caller"),
            "{inode:#?}"
        );
    }

    #[test]
    fn the_hosts_proc_left_in_place_is_named() {
        // ch02_no_proc_remount: a new namespace, but /proc still lists the host.
        let s = Seen {
            proc1: Some("systemd".into()),
            listed: host_pids(),
            ..correct()
        };
        let checks = judge(IDS, &s, MINE);
        assert_eq!(
            statuses(&checks),
            vec![Status::Pass, Status::Fail, Status::Pass, Status::Pass],
            "{checks:#?}"
        );
        let proc = &checks[1];
        assert_eq!(
            saw(proc),
            "/proc inside lists 7 processes and its /proc/1 is systemd, but CMD's namespace pid:[4026532901] holds only 2 (PIDs 1 2): this /proc still shows the host's PID namespace (5 not in CMD's: 310 977 4200 4242 4243)"
        );
        assert_eq!(
            proc.expected.as_deref(),
            Some("only the namespace's processes")
        );
        assert!(
            hint(proc).contains("mount a fresh proc at /proc"),
            "{proc:#?}"
        );
    }

    #[test]
    fn an_empty_proc_is_named() {
        // Not provoked by a fixture on its own (ch02_no_proc_remount shows it only in
        // --rootfs, which chapter 2 judges itself): nothing mounted at /proc.
        let s = Seen {
            proc1: None,
            listed: BTreeSet::new(),
            ..correct()
        };
        let checks = judge(IDS, &s, MINE);
        let proc = &checks[1];
        assert_eq!(proc.status, Status::Fail);
        assert_eq!(saw(proc), "/proc inside is empty: no proc is mounted there");
        assert_eq!(
            proc.expected.as_deref(),
            Some("the namespace's processes: 1 2")
        );
        assert!(hint(proc).starts_with("mount a fresh proc at /proc from inside"));
    }

    #[test]
    fn a_cmd_that_is_not_the_first_process_is_named() {
        // Not provoked by a fixture: a new namespace, but CMD is its PID 2.
        let s = Seen {
            inner_pid: Some(2),
            nspid: vec![4242, 2],
            nspid_line: "NSpid: 4242 2".into(),
            members: vec![(1, 4241, "prog".into()), (2, 4242, "bash".into())],
            ..correct()
        };
        let checks = judge(IDS, &s, MINE);
        assert_eq!(
            statuses(&checks),
            vec![Status::Fail, Status::Pass, Status::Fail, Status::Pass],
            "{checks:#?}"
        );
        assert_eq!(
            saw(&checks[0]),
            "echo $$ inside printed 2: CMD is in a new PID namespace, but not its first process"
        );
        assert!(hint(&checks[0]).starts_with("exec CMD in the first child forked after unshare"));
        assert_eq!(
            hint(&checks[2]),
            "CMD is in a new namespace but is not its first process: exec it in the first child"
        );
    }

    #[test]
    fn a_cmd_that_printed_nothing_is_named() {
        let s = Seen {
            inner_pid: None,
            ..correct()
        };
        let c = &judge(IDS, &s, MINE)[0];
        assert_eq!(c.status, Status::Fail);
        assert!(
            saw(c).starts_with("echo $$ inside printed nothing:"),
            "{c:#?}"
        );
    }

    #[test]
    fn a_cmd_nested_two_namespaces_deep_is_named() {
        // Not provoked by a fixture: unshare(CLONE_NEWPID) twice.
        let s = Seen {
            nspid: vec![4242, 7, 1],
            nspid_line: "NSpid: 4242 7 1".into(),
            ..correct()
        };
        let c = &judge(IDS, &s, MINE)[2];
        assert_eq!(c.status, Status::Fail);
        assert_eq!(saw(c), "/proc/4242/status: NSpid: 4242 7 1");
        assert!(
            hint(c).contains("nested more than one namespace deep"),
            "{c:#?}"
        );
    }

    #[test]
    fn long_lists_are_cut() {
        let many: BTreeSet<i32> = (1..=12).collect();
        assert_eq!(list(&many, 10), "1 2 3 4 5 6 7 8 9 10 …");
        assert_eq!(list(&[3, 1].into(), 10), "1 3");
        assert_eq!(pid_link(7), "pid:[7]");
    }
}
