//! The guided demo of chapter 6: a user namespace with no map, the maps written as an
//! unprivileged process must write them (and refused when it does not), root inside
//! against root outside, the namespaces a user namespace unlocks, and util-linux's and
//! Podman's rootless modes. Every namespace is made in a forked child that first becomes
//! the unprivileged uid ([`Unprivileged`]: root picks one that owns nothing here, a user
//! stays themself), and is looked at from the host through /proc.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Context, Result};
use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::unistd::{Gid, Uid, User, getgid, getuid};

use crate::kernel::child::{self, emit, failed};
use crate::kernel::procfs;
use crate::kernel::scratch::Scratch;
use crate::kernel::userns::{self, Ids, RootOnly, Unprivileged};
use crate::present::Presenter;

use super::steps::{self, hold, host_reads, once, self_status, try_write, uid_and_caps};

pub const STEPS: usize = 5;

pub fn run(p: &mut dyn Presenter) -> Result<()> {
    let who = Unprivileged::choose()?;
    let scratch = Scratch::new()?;
    let dirs = prepare(&scratch, &who)?;
    no_map(p, &who)?;
    maps(p, &who)?;
    inside_outside(p, &who, &dirs)?;
    steps::unlocked(p, &who, &dirs.tmpfs)?;
    steps::side_by_side(p, &who)?;
    drop(scratch);
    Ok(())
}

/// Where the unprivileged uid works: a dir of its own to make files in, a dir to mount a
/// tmpfs on (in its own mount namespace), and a file only root may read.
struct Dirs {
    mine: PathBuf,
    tmpfs: PathBuf,
    root_only: RootOnly,
}

fn prepare(scratch: &Scratch, who: &Unprivileged) -> Result<Dirs> {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m))
            .with_context(|| format!("chmod {m:o} {}", p.display()))
    };
    // Others may pass through the scratch dir (not list it): the dropped uid needs to.
    mode(scratch.path(), 0o711)?;
    let mine = scratch.subdir("made-here")?;
    if who.dropped {
        nix::unistd::chown(
            &mine,
            Some(Uid::from_raw(who.ids.uid)),
            Some(Gid::from_raw(who.ids.gid)),
        )
        .with_context(|| format!("chown {}", mine.display()))?;
    }
    mode(&mine, 0o700)?;
    let tmpfs = scratch.subdir("tmpfs")?;
    let root_only = userns::root_only(scratch.path())?;
    Ok(Dirs {
        mine,
        tmpfs,
        root_only,
    })
}

