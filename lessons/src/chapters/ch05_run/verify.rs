//! Verifying ch05_run: every check of chapters 2 to 4 on the assembled container, plus
//! what only the composition can get wrong. The verifier prepares a cgroup CG under
//! learn-containers/ and a rootfs of bash, and runs the program with a script as CMD that
//! forks a CPU burner at once, prints what it sees, and waits. From outside it reads:
//! CMD's NSpid, namespaces and /proc (chapter 2's checks, called from there), the mounts
//! the program's sandbox gained (chapter 2's mount check), the burner's cgroup and CPU
//! share (chapter 4's measure), the hostname inside and in the namespace it was started
//! in, and what entering CMD's mount namespace finds.
//!
//! Candidates run in a mount namespace and a UTS namespace of the verifier's own, so a
//! leaking mount or a hostname set before unshare(CLONE_NEWUTS) hits those, never the
//! host, and shows in them.

use std::path::{Path, PathBuf};

use super::observe::{CPUS, NotStarted, Run, STATUS, inside, run};
use crate::error::Result;

use crate::kernel::cgroup::{Cgroup, CgroupFs, Version, host_cpus};
use crate::kernel::child::Exit;
use crate::kernel::mountinfo::{self, Mount};
use crate::kernel::procfs;
use crate::verify::probe::cpu_share::{Measure, TOLERANCE, load_average};
use crate::verify::probe::mount_ns::host_mounts;
use crate::verify::probe::mounts::{self};
use crate::verify::probe::pid_ns::{self};
use crate::verify::{Check, CheckId, Context, all_failed, in_order};

crate::checks! {
    /// The checks of chapter 5, in report order.
    pub enum Ch05 {
        Pid1 => pid_ns::title::PID1,
        Proc => pid_ns::title::PROC,
        NsPid => pid_ns::title::NSPID,
        Inode => pid_ns::title::INODE,
        Mounts => mounts::NOTHING_OUTSIDE,
        OldRoot => "old root: entering CMD's mount namespace finds none of the host's mounts",
        HostnameInside => "hostname: inside, CMD is called NAME, in a UTS namespace of its own",
        HostnameOutside => "hostname: outside, the namespace the program was started in keeps its name",
        Cgroup => "cgroup: CMD and what it forks at once are in a new cgroup under CG",
        Share => "--cpus 0.5: the burner's CPU time / wall time is 0.5 ± 0.1",
        Exit => "exit: the program exits with CMD's exit status",
        Residue => "cgroup: nothing is left in CG afterwards",
    }
}

/// Where chapter 5's checks of the PID namespace go.
const IDS: pid_ns::Ids<Ch05> = pid_ns::Ids {
    pid1: Ch05::Pid1,
    proc: Ch05::Proc,
    nspid: Ch05::NsPid,
    inode: Ch05::Inode,
};

pub fn verify(cx: &Context) -> Result<Vec<Check>> {
    let fs = CgroupFs::detect()?;
    fs.require("cpu")?;
    let parent = fs.create_owned("cpu", "ch05-verify")?;
    parent.enable_for_children("cpu")?;
    let checks = match run(cx, &fs, &parent, Measure::Share)? {
        Ok(run) => judge(cx, &run, &parent),
        Err(NotStarted { ready, described }) => {
            all_failed::<Ch05>(not_started(cx.source(), ready, &described))
        }
    };
    // Kills whatever the program left in CG, removes its cgroups, then CG.
    parent.remove()?;
    Ok(checks)
}

/// The cgroup check alone, from a run without the share measured: whether CMD and what it
/// forks at once are born in the program's cgroup. For repeating the race many times
/// (tests/races.rs); `verify` judges the same run, and everything else.
pub fn verify_race(cx: &Context) -> Result<Check> {
    let fs = CgroupFs::detect()?;
    fs.require("cpu")?;
    let parent = fs.create_owned("cpu", "ch05-verify")?;
    parent.enable_for_children("cpu")?;
    let check = match run(cx, &fs, &parent, Measure::Skip)? {
        Ok(run) => judge_cgroup(&run, &parent.path),
        Err(NotStarted { ready, described }) => not_started(cx.source(), ready, &described),
    };
    parent.remove()?;
    Ok(check)
}

/// The first check, failed: CMD was never seen (`ready`: the program printed READY;
/// `described`: how it ended).
fn not_started(source: &str, ready: bool, described: &str) -> Check {
    let why = if ready {
        "printed READY, but no bash running CMD could be found from the host"
    } else {
        described
    };
    Ch05::Pid1
        .fail(format!(
            "`{source} --rootfs DIR ... -- bash -c SCRIPT` {why}"
        ))
        .expected("CMD starts in the container, prints what it sees and waits for stdin to close")
        .hint(format!("fix what the message names in {source}"))
}

fn judge(cx: &Context, r: &Run, parent: &Cgroup) -> Vec<Check> {
    let my_pidns = procfs::ns_inode(std::process::id() as i32, "pid").unwrap_or(0);
    let described = cx.describe(&r.done);
    let host_after = mountinfo::read(None).unwrap_or_default();
    judge_all(
        r,
        my_pidns,
        &described,
        &host_after,
        &parent.path,
        parent.version,
    )
}

