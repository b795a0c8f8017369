//! Reading what the kernel reports about a process under /proc.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Context, Error, Result};

fn proc_path(pid: i32, rest: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{rest}"))
}

/// The inode of namespace `kind` ("pid", "mnt", "uts", ...) of a process: two processes
/// share a namespace exactly when these are equal.
pub fn ns_inode(pid: i32, kind: &str) -> Result<u64> {
    let p = proc_path(pid, &format!("ns/{kind}"));
    Ok(std::fs::metadata(&p)
        .with_context(|| format!("stat {}", p.display()))?
        .ino())
}

/// The namespace link as the kernel shows it, e.g. `pid:[4026531836]`.
pub fn ns_link(pid: i32, kind: &str) -> Result<String> {
    let p = proc_path(pid, &format!("ns/{kind}"));
    Ok(std::fs::read_link(&p)
        .with_context(|| format!("readlink {}", p.display()))?
        .to_string_lossy()
        .into_owned())
}

/// A `Key:\tvalue` line of /proc/PID/status, as the kernel wrote it.
pub fn status_line(pid: i32, key: &str) -> Result<String> {
    let p = proc_path(pid, "status");
    let text = std::fs::read_to_string(&p).with_context(|| format!("read {}", p.display()))?;
    text.lines()
        .find(|l| l.split(':').next() == Some(key))
        .map(str::to_owned)
        .ok_or_else(|| Error::msg(format!("no {key}: line in {}", p.display())))
}

/// The PIDs of a process in each PID namespace it is in, outermost first (the `NSpid:` line).
pub fn nspid(pid: i32) -> Result<Vec<i32>> {
    parse_nspid(&status_line(pid, "NSpid")?)
}

pub fn parse_nspid(line: &str) -> Result<Vec<i32>> {
    let rest = line
        .strip_prefix("NSpid:")
        .ok_or_else(|| Error::msg(format!("not an NSpid line: {line}")))?;
    rest.split_whitespace()
        .map(|n| {
            n.parse()
                .with_context(|| format!("bad pid {n:?} in {line:?}"))
        })
        .collect()
}

/// Where /proc/PID/root points, as seen from this process's root.
pub fn root(pid: i32) -> Result<PathBuf> {
    let p = proc_path(pid, "root");
    std::fs::read_link(&p).with_context(|| format!("readlink {}", p.display()))
}

/// Where /proc/PID/cwd points, as seen from this process's root.
pub fn cwd(pid: i32) -> Result<PathBuf> {
    let p = proc_path(pid, "cwd");
    std::fs::read_link(&p).with_context(|| format!("readlink {}", p.display()))
}

/// The command name (/proc/PID/comm).
pub fn comm(pid: i32) -> Option<String> {
    std::fs::read_to_string(proc_path(pid, "comm"))
        .ok()
        .map(|s| s.trim_end().to_owned())
}

/// Fields of /proc/PID/stat after the command name (which may contain spaces).
fn stat_fields(pid: i32) -> Result<Vec<String>> {
    let p = proc_path(pid, "stat");
    let text = std::fs::read_to_string(&p).with_context(|| format!("read {}", p.display()))?;
    let after = text
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| Error::msg(format!("unexpected {}", p.display())))?;
    Ok(after.split_whitespace().map(str::to_owned).collect())
}

/// The process's start time in clock ticks since boot: with the PID, it names a process
/// uniquely even when PIDs are reused.
pub fn start_time(pid: i32) -> Option<u64> {
    // Field 22 of stat; index 19 after "pid (comm)".
    stat_fields(pid).ok()?.get(19)?.parse().ok()
}

/// User plus system CPU time the process has used so far.
pub fn cpu_time(pid: i32) -> Result<Duration> {
    let f = stat_fields(pid)?;
    // utime and stime are fields 14 and 15; indexes 11 and 12 after "pid (comm)".
    let ticks: u64 = f[11].parse::<u64>()? + f[12].parse::<u64>()?;
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as u64;
    Ok(Duration::from_micros(ticks * 1_000_000 / hz))
}

