//! User namespaces, from the side of the one who makes them: the unprivileged uid to work
//! as (the caller's own, or, for root, one that owns nothing on this host), becoming it in
//! a forked child or a pre_exec hook, the maps written in the order the kernel wants, and
//! what a namespace's maps and owner read back as. Chapter 6's demo and its verifier both
//! act through here: a user namespace made by root teaches nothing about privilege, so
//! both do their work as that unprivileged uid.

use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sched::{CloneFlags, unshare};
use nix::unistd::{Gid, Group, Uid, User, getegid, geteuid, setgroups, setresgid, setresuid};

use super::procfs;
use super::sys::SysError;
use crate::error::{Context, Result};

/// A uid and a gid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
}

/// The first uid (and gid) root tries when it picks one to work as: 0x70000000, where
/// systemd's "Users, Groups, UIDs and GIDs on systemd Systems" leaves a range unused
/// (above the container ranges, below 2^31, where signed uid_t breaks some programs).
/// Not 65534: `nobody` is shared by whatever runs as it, and a namespace mapped to it
/// could signal those processes and write their files.
pub const FIRST: u32 = 0x7000_0000;
/// How many uids after [`FIRST`] (and gids after [`FIRST`] + [`GID_OFFSET`]) are tried.
const TRIES: u32 = 64;
/// Root's gid is picked this far above its uid: never the same number, so a gid_map
/// written with the uid (`0 UID 1`) is refused. Most users' uid and gid are one number
/// (1000 and 1000), where that mistake would go unseen.
pub const GID_OFFSET: u32 = 0x100;

/// Who chapter 6's work runs as: unprivileged, with [`Unprivileged::become_it`] called
/// in every child that does it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unprivileged {
    pub ids: Ids,
    /// Root chose these ids, and a child must drop to them; otherwise they are the
    /// caller's own and nothing changes.
    pub dropped: bool,
}

impl Unprivileged {
    /// The caller itself when it is not root. Root picks a uid that owns nothing here
    /// ([`pick_unused`]), and a gid of another number.
    pub fn choose() -> Result<Unprivileged> {
        if !geteuid().is_root() {
            return Ok(Unprivileged {
                ids: Ids {
                    uid: geteuid().as_raw(),
                    gid: getegid().as_raw(),
                },
                dropped: false,
            });
        }
        Ok(Unprivileged {
            ids: pick_unused()?,
            dropped: true,
        })
    }

    /// In a forked child or a pre_exec hook: become these ids (no supplementary groups),
    /// when root chose them. Only system calls, no allocation.
    pub fn become_it(&self) -> std::io::Result<()> {
        if !self.dropped {
            return Ok(());
        }
        let (uid, gid) = (Uid::from_raw(self.ids.uid), Gid::from_raw(self.ids.gid));
        setgroups(&[])?;
        setresgid(gid, gid, gid)?;
        setresuid(uid, uid, uid)?;
        // Changing credentials makes a process non-dumpable, which leaves its /proc files
        // owned by root: its own uid_map would refuse it. exec would undo it; a child that
        // carries on without exec needs it back now.
        nix::sys::prctl::set_dumpable(true)?;
        Ok(())
    }

    /// How the learner would get there: `setpriv --reuid=UID ...` as root, nothing as a user.
    pub fn shell_prefix(&self) -> String {
        if self.dropped {
            format!(
                "setpriv --reuid={} --regid={} --clear-groups ",
                self.ids.uid, self.ids.gid
            )
        } else {
            String::new()
        }
    }
}

