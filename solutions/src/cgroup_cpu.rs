//! Chapter 4 · cgroups: capping CPU at half a core (reference solution)
//!
//! ```text
//!   ch04_cgroup_cpu --parent DIR --cpus CPUS -- CMD [ARGS]...
//! ```
//!
//! `detect` tells v1 from v2 by DIR's files, `create` (given) makes DIR/ch04-<pid> and
//! `set_limit` writes the CPU limit in that version's format, `join` moves the calling
//! process in (CMD's, between fork and exec), `remove` removes the cgroup. Chapter 5
//! calls `create`, `join` and `remove` again.

use std::path::{Path, PathBuf};

/// The kernel's default CFS period, in microseconds; docker's `--cpus` uses it too.
pub const PERIOD_US: u64 = 100_000;

/// The two cgroup interfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

// ANCHOR: create
/// The cgroup PARENT/NAME, with a limit of `cpus` CPUs in the interface PARENT speaks
/// (header, steps 1 to 3). When it fails, nothing is left in PARENT. Given.
pub fn create(parent: &Path, name: &str, cpus: f64) -> Result<PathBuf, String> {
    let version = detect(parent)?;
    let cgroup = parent.join(name);
    // A cgroup is a directory: mkdir creates it and the kernel fills it with its files.
    std::fs::create_dir(&cgroup).map_err(|e| format!("mkdir {}: {e}", cgroup.display()))?;
    if let Err(e) = set_limit(&cgroup, version, cpus) {
        // Nothing is in it yet, so it can go at once.
        let _ = remove(&cgroup);
        return Err(e);
    }
    Ok(cgroup)
}
// ANCHOR_END: create

// ANCHOR: detect
/// Which interface DIR speaks, from the files in it.
pub fn detect(parent: &Path) -> Result<Version, String> {
    if parent.join("cgroup.controllers").is_file() {
        // v2: a child only gets cpu.max if its parent hands the controller down.
        let enabled = std::fs::read_to_string(parent.join("cgroup.subtree_control"))
            .map_err(|e| format!("reading {}/cgroup.subtree_control: {e}", parent.display()))?;
        if !enabled.split_whitespace().any(|c| c == "cpu") {
            return Err(format!(
                "{} is a cgroup v2 directory, but the cpu controller is not enabled for its \
                 children: `echo +cpu > {}/cgroup.subtree_control` (run `learn-containers doctor`)",
                parent.display(),
                parent.display()
            ));
        }
        Ok(Version::V2)
    } else if parent.join("cpu.cfs_quota_us").is_file() {
        Ok(Version::V1)
    } else {
        Err(format!(
            "{} is not a cgroup with the cpu controller: it has neither cgroup.controllers \
             (v2) nor cpu.cfs_quota_us (v1). Run `learn-containers doctor`",
            parent.display()
        ))
    }
}
// ANCHOR_END: detect

// ANCHOR: set_limit
/// Writes the limit of `cpus` CPUs into `cgroup` in `version`'s files.
pub fn set_limit(cgroup: &Path, version: Version, cpus: f64) -> Result<(), String> {
    // CPU time in microseconds that the cgroup may use in every period.
    let quota = (cpus * PERIOD_US as f64).round() as u64;
    match version {
        Version::V2 => write(&cgroup.join("cpu.max"), &format!("{quota} {PERIOD_US}")),
        Version::V1 => {
            // Period first: the kernel checks the quota against the current period.
            write(&cgroup.join("cpu.cfs_period_us"), &PERIOD_US.to_string())?;
            write(&cgroup.join("cpu.cfs_quota_us"), &quota.to_string())
        }
    }
}
// ANCHOR_END: set_limit

// ANCHOR: join
/// Moves the process that calls it into `cgroup`. Everything it forks afterwards is born
/// there too.
pub fn join(cgroup: &Path) -> Result<(), String> {
    // "0" means the writing process itself, whatever its PID is in any namespace.
    write(&cgroup.join("cgroup.procs"), "0")
}
// ANCHOR_END: join

// ANCHOR: remove
/// Removes `cgroup` once every process in it has exited.
pub fn remove(cgroup: &Path) -> Result<(), String> {
    // One rmdir, never retried. Both programs call this after waitpid has reported CMD's
    // end (chapter 5: PID 1's, and with it the end of every process of its namespace).
    // An exiting process leaves its cgroup before its parent can see it exit, and a
    // zombie keeps no cgroup busy (man 7 cgroups, "Removing cgroups"). So EBUSY here is
    // never the kernel lagging behind: a live process is still in the cgroup, something
    // CMD started and left running, and waiting would only hide it.
    std::fs::remove_dir(cgroup).map_err(|e| {
        if e.raw_os_error() == Some(libc::EBUSY) {
            format!(
                "rmdir {}: {e}: a process is still in it (one that CMD started and left running?)",
                cgroup.display()
            )
        } else {
            format!("rmdir {}: {e}", cgroup.display())
        }
    })
}
// ANCHOR_END: remove

/// One interface file, one write; the kernel's error (EINVAL for a value it cannot use)
/// comes back with the file's name.
fn write(file: &Path, value: &str) -> Result<(), String> {
    std::fs::write(file, value).map_err(|e| format!("writing `{value}` to {}: {e}", file.display()))
}
