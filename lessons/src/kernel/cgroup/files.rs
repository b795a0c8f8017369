//! Reading and writing cgroupfs interface files, and making the directories this tool
//! owns: the rules every controller's code follows.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use super::error::{CgroupError, hint_for, io_err};

pub(super) fn read_file(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(|e| io_err("read", path, e))
}

/// Interface files take a whole value in one write, and are never created: a missing
/// file means a missing controller, not something to make up.
pub(super) fn write_file(path: &Path, value: &str) -> Result<(), CgroupError> {
    fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|source| CgroupError::Write {
            path: path.to_path_buf(),
            value: value.to_string(),
            hint: hint_for(&source),
            source,
        })
}

/// mkdir, where an existing directory is fine and anything else (a symlink) is refused:
/// never follow a link out of the hierarchy.
pub(super) fn mkdir_ours(dir: &Path) -> Result<(), CgroupError> {
    match fs::create_dir(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err("create", dir, e)),
    }
    match fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        _ => Err(CgroupError::Refused {
            path: dir.to_path_buf(),
            reason: "it exists and is not a directory (a symlink?)",
        }),
    }
}

/// The pids of a `cgroup.procs` text.
pub(super) fn parse_pids(text: &str) -> Result<Vec<i32>, String> {
    text.split_whitespace()
        .map(|p| p.parse().map_err(|_| format!("`{p}` is not a pid")))
        .collect()
}

pub(super) fn read_pids(file: &Path) -> io::Result<Vec<i32>> {
    let text = fs::read_to_string(file)?;
    parse_pids(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Writes `+<controller>` to `dir/cgroup.subtree_control` unless it is already enabled.
/// Returns whether it wrote.
pub(super) fn enable_controller(dir: &Path, controller: &str) -> Result<bool, CgroupError> {
    let file = dir.join("cgroup.subtree_control");
    let enabled = read_file(&file)?;
    if enabled.split_whitespace().any(|c| c == controller) {
        return Ok(false);
    }
    write_file(&file, &format!("+{controller}"))?;
    Ok(true)
}

/// `key value` lines (memory.events, pids.events, memory.oom_control) into a map; lines
/// that do not have that shape are skipped.
pub(super) fn key_values(text: &str) -> BTreeMap<&str, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?, it.next()?.parse().ok()?))
        })
        .collect()
}

/// A name this tool may give a cgroup: one path component, not `cgroup.` anything.
pub(super) fn check_name(name: &str) -> Result<(), CgroupError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name == "." || name == ".." {
        "it names a directory that already exists"
    } else if name.contains('/') || name.contains('\0') {
        "it contains `/` or a NUL byte"
    } else if name.starts_with("cgroup.") || name.contains(' ') {
        "cgroupfs reserves `cgroup.` names and names must not contain spaces"
    } else {
        return Ok(());
    };
    Err(CgroupError::InvalidName {
        name: name.to_string(),
        reason,
    })
}