/// A uid and a gid that own nothing on this host, as far as can be seen: no passwd or
/// group entry, in no subordinate range of /etc/subuid or /etc/subgid, no process running
/// as either, and mapped in this process's user namespace. Files are not searched for
/// (that would take minutes): what chapter 6 makes as this uid lives in a scratch dir and
/// goes with it. The first free uid from [`FIRST`] on and the first free gid from
/// [`FIRST`] + [`GID_OFFSET`] on, so the same host gives the same ids every time.
pub fn pick_unused() -> Result<Ids> {
    let running = running_ids();
    let sub = [subordinate("/etc/subuid"), subordinate("/etc/subgid")].concat();
    let within = |id: u32, first: u32, count: u32| {
        id >= first && u64::from(id) < u64::from(first) + u64::from(count)
    };
    let mapped = |file: &str, id: u32| {
        parse_map(&std::fs::read_to_string(format!("/proc/self/{file}")).unwrap_or_default())
            .iter()
            .any(|&(inside, _, count)| within(id, inside, count))
    };
    let unowned = |id: u32| {
        !running.contains(&id) && !sub.iter().any(|&(first, count)| within(id, first, count))
    };
    let uid = (FIRST..FIRST + TRIES).find(|&id| {
        unowned(id)
            && matches!(User::from_uid(Uid::from_raw(id)), Ok(None))
            && mapped("uid_map", id)
    });
    let first_gid = FIRST + GID_OFFSET;
    let gid = (first_gid..first_gid + TRIES).find(|&id| {
        unowned(id)
            && matches!(Group::from_gid(Gid::from_raw(id)), Ok(None))
            && mapped("gid_map", id)
    });
    match (uid, gid) {
        (Some(uid), Some(gid)) => Ok(Ids { uid, gid }),
        _ => Err(crate::error::Error::msg(format!(
            "no free uid from {FIRST} to {} or gid from {first_gid} to {} to run as: each has an owner here",
            FIRST + TRIES - 1,
            first_gid + TRIES - 1
        ))),
    }
}

/// Every uid and gid some process runs with (the four of each status line).
fn running_ids() -> Vec<u32> {
    let mut ids = Vec::new();
    for pid in procfs::pids() {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        for l in status.lines() {
            if let Some(v) = l.strip_prefix("Uid:").or_else(|| l.strip_prefix("Gid:")) {
                ids.extend(v.split_whitespace().filter_map(|n| n.parse::<u32>().ok()));
            }
        }
    }
    ids
}

/// The ranges of /etc/subuid or /etc/subgid (`name:first:count` lines), as (first, count).
fn subordinate(file: &str) -> Vec<(u32, u32)> {
    parse_subordinate(&std::fs::read_to_string(file).unwrap_or_default())
        .into_iter()
        .map(|(_, first, count)| (first, count))
        .collect()
}

/// `name:first:count` lines: (name, first, count).
pub fn parse_subordinate(text: &str) -> Vec<(String, u32, u32)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let name = f.next()?.to_owned();
            Some((name, f.next()?.parse().ok()?, f.next()?.parse().ok()?))
        })
        .collect()
}

/// The lines of a uid_map or gid_map: (first id inside, first id outside, count).
pub fn parse_map(text: &str) -> Vec<(u32, u32, u32)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<u32> = l
                .split_whitespace()
                .map(|n| n.parse().ok())
                .collect::<Option<_>>()?;
            match f[..] {
                [inside, outside, count] => Some((inside, outside, count)),
                _ => None,
            }
        })
        .collect()
}

/// A map's lines as the kernel pads them, on one line: `0 1879048192 1`, or `(empty)`.
pub fn show_map(text: &str) -> String {
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        "(empty)".into()
    } else {
        lines.join(" / ")
    }
}

/// `unshare(CLONE_NEWUSER)`, with any other namespaces in `more` made in the same call
/// (then owned by the new user namespace). For a single-threaded forked child only.
pub fn unshare_user(more: CloneFlags) -> std::result::Result<(), SysError> {
    let flags = CloneFlags::CLONE_NEWUSER | more;
    unshare(flags).map_err(|e| SysError::new(format!("unshare({})", flag_names(flags)), e))
}

