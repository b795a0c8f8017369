//! Rootless: without root, chapters that need only namespaces, and `run`, run inside a
//! user namespace that maps the user to root, with a mount namespace of its own (chroot and
//! mounts need the capability in the namespace that owns the mounts). This must happen
//! first thing in main: unshare(CLONE_NEWUSER) fails once a process has threads.

use lessons::catalogue::Rootless;
use nix::sched::{CloneFlags, unshare};
use nix::unistd::{getegid, geteuid};

use crate::cli::{Cli, Command};

static FAILED: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Why rootless mode was needed but could not be entered, for the error that follows.
pub fn failure() -> Option<&'static str> {
    FAILED.get().map(String::as_str)
}

/// Whether this process runs in a user namespace other than init's (a rootless run
/// entered one).
pub fn in_user_namespace() -> bool {
    lessons::kernel::procfs::in_user_namespace()
}

/// Enters rootless mode when this command needs it; remembers why not if that fails.
pub fn enter(cli: &Cli) {
    if let Err(why) = try_enter(cli) {
        let _ = FAILED.set(why);
    }
}

fn try_enter(cli: &Cli) -> Result<bool, String> {
    if geteuid().is_root() || !wants_namespaces_only(cli) {
        return Ok(false);
    }
    let (uid, gid) = (geteuid().as_raw(), getegid().as_raw());
    // `run` makes its container's mount namespace itself; the chapters mount and chroot
    // in this process's.
    let own_mounts = !matches!(cli.command, Command::Run { .. });
    let mut flags = CloneFlags::CLONE_NEWUSER;
    if own_mounts {
        flags |= CloneFlags::CLONE_NEWNS;
    }
    unshare(flags).map_err(|e| format!("unshare(CLONE_NEWUSER) failed: {e}"))?;
    // setgroups must be denied before an unprivileged process may write gid_map.
    std::fs::write("/proc/self/setgroups", "deny").map_err(|e| format!("setgroups: {e}"))?;
    std::fs::write("/proc/self/uid_map", format!("0 {uid} 1"))
        .map_err(|e| format!("writing uid_map failed: {e}"))?;
    std::fs::write("/proc/self/gid_map", format!("0 {gid} 1"))
        .map_err(|e| format!("writing gid_map failed: {e}"))?;
    if own_mounts {
        lessons::kernel::ns::make_root_private().map_err(|e| e.to_string())?;
    }
    Ok(true)
}

/// Lessons and verifications of chapters that need no cgroups, and `run` (whose `--cpus`
/// then needs a delegated cgroup v2 subtree, which works from inside the namespace too).
fn wants_namespaces_only(cli: &Cli) -> bool {
    let chapter = match &cli.command {
        Command::Run { .. } => return true,
        Command::Lesson { chapter, .. } => Some(chapter.as_str()),
        Command::Verify {
            chapter,
            all: false,
            ..
        } => chapter.as_deref(),
        Command::Watch { chapter: None } => {
            let current = crate::workspace::state_dir()
                .and_then(|d| Ok(crate::progress::Progress::load(&d)?))
                .ok()
                .and_then(|p| crate::commands::watch_first(&p));
            return current.is_some_and(|c| c.rootless() == Rootless::UserNamespace);
        }
        Command::Watch { chapter } => chapter.as_deref(),
        _ => None,
    };
    chapter
        .and_then(lessons::find_chapter)
        .is_some_and(|c| c.rootless() == Rootless::UserNamespace)
}