/// Step 1: `unshare --user`, no map yet.
fn no_map(p: &mut dyn Presenter, who: &Unprivileged) -> Result<()> {
    let Ids { uid, gid } = who.ids;
    let pre = who.shell_prefix();
    let as_whom = if who.dropped {
        format!(
            "This lesson runs as root, and a user namespace made by root proves nothing about \
             privilege: every child below first drops to uid {uid} and gid {gid}, which own \
             nothing on this host (no passwd entry, no process, no /etc/subuid range)."
        )
    } else {
        format!("Everything below runs as you, uid {uid} and gid {gid}, with no privilege.")
    };
    p.step(
        "A user namespace with no map",
        &format!(
            "unshare(CLONE_NEWUSER) needs no privilege. The new namespace has no uid_map yet: \
             no uid inside stands for anything outside. The process that made it is looked at \
             from inside and from the host. {as_whom}"
        ),
    )?;
    p.shell(&format!(
        "{pre}unshare --user sh -c 'id; cat /proc/self/uid_map'"
    ));
    let held = hold(*who, || {
        emit(&format!(
            "before unshare: getuid() = {}, getgid() = {}",
            getuid(),
            getgid()
        ));
        userns::unshare_user(CloneFlags::empty())?;
        emit(&format!(
            "after unshare(CLONE_NEWUSER): getuid() = {}, getgid() = {}",
            getuid(),
            getgid()
        ));
        emit(&format!(
            "/proc/self/status inside: {}",
            uid_and_caps(&self_status())
        ));
        Ok(())
    })?;
    let pid = held.pid();
    for l in held.lines() {
        p.output(l);
    }
    p.kernel(&format!(
        "/proc/sys/kernel/overflowuid: {}",
        userns::overflow_uid()
    ));
    p.kernel(&host_reads(pid, "uid_map"));
    p.kernel(&host_reads(pid, "gid_map"));
    p.kernel(&format!(
        "/proc/{pid}/status from the host: {}",
        uid_and_caps(&userns::read_proc(pid, "status"))
    ));
    p.kernel(&format!(
        "/proc/{pid}/ns/user → {} · /proc/self/ns/user → {}",
        procfs::ns_link(pid, "user")?,
        procfs::ns_link(std::process::id() as i32, "user")?
    ));
    held.finish(Duration::from_secs(5));
    p.say(
        "Inside, every uid the kernel cannot translate reads as the overflow uid, 65534 \
         (nobody). The host still sees the real uid. And CapEff is full: the creator of a user \
         namespace has every capability in it, and only in it. It owns nothing yet, so they \
         are worth nothing outside.",
    );
    p.shell(&format!(
        "{pre}unshare --user cat /proc/self/status | grep -E '^(Uid|CapEff)'"
    ));
    // cat, and the filter here: grep is not on every host (a busybox system has no link).
    let cat = rootfs_builder::resolve_binary("cat")?.display().to_string();
    let lines = once(*who, move || {
        userns::unshare_user(CloneFlags::empty())?;
        emit(&child::exec(&[&cat, "/proc/self/status"]));
        Ok(())
    })?;
    let wanted: Vec<String> = lines
        .iter()
        .filter(|l| l.starts_with("Uid:") || l.starts_with("CapEff:"))
        .cloned()
        .collect();
    // Nothing to filter: an error, shown whole.
    let lines = if wanted.is_empty() { lines } else { wanted };
    for l in lines {
        p.output(&l.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    p.say(
        "After exec, CapEff is empty: execve(2) recomputes capabilities from the uid, and 65534 \
         is not 0. The map is what makes a process root inside, across exec.",
    );
    Ok(())
}

/// Step 2: setgroups, uid_map, gid_map; the wrong order and a range; newuidmap.
fn maps(p: &mut dyn Presenter, who: &Unprivileged) -> Result<()> {
    let Ids { uid, gid } = who.ids;
    let pre = who.shell_prefix();
    p.step(
        "Writing the maps",
        "uid_map and gid_map may each be written once, by a process with CAP_SETUID (CAP_SETGID) \
         in the namespace. A writer without privilege in the parent namespace may write one line \
         mapping its own uid, and a gid_map only after `deny` is in setgroups. The child writes \
         its own files, in that order, and the host reads them back.",
    )?;
    p.shell(&format!("{pre}unshare --user sleep infinity &"));
    p.shell("echo deny > /proc/PID/setgroups          # as the same uid, from outside");
    p.shell(&format!("echo '0 {uid} 1' > /proc/PID/uid_map"));
    p.shell(&format!("echo '0 {gid} 1' > /proc/PID/gid_map"));
    let held = hold(*who, move || {
        userns::unshare_user(CloneFlags::empty())?;
        emit(&try_write("setgroups", "deny"));
        emit(&try_write("uid_map", &format!("0 {uid} 1")));
        emit(&try_write("gid_map", &format!("0 {gid} 1")));
        emit(&format!("getuid() = {}, getgid() = {}", getuid(), getgid()));
        emit(&format!(
            "once more: {}",
            try_write("uid_map", &format!("0 {uid} 1"))
        ));
        Ok(())
    })?;
    let pid = held.pid();
    for l in held.lines() {
        p.output(l);
    }
    for file in ["setgroups", "uid_map", "gid_map"] {
        p.kernel(&host_reads(pid, file));
    }
    held.finish(Duration::from_secs(5));
    p.say("Now the same writes, wrong. gid_map before setgroups, then in the right order:");
    let lines = once(*who, move || {
        userns::unshare_user(CloneFlags::empty())?;
        emit(&try_write("gid_map", &format!("0 {gid} 1")));
        emit(&try_write("setgroups", "deny"));
        emit(&try_write("gid_map", &format!("0 {gid} 1")));
        Ok(())
    })?;
    lines.iter().for_each(|l| p.kernel(l));
    let overflow = userns::overflow_uid();
    p.say(&format!(
        "A range, {}then the one line that is allowed:",
        if uid == overflow {
            String::new()
        } else {
            format!("the uid getuid() returns after unshare ({overflow}, not yours), ")
        }
    ));
    let lines = once(*who, move || {
        userns::unshare_user(CloneFlags::empty())?;
        emit(&try_write("uid_map", &format!("0 {uid} 65536")));
        if getuid().as_raw() != uid {
            emit(&try_write("uid_map", &format!("0 {} 1", getuid())));
        }
        emit(&try_write("uid_map", &format!("0 {uid} 1")));
        Ok(())
    })?;
    lines.iter().for_each(|l| p.kernel(l));
    p.say(
        "EPERM each time, and no partial write: a map is all or nothing. Mapping more than one \
         uid needs CAP_SETUID in the parent namespace, which the uid here lacks. For users, \
         shadow-utils' setuid helpers newuidmap and newgidmap write ranges granted in \
         /etc/subuid and /etc/subgid (lines `name:first:count`).",
    );
    subordinate(p, who)
}

/// What /etc/subuid grants this uid, and whether newuidmap is here.
fn subordinate(p: &mut dyn Presenter, who: &Unprivileged) -> Result<()> {
    let uid = who.ids.uid;
    let name = User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name);
    p.shell(&format!(
        "grep -E '^({}{uid}):' /etc/subuid; command -v newuidmap",
        name.as_ref().map(|n| format!("{n}|")).unwrap_or_default()
    ));
    match userns::subordinate_lines("/etc/subuid", name.as_deref(), uid) {
        None => p.kernel("/etc/subuid: no such file"),
        Some(l) if l.is_empty() => p.kernel(&format!("/etc/subuid: no line for uid {uid}")),
        Some(l) => p.kernel(&format!("/etc/subuid: {}", l.join(" / "))),
    }
    match which::which("newuidmap") {
        Ok(path) => p.kernel(&format!("newuidmap: {}", path.display())),
        Err(_) => p.kernel("newuidmap: not installed"),
    }
    p.say(if who.dropped {
        "The uid this lesson works as has no name and no range, on purpose: it owns nothing, so \
         it can map only itself. A user with a line such as `ana:100000:65536` could run \
         `newuidmap PID 0 UID 1 1 100000 65536` (package uidmap on Debian and Ubuntu, \
         shadow-utils on Fedora) and be root plus 65536 more uids inside."
    } else {
        "With a line such as `ana:100000:65536` and newuidmap installed (package uidmap on \
         Debian and Ubuntu, shadow-utils on Fedora), `newuidmap PID 0 UID 1 1 100000 65536` maps \
         you to 0 and 65536 more uids inside; only an administrator edits /etc/subuid."
    });
    Ok(())
}

/// Step 3: a file made inside, a root-only file, one process read from both sides.
fn inside_outside(p: &mut dyn Presenter, who: &Unprivileged, dirs: &Dirs) -> Result<()> {
    let uid = who.ids.uid;
    let pre = who.shell_prefix();
    p.step(
        "Root inside is not root outside",
        "With the maps written the child is uid 0 inside. It makes a file in a directory that \
         belongs to its uid, tries to open a file only root may read, and reads its own status; \
         the host looks at the same file and the same process.",
    )?;
    let made = dirs.mine.join("made-inside");
    let root_only = dirs.root_only.path().map(Path::to_path_buf);
    let ro = root_only
        .as_ref()
        .map_or("/etc/shadow".to_owned(), |r| r.display().to_string());
    p.shell(&format!(
        "{pre}unshare --user --map-root-user sh -c 'touch {m}; ls -ln {m} {ro}; cat {ro}; grep -E \"^(Uid|CapEff)\" /proc/self/status'",
        m = made.display()
    ));
    let (file, closed) = (made.clone(), root_only.clone());
    let ids = who.ids;
    let held = hold(*who, move || {
        userns::unshare_user(CloneFlags::empty())?;
        userns::map_root("self", ids)?;
        std::fs::write(&file, "made inside\n")
            .with_context(|| format!("create {}", file.display()))?;
        let owner = |p: &Path| {
            std::fs::metadata(p).map_or_else(
                |e| e.to_string(),
                |m| format!("uid {} gid {}", m.uid(), m.gid()),
            )
        };
        emit(&format!("stat {} inside: {}", file.display(), owner(&file)));
        if let Some(f) = &closed {
            emit(&format!("stat {} inside: {}", f.display(), owner(f)));
            let call = format!("open(\"{}\", O_RDONLY)", f.display());
            emit(&match std::fs::File::open(f) {
                Ok(_) => format!("{call}: opened"),
                Err(e) => failed(&call, Errno::from_raw(e.raw_os_error().unwrap_or(0))),
            });
        }
        emit(&format!(
            "/proc/self/status inside: {}",
            uid_and_caps(&self_status())
        ));
        Ok(())
    })?;
    let pid = held.pid();
    for l in held.lines() {
        p.output(l);
    }
    let host_owner = |f: &Path| {
        std::fs::symlink_metadata(f).map_or_else(
            |e| e.to_string(),
            |m| {
                format!(
                    "uid {} gid {} mode {:o}",
                    m.uid(),
                    m.gid(),
                    m.mode() & 0o7777
                )
            },
        )
    };
    p.kernel(&format!(
        "stat {} on the host: {}",
        made.display(),
        host_owner(&made)
    ));
    if let Some(f) = &root_only {
        p.kernel(&format!(
            "stat {} on the host: {}",
            f.display(),
            host_owner(f)
        ));
    }
    p.kernel(&format!(
        "/proc/{pid}/status from the host: {}",
        uid_and_caps(&userns::read_proc(pid, "status"))
    ));
    held.finish(Duration::from_secs(5));
    let planted = match &dirs.root_only {
        RootOnly::Planted(_) => "root planted it, mode 0600: ",
        RootOnly::Host(_) => "",
        RootOnly::None => {
            p.say("(No root-only file to try here: none of /etc/shadow, /etc/gshadow, /proc/1/environ is closed to you.)");
            ""
        }
    };
    p.say(&format!(
        "The file is 0 inside and {uid} on disk: the kernel stores the outside uid and translates \
         it through the map for stat(2). The root-only file ({planted}owner 0, which is not \
         mapped, so inside it reads as 65534) stays closed: permission checks use the outside \
         ids, and CAP_DAC_OVERRIDE counts only over files whose uid and gid are mapped. Uid: is \
         translated for each reader; CapEff is the same mask from both sides, checked against \
         the owner of each object."
    ));
    Ok(())
}