/// `CLONE_NEWUSER|CLONE_NEWNS`, as a learner writes the flags.
pub fn flag_names(flags: CloneFlags) -> String {
    [
        (CloneFlags::CLONE_NEWUSER, "CLONE_NEWUSER"),
        (CloneFlags::CLONE_NEWNS, "CLONE_NEWNS"),
        (CloneFlags::CLONE_NEWPID, "CLONE_NEWPID"),
        (CloneFlags::CLONE_NEWUTS, "CLONE_NEWUTS"),
    ]
    .iter()
    .filter(|(f, _)| flags.contains(*f))
    .map(|(_, n)| *n)
    .collect::<Vec<_>>()
    .join("|")
}

/// Writes `text` to /proc/`pid`/`file` (`pid` "self" or a number): uid_map, gid_map or
/// setgroups.
pub fn write_proc(pid: &str, file: &str, text: &str) -> std::result::Result<(), SysError> {
    let path = format!("/proc/{pid}/{file}");
    std::fs::write(&path, text).map_err(|e| {
        SysError::new(
            format!("write(\"{path}\", \"{text}\")"),
            Errno::from_raw(e.raw_os_error().unwrap_or(0)),
        )
    })
}

/// What an unprivileged process writes, in the order the kernel accepts it: "deny" to
/// setgroups, then `0 UID 1` to uid_map and `0 GID 1` to gid_map, for process `pid`
/// ("self" or a number), which has just made a user namespace.
pub fn map_root(pid: &str, ids: Ids) -> std::result::Result<(), SysError> {
    write_proc(pid, "setgroups", "deny")?;
    write_proc(pid, "uid_map", &format!("0 {} 1", ids.uid))?;
    write_proc(pid, "gid_map", &format!("0 {} 1", ids.gid))
}

/// /proc/PID/`file` as the kernel shows it to this process ("" when it cannot be read).
pub fn read_proc(pid: i32, file: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap_or_default()
}

/// The inode of the user namespace that owns process `pid`'s namespace of `kind`
/// (ioctl NS_GET_USERNS on /proc/PID/ns/KIND, as `lsns -o NS,TYPE,USERNS` shows it).
pub fn owner(pid: i32, kind: &str) -> Result<u64> {
    let path = format!("/proc/{pid}/ns/{kind}");
    let ns = std::fs::File::open(&path).with_context(|| format!("open {path}"))?;
    // NS_GET_USERNS is _IO(0xb7, 0x1) (linux/nsfs.h).
    const NS_GET_USERNS: libc::c_ulong = 0xb701;
    // SAFETY: the request takes no argument and returns a new descriptor, which is
    // owned by the File made from it below and closed with it.
    let fd = unsafe { libc::ioctl(ns.as_raw_fd(), NS_GET_USERNS as _) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("ioctl(NS_GET_USERNS) on {path}"));
    }
    // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
    let user = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    Ok(user.metadata()?.ino())
}

/// A file root alone may read, which the unprivileged uid is to fail to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootOnly {
    /// Planted by root in a dir of the run: mode 0600, owned by 0:0.
    Planted(PathBuf),
    /// Root-owned, on the host, and refused to this (unprivileged) caller itself.
    Host(PathBuf),
    /// Not root, and no such file on the host.
    None,
}

impl RootOnly {
    pub fn path(&self) -> Option<&Path> {
        match self {
            RootOnly::Planted(p) | RootOnly::Host(p) => Some(p),
            RootOnly::None => None,
        }
    }
}

/// Host files that are root's alone on most systems.
const HOST_ROOT_ONLY: &[&str] = &["/etc/shadow", "/etc/gshadow", "/proc/1/environ"];

/// As root: plants `dir/root-only`, mode 0600, owned by root. Otherwise: the first host
/// file of [`HOST_ROOT_ONLY`] owned by root that this caller cannot open.
pub fn root_only(dir: &Path) -> Result<RootOnly> {
    if geteuid().is_root() {
        use std::os::unix::fs::OpenOptionsExt;
        let path = dir.join("root-only");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("create {}", path.display()))?;
        std::io::Write::write_all(&mut f, b"for root only\n")?;
        return Ok(RootOnly::Planted(path));
    }
    Ok(HOST_ROOT_ONLY
        .iter()
        .map(Path::new)
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.uid() == 0)
                && std::fs::File::open(p)
                    .is_err_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
        })
        .map_or(RootOnly::None, |p| RootOnly::Host(p.to_path_buf())))
}

