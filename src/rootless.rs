//! Rootless: without root, chapters that need only namespaces run inside a user
//! namespace that maps the user to root, with a mount namespace of its own (chroot and
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
/// entered one): its uid map, and init's seen from here, differ.
pub fn in_user_namespace() -> bool {
    let map = |pid: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/uid_map"))
            .map(|m| m.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    matches!((map("self"), map("1")), (Ok(a), Ok(b)) if a != b)
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
    unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS)
        .map_err(|e| format!("unshare(CLONE_NEWUSER) failed: {e}"))?;
    // setgroups must be denied before an unprivileged process may write gid_map.
    std::fs::write("/proc/self/setgroups", "deny").map_err(|e| format!("setgroups: {e}"))?;
    std::fs::write("/proc/self/uid_map", format!("0 {uid} 1"))
        .map_err(|e| format!("writing uid_map failed: {e}"))?;
    std::fs::write("/proc/self/gid_map", format!("0 {gid} 1"))
        .map_err(|e| format!("writing gid_map failed: {e}"))?;
    lessons::kernel::ns::make_root_private().map_err(|e| e.to_string())?;
    Ok(true)
}

/// Lessons and verifications of chapters that need no cgroups.
fn wants_namespaces_only(cli: &Cli) -> bool {
    let chapter = match &cli.command {
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
