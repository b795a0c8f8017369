//! Chapter 6 · User namespace: root inside, nobody outside (reference solution)
//!
//! ```text
//!   ch06_user_namespace -- CMD [ARGS]...
//! ```
//!
//! `root_in_new_user_namespace`, in the child before exec: who we are outside, read
//! first; unshare(CLONE_NEWUSER); "deny" into setgroups; `0 UID 1` into uid_map and
//! `0 GID 1` into gid_map. The given program forks, calls it in the child, execs CMD,
//! and waits in the parent.

use nix::sched::{CloneFlags, unshare};
use nix::unistd::{getgid, getuid};

// ANCHOR: root_in_new_user_namespace
/// Puts the calling process into a new user namespace, as uid 0 and gid 0 there, mapped
/// to the uid and gid it had outside (one id each), with setgroups denied. Returns the
/// message of the first step that failed. Call it from a process with a single thread
/// (the kernel refuses a new user namespace to a threaded one).
pub fn root_in_new_user_namespace() -> Result<(), String> {
    // Outside, now: once in the new namespace, and until uid_map is written, getuid()
    // answers 65534, the overflow uid that stands for "not mapped here".
    let (uid, gid) = (getuid(), getgid());
    unshare(CloneFlags::CLONE_NEWUSER).map_err(|e| format!("unshare(CLONE_NEWUSER): {e}"))?;
    // Before gid_map: an unprivileged process may map a gid only once setgroups(2) is
    // off for good in the namespace (dropping a group could open a file the group bars).
    write_proc_self("setgroups", "deny")?;
    // One line each, one id: all that the kernel lets an unprivileged process map, and
    // only its own ids.
    write_proc_self("uid_map", &format!("0 {uid} 1"))?;
    write_proc_self("gid_map", &format!("0 {gid} 1"))
}
// ANCHOR_END: root_in_new_user_namespace

/// Writes `text` to /proc/self/`file` (uid_map, gid_map, setgroups) in one write(2), as
/// the kernel wants it. The error names the file.
pub fn write_proc_self(file: &str, text: &str) -> Result<(), String> {
    std::fs::write(format!("/proc/self/{file}"), text)
        .map_err(|e| format!("writing {text:?} to /proc/self/{file}: {e}"))
}
