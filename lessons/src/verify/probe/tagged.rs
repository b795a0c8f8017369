//! The processes a verification started, found by a token in their command line (the
//! scratch dir's random suffix, passed as an argument), and ended by pid.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::kernel::procfs;

/// Every live process whose arguments contain `token`.
pub fn tagged(token: &str) -> Vec<i32> {
    procfs::pids()
        .into_iter()
        .filter(|p| {
            procfs::alive(*p)
                && procfs::cmdline(*p).is_some_and(|a| a.iter().any(|x| x.contains(token)))
        })
        .collect()
}

/// The candidate itself carries the token in its arguments too, and so does a bash
/// subshell before it execs the sleeper: CMD is the bash whose parent is not a tagged bash.
pub fn find_cmd(token: &str) -> Option<i32> {
    let tagged = tagged(token);
    let is_bash = |p: i32| procfs::comm(p).as_deref() == Some("bash");
    tagged.iter().copied().filter(|p| is_bash(*p)).find(|p| {
        procfs::ppid(*p).is_none_or(|parent| !(tagged.contains(&parent) && is_bash(parent)))
    })
}

/// Ends whatever is left of the processes this verifier started (tagged with `token`).
pub fn kill_tagged(token: &str) {
    for p in tagged(token) {
        let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
    }
}