/// Every check, from what the run showed, the verifier's own PID namespace, how the
/// program ended (`described`), the host's mounts after the run, and CG.
fn judge_all(
    r: &Run,
    my_pidns: u64,
    described: &str,
    host_after: &[Mount],
    dir: &Path,
    version: Version,
) -> Vec<Check> {
    let mut checks = pid_ns::judge(IDS, &r.seen, my_pidns);
    checks.push(judge_exit(r, described));
    checks.push(mounts::judge_nothing_outside(
        Ch05::Mounts,
        &[("alone", &r.outer, r.seen.mntns)],
        &r.host,
        host_after,
    ));
    checks.push(judge_old_root(r));
    checks.extend(judge_hostname(r));
    checks.push(judge_cgroup(r, dir));
    checks.push(judge_share(r, version));
    checks.push(if r.outer.lost.is_empty() {
        judge_residue(r, dir)
    } else {
        // The program's own rmdir had lost /sys/fs/cgroup with the rest: the cause is above.
        Ch05::Residue.not_judged("mounts vanished from the namespace the program was started in")
    });
    in_order::<Ch05>(&mut checks);
    checks
}

/// The program passes CMD's exit status on (`described`: how it ended).
fn judge_exit(r: &Run, described: &str) -> Check {
    if r.done.exit == Exit::Code(STATUS) {
        return Ch05::Exit.pass(format!("CMD exited {STATUS}, so did the program"));
    }
    let fail = Ch05::Exit
        .fail(format!("CMD exited {STATUS}; the program {described}"))
        .expected(format!("exit status {STATUS}"));
    if shares_cmds_mounts(r) && r.done.exit != Exit::TimedOut {
        // The usual cause: what the parent does after waitpid goes through a root that
        // CMD's pivot_root has moved.
        let said = r.done.stderr.lines().last().unwrap_or("").trim();
        return fail.hint(format!(
            "your program (the parent) was in CMD's mount namespace (/proc/PID/ns/mnt is the \
             same): it made the namespaces itself, before fork, so CMD's pivot_root moved its root \
             too, and the paths it uses after waitpid lead into the container{}. Make the mount \
             and UTS namespaces in the child, after fork; the parent stays on the host",
            if said.is_empty() {
                String::new()
            } else {
                format!(" (it said `{said}`)")
            }
        ));
    }
    fail.hint(
        "the parent waits for the child (waitpid) and exits with its status: exit(code), or \
         128+N when signal N killed it",
    )
}

/// Was the program itself in CMD's mount namespace?
fn shares_cmds_mounts(r: &Run) -> bool {
    r.program_mnt != 0 && r.program_mnt == r.seen.mntns
}

fn rel(dir: &Path, parent: &Path) -> String {
    match dir.strip_prefix(parent) {
        Ok(r) if r.as_os_str().is_empty() => "CG itself".into(),
        Ok(r) => format!("CG/{}", r.display()),
        Err(_) => dir.display().to_string(),
    }
}

fn judge_old_root(r: &Run) -> Check {
    let name = Ch05::OldRoot;
    let pid = r.seen.host_pid;
    let view = match &r.view {
        Ok(v) => v,
        Err(e) => {
            return name
                .fail(format!("could not enter CMD's mount namespace: {e}"))
                .expected("a mount namespace holding the rootfs, /proc and /tmp")
                .hint("CMD must still be running when it prints READY");
        }
    };
    let kept = host_mounts(view, &r.host);
    let reached = view.present.contains(&r.marker);
    if kept.is_empty() && !reached {
        let lines: Vec<String> = view
            .mounts
            .iter()
            .map(|m| format!("{} {}", m.mount_point.display(), m.fstype))
            .collect();
        return name.pass(format!(
            "`nsenter --mount=/proc/{pid}/ns/mnt` finds {} mounts ({}) and cannot reach {}",
            view.mounts.len(),
            lines.join(", "),
            r.marker.display()
        ));
    }
    let root_is_host = kept.iter().any(|m| m.mount_point == Path::new("/"));
    let sample: Vec<String> = kept
        .iter()
        .take(3)
        .map(|m| format!("`{}`", m.line()))
        .collect();
    let reach = if reached {
        format!(
            ", and {} (a file outside DIR) is right there",
            r.marker.display()
        )
    } else {
        String::new()
    };
    if root_is_host {
        name.fail(
            format!(
                "`nsenter --mount=/proc/{pid}/ns/mnt` lands at the host's /: CMD's namespace still holds {} of the host's mounts ({}){reach}. /proc/{pid}/mountinfo hides them only because CMD's root was chrooted",
                kept.len(),
                sample.join(", ")
            ),
        )
        .expected("only the rootfs, /proc and /tmp: the old root detached")
        .hint(
            "chroot(2) changes one process's root and nothing else: the host's whole mount tree stays \
             in the namespace, one chroot escape away (chapter 1, step 5). Bind-mount DIR on itself, \
             chdir into it, pivot_root(\".\", \".\") and umount2(\".\", MNT_DETACH): then the old root \
             is gone from the namespace. man 2 pivot_root",
        )
    } else if kept.is_empty() {
        name.fail(format!(
            "CMD's mount namespace holds none of the host's mounts, yet {} (a file outside DIR) is reachable from it",
            r.marker.display()
        ))
        .expected("nothing outside DIR reachable from CMD's mount namespace")
        .hint(
            "something outside DIR was mounted into the container (a bind mount of a parent of DIR?): \
             bind-mount DIR itself on itself, and nothing else from the host",
        )
    } else {
        let at: Vec<String> = kept
            .iter()
            .take(3)
            .map(|m| m.mount_point.display().to_string())
            .collect();
        name.fail(
            format!(
                "CMD's root is the rootfs, but its mount namespace still holds {} of the host's mounts, at {}{reach}",
                kept.len(),
                at.join(", ")
            ),
        )
        .expected("only the rootfs, /proc and /tmp: the old root detached")
        .hint(
            "pivot_root(2) moves the old root to PUT_OLD but leaves it mounted there: unmount it with \
             umount2(PUT_OLD, MNT_DETACH) (with pivot_root(\".\", \".\"), umount2(\".\", MNT_DETACH))",
        )
    }
}

