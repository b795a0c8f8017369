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
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::chapters::ch02_pid_namespace::verify as ch02;
use crate::chapters::ch04_cgroup_cpu::verify::{Share, TOLERANCE, load_average};
use crate::kernel::cgroup::{Cgroup, CgroupFs, CpuLimit, Version, host_cpus};
use crate::kernel::container::{NsView, enter_and_look, host_mounts};
use crate::kernel::mountinfo::{self, Mount};
use crate::kernel::ns::{Propagation, Sandbox, UtsSandbox};
use crate::kernel::{procfs, scratch::Scratch};
use crate::verify::run::Running;
use crate::verify::{Candidate, Check, all_failed};

const TIMEOUT: Duration = Duration::from_secs(20);
/// The CPU cap asked for.
pub const CPUS: f64 = 0.5;
/// Time for the burner to settle under its cap before measuring.
const SETTLE: Duration = Duration::from_millis(300);
/// The measurement window: 16 periods of 100 ms.
const MEASURE: Duration = Duration::from_millis(1600);

pub const NAMES: [&str; 12] = [
    ch02::NAMES[0],
    ch02::NAMES[1],
    ch02::NAMES[2],
    ch02::NAMES[3],
    ch02::NAMES[5],
    "old root: entering CMD's mount namespace finds none of the host's mounts",
    "hostname: inside, CMD is called NAME, in a UTS namespace of its own",
    "hostname: outside, the namespace the program was started in keeps its name",
    "cgroup: CMD and what it forks at once are in a new cgroup under CG",
    "--cpus 0.5: the burner's CPU time / wall time is 0.5 ± 0.1",
    ch02::NAMES[4],
    "cgroup: nothing is left in CG afterwards",
];

/// CMD: forks a CPU burner first thing (so a cgroup joined after exec misses it), then
/// prints what chapter 2's checks read, its hostname, and waits for stdin to close. Only
/// bash builtins: the rootfs holds bash alone.
fn script() -> String {
    format!(
        "shopt -s nullglob; \
         ( while :; do :; done ) & \
         echo \"burner $!\"; \
         echo \"pid $$\"; \
         read -r c1 < /proc/1/comm && echo \"proc1 $c1\"; \
         for d in /proc/[0-9]*; do echo \"proc ${{d#/proc/}}\"; done; \
         read -r h < /proc/sys/kernel/hostname && echo \"hostname $h\"; \
         echo READY; read -r _; kill -9 $!; exit {}",
        ch02::STATUS
    )
}

/// Everything seen of one run.
struct Run {
    name: String,
    alone: ch02::Alone,
    burner: Option<(i32, i32)>,
    cmd_cgroup: Option<PathBuf>,
    burner_cgroup: Option<PathBuf>,
    share: Result<Share, String>,
    limit: Option<CpuLimit>,
    cmd_uts: u64,
    start_uts: u64,
    inside_name: Option<String>,
    outside_before: String,
    outside_after: String,
    view: Result<NsView, String>,
    marker: PathBuf,
    host: Vec<Mount>,
    left: Vec<PathBuf>,
}

pub fn verify(c: &Candidate) -> Result<Vec<Check>> {
    let fs = CgroupFs::detect()?;
    fs.require("cpu")?;
    let parent = fs.create_owned("cpu", "ch05-verify")?;
    parent.enable_for_children("cpu")?;
    let scratch = Scratch::new()?;
    let checks = match observe(c, &fs, &parent, &scratch)? {
        Ok(run) => judge(&run, &parent),
        Err(first) => all_failed(&NAMES, first),
    };
    // Kills whatever the program left in CG, removes its cgroups, then CG.
    parent.remove()?;
    Ok(checks)
}