/// CPU time the process (all its threads) has used so far, to the nanosecond: the
/// kernel's per-process CPU clock (clock_getcpuclockid(3)). /proc/PID/stat counts in
/// clock ticks (10 ms), too coarse to measure a share over a second or two.
pub fn cpu_clock(pid: i32) -> Result<Duration> {
    use nix::time::{clock_getcpuclockid, clock_gettime};
    let clock = clock_getcpuclockid(nix::unistd::Pid::from_raw(pid))
        .with_context(|| format!("clock_getcpuclockid({pid})"))?;
    let t = clock_gettime(clock).with_context(|| format!("CPU clock of process {pid}"))?;
    Ok(Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32))
}

/// Every PID visible in this process's /proc.
pub fn pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut v: Vec<i32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    v.sort_unstable();
    v
}

/// The one-letter state of /proc/PID/stat (R, S, D, T, t for a tracing stop, Z...).
pub fn state(pid: i32) -> Option<char> {
    stat_fields(pid).ok()?.first()?.chars().next()
}

/// Does a process with this PID exist (and is it not a zombie)?
pub fn alive(pid: i32) -> bool {
    match stat_fields(pid) {
        Ok(f) => f.first().map(String::as_str) != Some("Z"),
        Err(_) => false,
    }
}

/// The live (not zombie) members of process group `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    pids()
        .into_iter()
        .filter(|p| pgid_of_live(*p) == Some(pgid))
        .collect()
}

fn pgid_of_live(pid: i32) -> Option<i32> {
    let f = stat_fields(pid).ok()?;
    if f.first().map(String::as_str) == Some("Z") {
        return None;
    }
    f.get(2)?.parse().ok()
}

/// The parent's PID (field 4 of stat), as seen from here.
pub fn ppid(pid: i32) -> Option<i32> {
    stat_fields(pid).ok()?.get(1)?.parse().ok()
}

/// The process group (field 5 of stat).
pub fn pgid(pid: i32) -> Option<i32> {
    stat_fields(pid).ok()?.get(2)?.parse().ok()
}

/// The arguments the process was started with (/proc/PID/cmdline, split at NULs).
pub fn cmdline(pid: i32) -> Option<Vec<String>> {
    let raw = std::fs::read(proc_path(pid, "cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// The live processes whose parent is `pid`.
pub fn children(pid: i32) -> Vec<i32> {
    pids()
        .into_iter()
        .filter(|p| ppid(*p) == Some(pid) && alive(*p))
        .collect()
}

/// The live processes (PIDs as seen from here) in the namespace of kind `kind` whose
/// inode is `inode`: the members of one PID or mount namespace.
pub fn members(kind: &str, inode: u64) -> Vec<i32> {
    pids()
        .into_iter()
        .filter(|p| ns_inode(*p, kind).ok() == Some(inode) && alive(*p))
        .collect()
}

/// Whether this process runs in a user namespace other than init's (a rootless run
/// entered one): its uid map, and init's seen from here, differ.
pub fn in_user_namespace() -> bool {
    let map = |pid: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/uid_map"))
            .map(|m| m.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    matches!((map("self"), map("1")), (Ok(a), Ok(b)) if a != b)
}

/// Root of the host: uid 0 in init's user namespace (not a user mapped to 0 in one of
/// its own).
pub fn host_root() -> bool {
    nix::unistd::geteuid().is_root() && !in_user_namespace()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nspid_two_levels() {
        assert_eq!(parse_nspid("NSpid:\t4242\t1").unwrap(), vec![4242, 1]);
        assert!(parse_nspid("Pid:\t1").is_err());
    }

    #[test]
    fn reads_own_process() {
        let me = std::process::id() as i32;
        assert_eq!(nspid(me).unwrap().first(), Some(&me));
        assert!(ns_link(me, "pid").unwrap().starts_with("pid:["));
        assert!(alive(me));
        assert!(start_time(me).is_some());
        assert_eq!(pgid(me), Some(nix::unistd::getpgrp().as_raw()));
        assert!(cmdline(me).is_some_and(|a| !a.is_empty()));
        let pidns = ns_inode(me, "pid").unwrap();
        assert!(members("pid", pidns).contains(&me));
    }

    #[test]
    fn cpu_clock_counts_this_process() {
        let me = std::process::id() as i32;
        let before = cpu_clock(me).unwrap();
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(30) {
            std::hint::spin_loop();
        }
        assert!(cpu_clock(me).unwrap() > before);
    }
}