fn uts(inode: u64) -> String {
    format!("uts:[{inode}]")
}

fn judge_hostname(r: &Run) -> [Check; 2] {
    let pid = r.seen.host_pid;
    let inside = match &r.inside_name {
        Some(h) if *h == r.name && r.cmd_uts != r.start_uts => Ch05::HostnameInside.pass(
            format!(
                "/proc/sys/kernel/hostname inside: {h}; /proc/{pid}/ns/uts → {}, started in {}",
                uts(r.cmd_uts),
                uts(r.start_uts)
            ),
        ),
        Some(h) if *h == r.name => Ch05::HostnameInside.fail(
            format!(
                "CMD is called {h}, but /proc/{pid}/ns/uts → {}, the UTS namespace the program was started in: the name was given to everyone in it",
                uts(r.cmd_uts)
            ),
        )
        .expected("NAME, in a UTS namespace of CMD's own")
        .hint("add CLONE_NEWUTS to the unshare flags: sethostname then renames only the new namespace"),
        other => Ch05::HostnameInside.fail(
            format!(
                "/proc/sys/kernel/hostname inside says {}",
                other.as_deref().unwrap_or("nothing")
            ),
        )
        .expected(r.name.clone())
        .hint("call sethostname(NAME) in the child, after unshare(CLONE_NEWUTS) and before exec"),
    };
    let outside = if r.outside_after == r.outside_before {
        Ch05::HostnameOutside.pass(format!(
            "the namespace the program was started in ({}) is still called {}",
            uts(r.start_uts),
            r.outside_before
        ))
    } else {
        let hint = if r.cmd_uts != r.start_uts {
            "sethostname ran before unshare(CLONE_NEWUTS): at that moment the program was still in the \
             host's UTS namespace, and the new one only copied the new name. Set the hostname after \
             unshare, in the child"
        } else {
            "sethostname ran without a UTS namespace of its own: unshare(CLONE_NEWUTS) first"
        };
        Ch05::HostnameOutside.fail(
            format!(
                "the namespace the program was started in ({}) was renamed from {} to {}. On a real host that is your machine's name; the verifier ran the program in a UTS namespace of its own, so yours is unchanged",
                uts(r.start_uts),
                r.outside_before,
                r.outside_after
            ),
        )
        .expected(format!("{} unchanged", r.outside_before))
        .hint(hint)
    };
    [inside, outside]
}

fn judge_cgroup(r: &Run, dir: &Path) -> Check {
    let name = Ch05::Cgroup;
    let pid = r.seen.host_pid;
    let shown = |d: &Option<PathBuf>| d.as_ref().map_or("unreadable".into(), |d| rel(d, dir));
    let cmd_in = r.cmd_cgroup.as_ref().is_some_and(|d| inside(d, dir));
    let burner_in = r.burner_cgroup.as_ref().is_some_and(|d| inside(d, dir));
    let Some((inner, host)) = r.burner else {
        return name
            .fail("the burner CMD forks could not be found")
            .expected("CMD and its burner in a child cgroup of CG")
            .hint("CMD must keep running until its stdin closes");
    };
    // Where CMD's first child was born, as the tracer read it before the child ran: a
    // parent that moves CMD after fork has, under the verifier's schedule, always moved
    // it too late for this child.
    if let Some((child, born)) = &r.first_child
        && cmd_in
        && !born.as_ref().is_some_and(|b| inside(b, dir))
    {
        return name
            .fail(format!(
                "CMD's first child (host PID {child}) was born in {}, outside the cgroup CMD (host PID {pid}) is in now, {}: the join happened in the parent after CMD had started",
                shown(born),
                shown(&r.cmd_cgroup)
            ))
            .expected("everything CMD forks born in its cgroup under CG")
            .hint(
                "a process is born in its parent's cgroup, and moving a process does not move its \
                 children. Join the cgroup in the child, before exec: write \"0\" to the cgroup's \
                 cgroup.procs there (or have the child wait on a pipe until the parent has written \
                 its pid). The verifier holds the parent after fork until CMD has forked, so a late \
                 join shows every time; on your machine it would lose the race some of the time",
            );
    }
    match (cmd_in, burner_in) {
        (true, true) if r.cmd_cgroup != r.burner_cgroup => name
            .fail(format!(
                "CMD (host PID {pid}) is in {}, and the burner it forked in {}: two cgroups, one of them not capped as asked",
                shown(&r.cmd_cgroup),
                shown(&r.burner_cgroup)
            ))
            .expected("CMD and its burner in the same child cgroup of CG")
            .hint(
                "make one cgroup, CG/ch05-<pid>, and put CMD there before exec: everything it forks \
                 is born in it",
            ),
        (true, true) => name.pass(
            format!(
                "CMD (host PID {pid}) and the burner it forked (PID {inner} inside, {host} on the host) are both in {}",
                shown(&r.burner_cgroup)
            ),
        ),
        (true, false) => name.fail(
            format!(
                "CMD (host PID {pid}) is in {}, but the burner it forked first thing (host PID {host}) is in {}: CMD was moved into the cgroup after it had already forked",
                shown(&r.cmd_cgroup),
                shown(&r.burner_cgroup)
            ),
        )
        .expected("the burner in CMD's cgroup, capped with it")
        .hint(
            "a process stays in the cgroup it was forked in, and moving a process does not move its \
             children. Join the cgroup before exec: the child writes \"0\" to cgroup.procs (or the \
             parent writes the child's pid and only then lets it exec, through a pipe)",
        ),
        (false, _) => name.fail(
            format!(
                "CMD (host PID {pid}) is in {}, and its burner in {}",
                shown(&r.cmd_cgroup),
                shown(&r.burner_cgroup)
            ),
        )
        .expected(format!("both in a child cgroup of CG ({})", dir.display()))
        .hint(
            "create CG/ch05-<pid> with the limit (chapter 4), and have the child write \"0\" to its \
             cgroup.procs before exec; CG itself belongs to the verifier",
        ),
    }
}

