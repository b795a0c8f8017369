//! Chapter 6 · User namespace: root inside, nobody outside
//!
//! Read the chapter first: book/src/ch06-user-namespace.md, or watch `learn-containers lesson 6`.
//!
//! This file is where you work in chapter 6. The program, src/bin/ch06_user_namespace.rs
//! (given, nothing to change there), reads its arguments and forks; the child calls the
//! function below and then execs CMD, the parent waits for it:
//!
//! ```text
//!   ch06_user_namespace -- CMD [ARGS]...
//!       Run CMD in a new user namespace in which it is uid 0 and gid 0, mapped to the
//!       caller's uid and gid outside, one id each:
//!         /proc/PID/uid_map   0 UID 1      (UID: the caller's uid, outside)
//!         /proc/PID/gid_map   0 GID 1      (GID: the caller's gid, outside)
//!         /proc/PID/setgroups deny
//!       and exit with CMD's exit status (128+N if signal N killed it).
//!
//!       It must work for an unprivileged caller: no root, no newuidmap, no /etc/subuid.
//!       CMD is root from its first instruction: the maps are written before exec.
//!
//!   Example, as an ordinary user (uid 1000):
//!       ch06_user_namespace -- bash -c 'id -u; cat /proc/self/uid_map'
//!   prints 0, then `0 1000 1`.
//! ```
//!
//! You write one function, `root_in_new_user_namespace`, which the child calls in its
//! own process, before exec. `write_proc_self` is given: it writes one of the process's
//! own /proc files, and its error names the file.
//!
//! The book's sections "A user namespace with no map yet" and "Writing the maps"
//! explain each step; man 7 user_namespaces ("Defining user and group ID mappings:
//! writing to uid_map and gid_map", "The /proc/pid/setgroups file"), man 2 unshare
//! (CLONE_NEWUSER).
//!
//! Work where you see todo!(). Check your work with `learn-containers verify 6`;
//! stuck? `learn-containers hint 6`.

// ANCHOR: root_in_new_user_namespace
/// Puts the calling process into a new user namespace, as uid 0 and gid 0 there, mapped
/// to the uid and gid it had outside (one id each), with setgroups denied. Returns the
/// message of the first step that failed. Call it from a process with a single thread
/// (the kernel refuses a new user namespace to a threaded one).
pub fn root_in_new_user_namespace() -> Result<(), String> {
    // Four steps, in this order, each returning its error as the message:
    //   1. unshare(CLONE_NEWUSER): a new user namespace, with this process in it
    //      (nix::sched::unshare);
    //   2. "deny" into /proc/self/setgroups;
    //   3. "0 UID 1" into /proc/self/uid_map;
    //   4. "0 GID 1" into /proc/self/gid_map.
    // UID and GID are who this process is outside (nix::unistd::getuid and getgid). Ask
    // at the right moment: until uid_map is written, inside the new namespace, the
    // answer is 65534 (nobody).
    todo!("unshare(CLONE_NEWUSER), then setgroups, uid_map and gid_map")
}
// ANCHOR_END: root_in_new_user_namespace

/// Writes `text` to /proc/self/`file` (uid_map, gid_map, setgroups) in one write(2), as
/// the kernel wants it. The error names the file.
pub fn write_proc_self(file: &str, text: &str) -> Result<(), String> {
    std::fs::write(format!("/proc/self/{file}"), text)
        .map_err(|e| format!("writing {text:?} to /proc/self/{file}: {e}"))
}