/// The CapEff (or other `key`) of a status text, as hex.
pub fn caps(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

/// In a forked child: [`Unprivileged::become_it`], then die with the parent again, since
/// a change of credentials clears PR_SET_PDEATHSIG (see `child::die_with_parent`).
pub fn become_in_child(who: &Unprivileged) -> std::io::Result<()> {
    who.become_it()?;
    if who.dropped {
        nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
    }
    Ok(())
}

/// The uid every unmapped uid reads as (/proc/sys/kernel/overflowuid; 65534 by default).
pub fn overflow_uid() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/overflowuid")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(65534)
}

/// The lines of /etc/subuid (or /etc/subgid) that grant ranges to user `name` or to uid
/// `id` (both forms are allowed, man 5 subuid), as written; None when there is no such
/// file.
pub fn subordinate_lines(file: &str, name: Option<&str>, id: u32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(file).ok()?;
    let id = id.to_string();
    Some(
        text.lines()
            .filter(|l| {
                let owner = l.trim().split(':').next().unwrap_or("");
                owner == id || name.is_some_and(|n| n == owner)
            })
            .map(|l| l.trim().to_owned())
            .collect(),
    )
}

/// The fields after `key:` in a /proc status text, one space apart: `Uid: 0 0 0 0`.
pub fn status_field(status: &str, key: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| {
            format!(
                "{key}: {}",
                v.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .unwrap_or_else(|| format!("{key}: (not found)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_read_as_the_kernel_pads_them() {
        let text = "         0 1879048192          1\n";
        assert_eq!(parse_map(text), vec![(0, 1879048192, 1)]);
        assert_eq!(show_map(text), "0 1879048192 1");
        assert_eq!(parse_map(""), vec![]);
        assert_eq!(show_map(""), "(empty)");
        let two = "0 1000 1\n1 100000 65536\n";
        assert_eq!(parse_map(two).len(), 2);
        assert_eq!(show_map(two), "0 1000 1 / 1 100000 65536");
    }

    #[test]
    fn subordinate_ranges() {
        assert_eq!(
            parse_subordinate("alice:100000:65536\n# x\nbob:165536:65536\n"),
            vec![
                ("alice".to_owned(), 100000, 65536),
                ("bob".to_owned(), 165536, 65536)
            ]
        );
    }

    #[test]
    fn capabilities_are_read_as_hex() {
        let status = "Name:\tbash\nCapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n";
        assert_eq!(caps(status, "CapEff"), Some(0x1ff_ffff_ffff));
        assert_eq!(caps(status, "CapPrm"), None);
    }

    #[test]
    fn flags_are_named_as_a_learner_writes_them() {
        assert_eq!(
            flag_names(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS),
            "CLONE_NEWUSER|CLONE_NEWNS"
        );
    }

    #[test]
    fn a_user_keeps_their_own_ids() {
        if geteuid().is_root() {
            let u = Unprivileged::choose().unwrap();
            assert!(u.dropped && u.ids.uid >= FIRST, "{u:?}");
        } else {
            let u = Unprivileged::choose().unwrap();
            assert!(!u.dropped);
            assert_eq!(u.ids.uid, geteuid().as_raw());
            assert_eq!(u.shell_prefix(), "");
        }
    }

    #[test]
    fn status_fields_are_shown_one_space_apart() {
        let status = "Name:\tsh\nUid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff\n";
        assert_eq!(status_field(status, "Uid"), "Uid: 0 0 0 0");
        assert_eq!(status_field(status, "CapEff"), "CapEff: 000001ffffffffff");
        assert_eq!(status_field(status, "Gid"), "Gid: (not found)");
    }
}