fn judge_share(r: &Run, version: Version) -> Check {
    let name = Ch05::Share;
    let expected = format!("{CPUS:.2} ± {TOLERANCE} of one CPU");
    let share = match &r.share {
        Ok(s) => *s,
        Err(e) => {
            return name
                .fail(format!("the burner's CPU clock could not be read: {e}"))
                .expected(expected)
                .hint("CMD must keep running until its stdin closes");
        }
    };
    let host = r.burner.map_or(0, |b| b.1);
    let v = share.value();
    let seen = format!(
        "{v:.2} of one CPU: the burner (host PID {host}) used {:.2} s of CPU time in {:.2} s",
        share.cpu.as_secs_f64(),
        share.wall.as_secs_f64()
    );
    if (v - CPUS).abs() <= TOLERANCE {
        return name.pass(seen);
    }
    let burner_in = r
        .burner_cgroup
        .as_ref()
        .zip(r.cmd_cgroup.as_ref())
        .is_some_and(|(b, c)| b == c);
    let limit_ok = r
        .limit
        .and_then(|l| l.cpus())
        .is_some_and(|c| (c - CPUS).abs() <= 0.01 * CPUS);
    // A first child born outside the cgroup is the cgroup check's failure; the share
    // only follows from it.
    let born_in = r
        .first_child
        .as_ref()
        .is_none_or(|(_, born)| born == &r.cmd_cgroup);
    if v > CPUS && !(burner_in && born_in) {
        return name.not_judged(&format!(
            "the burner ran outside the capped cgroup ({v:.2} of one CPU)"
        ));
    }
    let hint = if v > CPUS {
        let files = match version {
            Version::V2 => "cpu.max (\"50000 100000\")",
            Version::V1 => "cpu.cfs_period_us (100000) and cpu.cfs_quota_us (50000)",
        };
        format!("the burner was not held back: write the limit to {files} before CMD starts")
    } else if limit_ok {
        format!(
            "the limit is right, and the burner still got less than its quota: other processes took \
             the CPU (load average {} on {} CPUs). Run `learn-containers verify 5` again when the \
             machine is quieter",
            load_average(),
            host_cpus()
        )
    } else {
        "the burner got less CPU than asked for: the quota is too small (0.5 CPUs is 50000 µs of every 100000 µs)".to_owned()
    };
    name.fail(seen).expected(expected).hint(hint)
}