fn observe(
    c: &Candidate,
    fs: &CgroupFs,
    parent: &Cgroup,
    scratch: &Scratch,
) -> Result<std::result::Result<Run, Check>> {
    // mkdtemp chose an unpredictable suffix: it tags the processes and names the host.
    let token = scratch
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .replace(crate::kernel::scratch::PREFIX, "");
    let name = format!("ch05-{}", token.to_ascii_lowercase());
    let tag = format!("learn-containers-ch05-{token}");
    let rootfs = scratch.rootfs("rootfs", &["bash"])?;
    // A file outside DIR: whoever can open it still reaches the host's tree.
    let marker = scratch.path().join(format!("host-only-{token}"));
    std::fs::write(&marker, "outside the rootfs\n")?;

    let host = mountinfo::read(None)?;
    let sandbox = Sandbox::start(Propagation::Shared)?;
    let uts = UtsSandbox::start()?;
    let before = sandbox.mounts()?;
    let outside_before = uts.hostname()?;
    let start_uts = uts.inode()?;
    let args = vec![
        "--rootfs".to_owned(),
        rootfs.display().to_string(),
        "--hostname".into(),
        name.clone(),
        "--cpus".into(),
        CPUS.to_string(),
        "--cgroup-parent".into(),
        parent.path.display().to_string(),
        "--".into(),
        "/bin/bash".into(),
        "-c".into(),
        script(),
        tag.clone(),
    ];
    let mut running = Running::start_joining(
        &c.binary,
        &args,
        scratch.path(),
        &[sandbox.entry(), uts.entry()],
    )?;
    let ready = running.wait_for(TIMEOUT, |l| l == "READY").is_some();
    let seen = if ready {
        ch02::observe(&tag, running.seen())
    } else {
        None
    };
    let Some(seen) = seen else {
        let done = running.finish(Duration::from_secs(5));
        ch02::kill_tagged(&tag);
        let why = if ready {
            "printed READY, but no bash running CMD could be found from the host".to_owned()
        } else {
            done.describe()
        };
        return Ok(Err(Check::fail(
            NAMES[0],
            format!("`{} --rootfs DIR ... -- bash -c SCRIPT` {why}", c.source),
        )
        .expected("CMD starts in the container, prints what it sees and waits for stdin to close")
        .hint(format!("fix what the message names in {}", c.source))));
    };
    let cmd = seen.host_pid;
    let burner = seen
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("burner ")?.trim().parse::<i32>().ok())
        .and_then(|inner| {
            seen.members
                .iter()
                .find(|m| m.0 == inner)
                .map(|m| (inner, m.1))
        });
    let cmd_uts = procfs::ns_inode(cmd, "uts").unwrap_or(0);
    let inside_name = seen
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("hostname ").map(str::to_owned));
    let view = enter_and_look(cmd, std::slice::from_ref(&marker)).map_err(|e| format!("{e:#}"));

    // Time for the program to have done whatever it does with cgroups.
    std::thread::sleep(SETTLE);
    let cmd_cgroup = fs.cgroup_of(cmd, "cpu").ok();
    let burner_cgroup = burner.and_then(|(_, host)| fs.cgroup_of(host, "cpu").ok());
    let limit = cmd_cgroup
        .as_ref()
        .filter(|d| inside(d, &parent.path))
        .and_then(|d| Cgroup::open(d, parent.version).cpu_limit().ok());
    let share = match burner {
        Some((_, pid)) => {
            let (cpu0, t0) = (procfs::cpu_clock(pid), Instant::now());
            std::thread::sleep(MEASURE);
            let (cpu1, t1) = (procfs::cpu_clock(pid), Instant::now());
            match (cpu0, cpu1) {
                (Ok(a), Ok(b)) => Ok(Share {
                    cpu: b.saturating_sub(a),
                    wall: t1 - t0,
                }),
                (Err(e), _) | (_, Err(e)) => Err(format!("{e:#}")),
            }
        }
        None => Err("the burner's pid could not be found among CMD's namespace".into()),
    };
    let at_ready = sandbox.mounts().unwrap_or_default();
    let done = running.finish(Duration::from_secs(5));
    ch02::kill_tagged(&tag);
    let outside_after = uts
        .hostname()
        .unwrap_or_else(|e| format!("unreadable ({e:#})"));
    let outer = ch02::outer(&sandbox, &before, &[at_ready, sandbox.mounts()?])?;
    Ok(Ok(Run {
        name,
        alone: ch02::Alone { seen, done, outer },
        burner,
        cmd_cgroup,
        burner_cgroup,
        share,
        limit,
        cmd_uts,
        start_uts,
        inside_name,
        outside_before,
        outside_after,
        view,
        marker,
        host,
        left: parent.children(),
    }))
}

fn judge(r: &Run, parent: &Cgroup) -> Vec<Check> {
    let my_pidns = procfs::ns_inode(std::process::id() as i32, "pid").unwrap_or(0);
    let mut checks = ch02::judge_alone(&r.alone, my_pidns);
    let host_after = mountinfo::read(None).unwrap_or_default();
    checks.push(ch02::judge_mounts(
        &r.alone,
        &Err(Check::fail("", "")),
        &r.host,
        &host_after,
    ));
    checks.push(judge_old_root(r));
    checks.extend(judge_hostname(r));
    checks.push(judge_cgroup(r, &parent.path));
    checks.push(judge_share(r, parent.version));
    checks.push(judge_residue(r, &parent.path));
    checks.sort_by_key(|c| NAMES.iter().position(|n| *n == c.name));
    checks
}

/// Is `dir` strictly below `parent`?
fn inside(dir: &Path, parent: &Path) -> bool {
    dir != parent && dir.starts_with(parent)
}

fn rel(dir: &Path, parent: &Path) -> String {
    match dir.strip_prefix(parent) {
        Ok(r) if r.as_os_str().is_empty() => "CG itself".into(),
        Ok(r) => format!("CG/{}", r.display()),
        Err(_) => dir.display().to_string(),
    }
}

fn judge_old_root(r: &Run) -> Check {
    let name = NAMES[5];
    let pid = r.alone.seen.host_pid;
    let view = match &r.view {
        Ok(v) => v,
        Err(e) => {
            return Check::fail(name, format!("could not enter CMD's mount namespace: {e}"))
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
        return Check::pass(
            name,
            format!(
                "`nsenter --mount=/proc/{pid}/ns/mnt` finds {} mounts ({}) and cannot reach {}",
                view.mounts.len(),
                lines.join(", "),
                r.marker.display()
            ),
        );
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
        Check::fail(
            name,
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
    } else {
        let at: Vec<String> = kept
            .iter()
            .take(3)
            .map(|m| m.mount_point.display().to_string())
            .collect();
        Check::fail(
            name,
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
    let pid = r.alone.seen.host_pid;
    let inside = match &r.inside_name {
        Some(h) if *h == r.name && r.cmd_uts != r.start_uts => Check::pass(
            NAMES[6],
            format!(
                "/proc/sys/kernel/hostname inside: {h}; /proc/{pid}/ns/uts → {}, started in {}",
                uts(r.cmd_uts),
                uts(r.start_uts)
            ),
        ),
        Some(h) if *h == r.name => Check::fail(
            NAMES[6],
            format!(
                "CMD is called {h}, but /proc/{pid}/ns/uts → {}, the UTS namespace the program was started in: the name was given to everyone in it",
                uts(r.cmd_uts)
            ),
        )
        .expected("NAME, in a UTS namespace of CMD's own")
        .hint("add CLONE_NEWUTS to the unshare flags: sethostname then renames only the new namespace"),
        other => Check::fail(
            NAMES[6],
            format!(
                "/proc/sys/kernel/hostname inside says {}",
                other.as_deref().unwrap_or("nothing")
            ),
        )
        .expected(r.name.clone())
        .hint("call sethostname(NAME) in the child, after unshare(CLONE_NEWUTS) and before exec"),
    };
    let outside = if r.outside_after == r.outside_before {
        Check::pass(
            NAMES[7],
            format!(
                "the namespace the program was started in ({}) is still called {}",
                uts(r.start_uts),
                r.outside_before
            ),
        )
    } else {
        let hint = if r.cmd_uts != r.start_uts {
            "sethostname ran before unshare(CLONE_NEWUTS): at that moment the program was still in the \
             host's UTS namespace, and the new one only copied the new name. Set the hostname after \
             unshare, in the child"
        } else {
            "sethostname ran without a UTS namespace of its own: unshare(CLONE_NEWUTS) first"
        };
        Check::fail(
            NAMES[7],
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
    let name = NAMES[8];
    let pid = r.alone.seen.host_pid;
    let shown = |d: &Option<PathBuf>| d.as_ref().map_or("unreadable".into(), |d| rel(d, dir));
    let cmd_in = r.cmd_cgroup.as_ref().is_some_and(|d| inside(d, dir));
    let burner_in = r.burner_cgroup.as_ref().is_some_and(|d| inside(d, dir));
    let Some((inner, host)) = r.burner else {
        return Check::fail(name, "the burner CMD forks could not be found")
            .expected("CMD and its burner in a child cgroup of CG")
            .hint("CMD must keep running until its stdin closes");
    };
    match (cmd_in, burner_in) {
        (true, true) => Check::pass(
            name,
            format!(
                "CMD (host PID {pid}) and the burner it forked (PID {inner} inside, {host} on the host) are both in {}",
                shown(&r.burner_cgroup)
            ),
        ),
        (true, false) => Check::fail(
            name,
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
        (false, _) => Check::fail(
            name,
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
    let name = NAMES[9];
    let expected = format!("{CPUS:.2} ± {TOLERANCE} of one CPU");
    let share = match &r.share {
        Ok(s) => *s,
        Err(e) => {
            return Check::fail(
                name,
                format!("the burner's CPU clock could not be read: {e}"),
            )
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
        return Check::pass(name, seen);
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
    let hint = if v > CPUS && !burner_in {
        "the burner ran outside the capped cgroup (see the cgroup check)".to_owned()
    } else if v > CPUS {
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
    Check::fail(name, seen).expected(expected).hint(hint)
}

fn judge_residue(r: &Run, dir: &Path) -> Check {
    let name = NAMES[11];
    if r.left.is_empty() {
        return Check::pass(name, "CG has no child cgroup left");
    }
    let left: Vec<String> = r.left.iter().map(|p| rel(p, dir)).collect();
    Check::fail(
        name,
        format!("{} still there after the program exited", left.join(", ")),
    )
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

    #[test]
    fn names_are_unique() {
        let mut n = NAMES.to_vec();
        n.sort();
        n.dedup();
        assert_eq!(n.len(), NAMES.len());
    }

    #[test]
    fn the_script_forks_the_burner_first() {
        let s = script();
        let burner = s.find("while :; do :; done").unwrap();
        assert!(burner < s.find("echo \"pid").unwrap());
        assert!(s.ends_with(&format!("exit {}", ch02::STATUS)));
    }
}