fn judge_residue(r: &Run, dir: &Path) -> Check {
    let name = Ch05::Residue;
    if r.left.is_empty() {
        return name.pass("CG has no child cgroup left");
    }
    let left: Vec<String> = r.left.iter().map(|p| rel(p, dir)).collect();
    if shares_cmds_mounts(r) && r.done.exit != Exit::Code(STATUS) {
        return name.not_judged(&format!(
            "{} is left because the program could not reach it from CMD's mount namespace",
            left.join(", ")
        ));
    }
    name.fail(format!(
        "{} still there after the program exited",
        left.join(", ")
    ))
    .expected("CG without subdirectories, as before the run")
    .hint(
        "rmdir the cgroup (std::fs::remove_dir) in the parent, after waitpid: by then PID 1 and \
         everything it started are gone. If rmdir said ENOENT (No such file or directory), the \
         parent shared the child's mount namespace: pivot_root moves the root of every process \
         of the namespace that had the old one, so the parent lost /sys/fs/cgroup too. Make the \
         mount namespace in the child (unshare(CLONE_NEWNS) after fork)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::cgroup::CpuLimit;
    use crate::verify::Status;
    use crate::verify::probe::cpu_share::Share;
    use crate::verify::probe::mount_ns::NsView;
    use crate::verify::probe::mounts::Outer;
    use crate::verify::probe::pid_ns::Seen;
    use crate::verify::run::{Finished, describe};
    use std::path::PathBuf;
    use std::time::Duration;

    #[test]
    fn names_are_unique() {
        let mut n: Vec<&str> = Ch05::ALL.iter().map(|c| c.title()).collect();
        n.sort();
        n.dedup();
        assert_eq!(n.len(), Ch05::ALL.len());
    }

    // ---- the judges, fed a made-up run: mount tables as text, cgroups as plain paths
    // (nothing under /sys is touched), namespaces as inode numbers ----

    const SOURCE: &str = "exercises/src/bin/ch05_run.rs";
    const CG: &str = "/sys/fs/cgroup/learn-containers/ch05-verify-123";
    const MINE: u64 = 4026531836;
    const NAME: &str = "ch05-abc123";
    /// The name of the UTS namespace the program is started in.
    const OUTSIDE: &str = "learn-containers-uts";
    const START_UTS: u64 = 4026532940;
    const CMD_UTS: u64 = 4026532950;
    const MARKER: &str = "/tmp/learn-containers-AbC123/host-only-AbC123";
    const HOST: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
30 22 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw
";
    /// CMD's mount namespace after pivot_root: the rootfs (a directory of the host's
    /// disk, not its /), a fresh /proc and /tmp.
    const PIVOTED: &str = "\
700 699 8:1 /tmp/learn-containers-AbC123/rootfs / rw,relatime - ext4 /dev/sda1 rw
701 700 0:90 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
702 700 0:91 / /tmp rw,nosuid,relatime - tmpfs tmpfs rw
";

    fn cg() -> PathBuf {
        PathBuf::from(CG)
    }

    fn own() -> PathBuf {
        cg().join("ch05-777")
    }

    fn mounts(text: &str) -> Vec<Mount> {
        mountinfo::parse(text).unwrap()
    }

    fn ended(code: i32) -> Finished {
        Finished {
            exit: Exit::Code(code),
            stdout: Vec::new(),
            stderr: String::new(),
            took: Duration::from_secs(3),
        }
    }

    fn saw(c: &Check) -> &str {
        c.saw.as_deref().unwrap_or("")
    }

    fn hint(c: &Check) -> &str {
        c.hint.as_deref().unwrap_or("")
    }

    /// What a correct program shows: CMD (host PID 4242) is PID 1 of its namespace, its
    /// burner (PID 2, host 4243) with it in CG/ch05-777 at half a CPU, the old root gone,
    /// the hostname set inside only, and nothing left afterwards.
    fn correct() -> Run {
        Run {
            first_child: Some((4243, Some(own()))),
            name: NAME.into(),
            seen: Seen {
                host_pid: 4242,
                inner_pid: Some(1),
                proc1: Some("bash".into()),
                listed: [1, 2].into(),
                nspid: vec![4242, 1],
                nspid_line: "NSpid: 4242 1".into(),
                pidns: 4026532901,
                mntns: 4026532902,
                members: vec![(1, 4242, "bash".into()), (2, 4243, "bash".into())],
                root: Some("/".into()),
                lines: ["burner 2", "pid 1", "hostname ch05-abc123", "READY"]
                    .map(String::from)
                    .to_vec(),
            },
            done: ended(STATUS),
            outer: Outer {
                sandbox_mnt: 4026532700,
                root_line: "410 409 8:1 / / rw,relatime shared:201 - ext4 /dev/sda1 rw".into(),
                ..Default::default()
            },
            burner: Some((2, 4243)),
            cmd_cgroup: Some(own()),
            burner_cgroup: Some(own()),
            share: Ok(Share {
                cpu: Duration::from_millis(800),
                wall: Duration::from_millis(1600),
            }),
            limit: Some(CpuLimit::from_cpus(CPUS).unwrap()),
            cmd_uts: CMD_UTS,
            program_mnt: 4026532700,
            start_uts: START_UTS,
            inside_name: Some(NAME.into()),
            outside_before: OUTSIDE.into(),
            outside_after: OUTSIDE.into(),
            view: Ok(NsView {
                mounts: mounts(PIVOTED),
                present: Vec::new(),
            }),
            marker: PathBuf::from(MARKER),
            host: mounts(HOST),
            left: Vec::new(),
        }
    }

    fn judged(r: &Run) -> Vec<Check> {
        judge_all(
            r,
            MINE,
            &describe(&r.done, None),
            &mounts(HOST),
            &cg(),
            Version::V2,
        )
    }

    fn find(checks: &[Check], id: Ch05) -> &Check {
        checks.iter().find(|c| c.name == id.title()).unwrap()
    }

    fn failing(checks: &[Check]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| !c.passed())
            .map(|c| c.name.as_str())
            .collect()
    }

    #[test]
    fn a_join_after_fork_in_the_parent_is_named() {
        // ch05_parent_joins_after_fork: CMD and its burner end up in CG/ch05-777, but the
        // tracer saw the burner born in the cgroup the program was started in.
        let started_in = PathBuf::from("/sys/fs/cgroup/learn-containers/verify-55");
        let r = Run {
            first_child: Some((4243, Some(started_in))),
            ..correct()
        };
        let checks = judged(&r);
        assert_eq!(failing(&checks), vec![Ch05::Cgroup.title()], "{checks:#?}");
        let c = find(&checks, Ch05::Cgroup);
        assert_eq!(
            saw(c),
            "CMD's first child (host PID 4243) was born in /sys/fs/cgroup/learn-containers/verify-55, outside the cgroup CMD (host PID 4242) is in now, CG/ch05-777: the join happened in the parent after CMD had started"
        );
        assert!(hint(c).contains("before exec"), "{c:#?}");
    }

    #[test]
    fn a_correct_container_passes_every_check_in_order() {
        let checks = judged(&correct());
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        let titles: Vec<&str> = Ch05::ALL.iter().map(|c| c.title()).collect();
        assert_eq!(names, titles);
        assert!(failing(&checks).is_empty(), "{checks:#?}");
        assert_eq!(
            saw(find(&checks, Ch05::OldRoot)),
            format!(
                "`nsenter --mount=/proc/4242/ns/mnt` finds 3 mounts (/ ext4, /proc proc, /tmp tmpfs) and cannot reach {MARKER}"
            )
        );
        assert_eq!(
            saw(find(&checks, Ch05::HostnameInside)),
            "/proc/sys/kernel/hostname inside: ch05-abc123; /proc/4242/ns/uts → uts:[4026532950], started in uts:[4026532940]"
        );
        assert_eq!(
            saw(find(&checks, Ch05::HostnameOutside)),
            "the namespace the program was started in (uts:[4026532940]) is still called learn-containers-uts"
        );
        assert_eq!(
            saw(find(&checks, Ch05::Cgroup)),
            "CMD (host PID 4242) and the burner it forked (PID 2 inside, 4243 on the host) are both in CG/ch05-777"
        );
        assert_eq!(
            saw(find(&checks, Ch05::Share)),
            "0.50 of one CPU: the burner (host PID 4243) used 0.80 s of CPU time in 1.60 s"
        );
        assert_eq!(
            saw(find(&checks, Ch05::Exit)),
            "CMD exited 7, so did the program"
        );
        assert_eq!(
            saw(find(&checks, Ch05::Residue)),
            "CG has no child cgroup left"
        );
    }

    #[test]
    fn chroot_instead_of_pivot_root_is_named() {
        // ch05_chroot: CMD's namespace still holds the host's whole tree, marker included.
        let view = NsView {
            mounts: mounts(
                "\
600 599 8:1 / / rw,relatime - ext4 /dev/sda1 rw
601 600 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
602 600 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw
603 600 0:90 / /tmp/learn-containers-AbC123/rootfs/proc rw,relatime - proc proc rw
604 600 0:91 / /tmp/learn-containers-AbC123/rootfs/tmp rw,relatime - tmpfs tmpfs rw
",
            ),
            present: vec![PathBuf::from(MARKER)],
        };
        let checks = judged(&Run {
            view: Ok(view),
            ..correct()
        });
        assert_eq!(failing(&checks), vec![Ch05::OldRoot.title()], "{checks:#?}");
        let c = find(&checks, Ch05::OldRoot);
        assert_eq!(
            saw(c),
            format!(
                "`nsenter --mount=/proc/4242/ns/mnt` lands at the host's /: CMD's namespace still holds 3 of the host's mounts (`600 599 8:1 / / rw,relatime - ext4 /dev/sda1 rw`, `601 600 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw`, `602 600 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw`), and {MARKER} (a file outside DIR) is right there. /proc/4242/mountinfo hides them only because CMD's root was chrooted"
            )
        );
        assert!(hint(c).contains("pivot_root(\".\", \".\")"), "{c:#?}");
        assert!(hint(c).starts_with("chroot(2) changes one process's root"));
    }

    #[test]
    fn an_old_root_left_mounted_is_named() {
        // Not provoked by a fixture: pivot_root without unmounting PUT_OLD.
        let view = NsView {
            mounts: mounts(&format!(
                "{PIVOTED}703 700 8:1 / /.old-root rw,relatime - ext4 /dev/sda1 rw\n"
            )),
            present: Vec::new(),
        };
        let c = judge_old_root(&Run {
            view: Ok(view),
            ..correct()
        });
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(&c),
            "CMD's root is the rootfs, but its mount namespace still holds 1 of the host's mounts, at /.old-root"
        );
        assert!(hint(&c).contains("umount2(PUT_OLD, MNT_DETACH)"), "{c:#?}");
    }

    #[test]
    fn a_host_file_reachable_without_host_mounts_still_fails() {
        // Not provoked by a fixture.
        let c = judge_old_root(&Run {
            view: Ok(NsView {
                mounts: mounts(PIVOTED),
                present: vec![PathBuf::from(MARKER)],
            }),
            ..correct()
        });
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(&c),
            format!(
                "CMD's mount namespace holds none of the host's mounts, yet {MARKER} (a file outside DIR) is reachable from it"
            )
        );
        assert!(hint(&c).contains("bind-mount DIR itself"), "{c:#?}");
    }

    #[test]
    fn cmd_and_its_burner_in_two_cgroups_fail() {
        // Not provoked by a fixture: both under CG, but not together.
        let mut r = correct();
        r.burner_cgroup = r
            .cmd_cgroup
            .as_ref()
            .map(|d| d.with_file_name("ch05-other"));
        let c = judge_cgroup(&r, Path::new(CG));
        assert_eq!(c.status, Status::Fail, "{c:#?}");
        assert!(saw(&c).contains("two cgroups"), "{c:#?}");
    }

    #[test]
    fn a_namespace_that_cannot_be_entered_is_named() {
        // Not provoked by a fixture.
        let c = judge_old_root(&Run {
            view: Err("entering the mount namespace of 4242: setns failed".into()),
            ..correct()
        });
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(&c),
            "could not enter CMD's mount namespace: entering the mount namespace of 4242: setns failed"
        );
        assert_eq!(hint(&c), "CMD must still be running when it prints READY");
    }

    #[test]
    fn a_hostname_set_before_the_uts_namespace_is_named() {
        // ch05_hostname_first: the namespace the program started in is renamed, and the
        // new one copied the name.
        let checks = judged(&Run {
            outside_after: NAME.into(),
            ..correct()
        });
        assert_eq!(
            failing(&checks),
            vec![Ch05::HostnameOutside.title()],
            "{checks:#?}"
        );
        let c = find(&checks, Ch05::HostnameOutside);
        assert!(
            saw(c).starts_with(
                "the namespace the program was started in (uts:[4026532940]) was renamed from learn-containers-uts to ch05-abc123."
            ),
            "{c:#?}"
        );
        assert_eq!(
            c.expected.as_deref(),
            Some("learn-containers-uts unchanged")
        );
        assert!(hint(c).contains("before unshare(CLONE_NEWUTS)"), "{c:#?}");
    }

    #[test]
    fn no_hostname_is_named() {
        // ch05_no_hostname: CMD keeps the name of the namespace it was started in.
        let checks = judged(&Run {
            inside_name: Some(OUTSIDE.into()),
            ..correct()
        });
        assert_eq!(
            failing(&checks),
            vec![Ch05::HostnameInside.title()],
            "{checks:#?}"
        );
        let c = find(&checks, Ch05::HostnameInside);
        assert_eq!(
            saw(c),
            "/proc/sys/kernel/hostname inside says learn-containers-uts"
        );
        assert_eq!(c.expected.as_deref(), Some(NAME));
        assert!(hint(c).starts_with("call sethostname(NAME)"), "{c:#?}");
        let c = &judge_hostname(&Run {
            inside_name: None,
            ..correct()
        })[0];
        assert_eq!(saw(c), "/proc/sys/kernel/hostname inside says nothing");
    }

    #[test]
    fn no_uts_namespace_is_named_inside_and_outside() {
        // ch05_no_uts_namespace: sethostname renames the namespace CMD shares.
        let checks = judged(&Run {
            cmd_uts: START_UTS,
            outside_after: NAME.into(),
            ..correct()
        });
        assert_eq!(
            failing(&checks),
            vec![Ch05::HostnameInside.title(), Ch05::HostnameOutside.title()],
            "{checks:#?}"
        );
        let inside = find(&checks, Ch05::HostnameInside);
        assert_eq!(
            saw(inside),
            "CMD is called ch05-abc123, but /proc/4242/ns/uts → uts:[4026532940], the UTS namespace the program was started in: the name was given to everyone in it"
        );
        assert!(hint(inside).contains("CLONE_NEWUTS"), "{inside:#?}");
        let outside = find(&checks, Ch05::HostnameOutside);
        assert!(
            hint(outside).contains("without a UTS namespace of its own"),
            "{outside:#?}"
        );
    }

    #[test]
    fn a_cgroup_joined_after_exec_is_named() {
        // ch05_late_cgroup: CMD is moved after it forked its burner, which stays where the
        // program was started, uncapped.
        let checks = judged(&Run {
            burner_cgroup: Some(PathBuf::from("/sys/fs/cgroup/learn-containers/verify-55")),
            share: Ok(Share {
                cpu: Duration::from_millis(1590),
                wall: Duration::from_millis(1600),
            }),
            ..correct()
        });
        assert_eq!(
            failing(&checks),
            vec![Ch05::Cgroup.title(), Ch05::Share.title()],
            "{checks:#?}"
        );
        let c = find(&checks, Ch05::Cgroup);
        assert_eq!(
            saw(c),
            "CMD (host PID 4242) is in CG/ch05-777, but the burner it forked first thing (host PID 4243) is in /sys/fs/cgroup/learn-containers/verify-55: CMD was moved into the cgroup after it had already forked"
        );
        assert!(hint(c).contains("before exec"), "{c:#?}");
        // The uncapped burner follows from it: said once, in the cgroup check.
        let share = find(&checks, Ch05::Share);
        assert_eq!(
            saw(share),
            "not judged: the burner ran outside the capped cgroup (0.99 of one CPU) (see above)"
        );
    }

    #[test]
    fn an_exit_status_not_passed_through_is_named() {
        // ch05_exit_zero.
        let checks = judged(&Run {
            done: ended(0),
            ..correct()
        });
        assert_eq!(failing(&checks), vec![Ch05::Exit.title()], "{checks:#?}");
        let c = find(&checks, Ch05::Exit);
        assert_eq!(saw(c), "CMD exited 7; the program exited with status 0");
        assert_eq!(c.expected.as_deref(), Some("exit status 7"));
    }

    #[test]
    fn a_parent_in_cmds_mount_namespace_is_named_as_the_cause() {
        // ch05_remove_by_path: the namespaces made before fork, so CMD's pivot_root moved
        // the parent's root too; its rmdir by path fails and it exits 1.
        let mut done = ended(1);
        done.stderr =
            "rmdir /sys/fs/cgroup/cpu/ch05-777: No such file or directory (os error 2)\n".into();
        let r = Run {
            program_mnt: 4026532902,
            done,
            left: vec![own()],
            ..correct()
        };
        let checks = judged(&r);
        assert_eq!(
            failing(&checks),
            vec![Ch05::Exit.title(), Ch05::Residue.title()],
            "{checks:#?}"
        );
        let c = find(&checks, Ch05::Exit);
        assert!(hint(c).starts_with("your program (the parent) was in CMD's mount namespace"));
        assert!(
            hint(c).contains("(it said `rmdir /sys/fs/cgroup/cpu/ch05-777: No such file"),
            "{c:#?}"
        );
        assert!(hint(c).contains("in the child, after fork"), "{c:#?}");
        assert_eq!(
            saw(find(&checks, Ch05::Residue)),
            "not judged: CG/ch05-777 is left because the program could not reach it from CMD's mount namespace (see above)"
        );
        // The same exit status from a parent on the host gets the plain hint.
        let r = Run {
            program_mnt: 4026532700,
            ..r
        };
        let checks = judged(&r);
        assert!(hint(find(&checks, Ch05::Exit)).starts_with("the parent waits for the child"));
        assert!(saw(find(&checks, Ch05::Residue)).starts_with("CG/ch05-777 still there"));
    }

    #[test]
    fn a_cgroup_left_behind_is_named() {
        // ch05_keep_cgroup.
        let checks = judged(&Run {
            left: vec![own()],
            ..correct()
        });
        assert_eq!(failing(&checks), vec![Ch05::Residue.title()], "{checks:#?}");
        let c = find(&checks, Ch05::Residue);
        assert_eq!(saw(c), "CG/ch05-777 still there after the program exited");
        assert!(hint(c).starts_with("rmdir the cgroup"), "{c:#?}");
        assert!(hint(c).contains("ENOENT"), "{c:#?}");
    }

    #[test]
    fn mounts_that_vanished_come_first_and_the_left_cgroup_is_not_blamed() {
        // ch05_private_not_recursive: detaching the old root took /sys/fs/cgroup away from
        // the namespace the program was started in, and with it the program's rmdir.
        let mut r = Run {
            left: vec![own()],
            ..correct()
        };
        r.outer.lost = mounts("420 410 0:30 / /sys/fs/cgroup rw shared:210 - tmpfs tmpfs rw\n");
        let checks = judged(&r);
        assert_eq!(
            failing(&checks),
            vec![Ch05::Mounts.title(), Ch05::Residue.title()],
            "{checks:#?}"
        );
        assert!(saw(find(&checks, Ch05::Mounts)).contains("1 mount vanished"));
        assert_eq!(
            saw(find(&checks, Ch05::Residue)),
            "not judged: mounts vanished from the namespace the program was started in (see above)"
        );
    }

    #[test]
    fn the_probes_judge_the_pid_namespace_and_the_mounts_here_too() {
        // ch05 with chapter 2's mistakes: no new PID namespace, and a proc mounted in the
        // namespace the program was started in.
        let r = correct();
        let proc = "455 412 0:63 / /proc rw,nosuid,nodev,noexec,relatime shared:230 - proc proc rw";
        let r = Run {
            seen: Seen {
                inner_pid: Some(4242),
                pidns: MINE,
                nspid: vec![4242],
                nspid_line: "NSpid: 4242".into(),
                mntns: r.outer.sandbox_mnt,
                ..r.seen
            },
            outer: Outer {
                gained: mounts(proc),
                ..r.outer
            },
            ..r
        };
        let checks = judged(&r);
        assert_eq!(
            failing(&checks),
            vec![
                Ch05::Pid1.title(),
                Ch05::Proc.title(),
                Ch05::NsPid.title(),
                Ch05::Inode.title(),
                Ch05::Mounts.title()
            ],
            "{checks:#?}"
        );
        assert!(hint(find(&checks, Ch05::Pid1)).contains("fork() after unshare"));
        assert!(saw(find(&checks, Ch05::Mounts)).contains("that same namespace"));
    }

    #[test]
    fn a_program_that_never_shows_cmd_is_named_by_how_it_ended() {
        // The untouched exercise.
        let todo = "thread 'main' panicked at exercises/src/bin/ch05_run.rs:50:5:\nnot yet implemented: the container\n";
        let done = Finished {
            stderr: todo.into(),
            ..ended(101)
        };
        let c = not_started(SOURCE, false, &describe(&done, None));
        assert_eq!(c.name, Ch05::Pid1.title());
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(&c),
            "`exercises/src/bin/ch05_run.rs --rootfs DIR ... -- bash -c SCRIPT` reached a todo!() at exercises/src/bin/ch05_run.rs:50:5: the container"
        );
        assert_eq!(
            hint(&c),
            "fix what the message names in exercises/src/bin/ch05_run.rs"
        );
        let c = not_started(SOURCE, true, "exited with status 0");
        assert!(
            saw(&c).ends_with(
                "SCRIPT` printed READY, but no bash running CMD could be found from the host"
            ),
            "{c:#?}"
        );
    }

    #[test]
    fn a_burner_not_found_or_cmd_outside_cg_is_named() {
        // Not provoked by a fixture.
        let c = judge_cgroup(
            &Run {
                burner: None,
                ..correct()
            },
            &cg(),
        );
        assert_eq!(c.status, Status::Fail);
        assert_eq!(saw(&c), "the burner CMD forks could not be found");
        let c = judge_cgroup(
            &Run {
                cmd_cgroup: Some(cg()),
                burner_cgroup: None,
                ..correct()
            },
            &cg(),
        );
        assert_eq!(
            saw(&c),
            "CMD (host PID 4242) is in CG itself, and its burner in unreadable"
        );
        assert_eq!(
            c.expected.as_deref(),
            Some(format!("both in a child cgroup of CG ({CG})").as_str())
        );
        assert!(hint(&c).contains("CG itself belongs to the verifier"));
    }

    #[test]
    fn each_wrong_share_gets_its_own_hint() {
        // Not provoked by a fixture, but ch05_late_cgroup's (above).
        let fast = Share {
            cpu: Duration::from_millis(1600),
            wall: Duration::from_millis(1600),
        };
        let slow = Share {
            cpu: Duration::from_millis(320),
            wall: Duration::from_millis(1600),
        };
        let c = judge_share(
            &Run {
                share: Err("no such process".into()),
                ..correct()
            },
            Version::V2,
        );
        assert_eq!(
            saw(&c),
            "the burner's CPU clock could not be read: no such process"
        );
        assert_eq!(hint(&c), "CMD must keep running until its stdin closes");

        let unlimited = Run {
            share: Ok(fast),
            limit: Some(CpuLimit::unlimited()),
            ..correct()
        };
        assert_eq!(
            hint(&judge_share(&unlimited, Version::V2)),
            "the burner was not held back: write the limit to cpu.max (\"50000 100000\") before CMD starts"
        );
        assert_eq!(
            hint(&judge_share(&unlimited, Version::V1)),
            "the burner was not held back: write the limit to cpu.cfs_period_us (100000) and cpu.cfs_quota_us (50000) before CMD starts"
        );

        let c = judge_share(
            &Run {
                share: Ok(slow),
                limit: Some(CpuLimit::from_cpus(0.2).unwrap()),
                ..correct()
            },
            Version::V2,
        );
        assert!(saw(&c).starts_with("0.20 of one CPU"), "{c:#?}");
        assert!(hint(&c).contains("the quota is too small"), "{c:#?}");

        // The right limit, and still too little: a busy machine (the hint reads the load
        // average).
        let c = judge_share(
            &Run {
                share: Ok(slow),
                ..correct()
            },
            Version::V2,
        );
        assert!(
            hint(&c)
                .starts_with("the limit is right, and the burner still got less than its quota"),
            "{c:#?}"
        );
        assert!(hint(&c).contains("`learn-containers verify 5` again"));
    }
}
