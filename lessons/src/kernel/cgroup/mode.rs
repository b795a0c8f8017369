//! The host's cgroup layout, decided in one place: which interface each hierarchy speaks
//! and whether the host is v1, hybrid or v2, from statfs(2) on /sys/fs/cgroup and
//! /sys/fs/cgroup/unified (CGROUP2_SUPER_MAGIC).
//!
//! - **cgroup v2**: /sys/fs/cgroup is a cgroup2 mount, one tree for every controller;
//! - **cgroup v1**: /sys/fs/cgroup is a tmpfs holding one cgroup mount per hierarchy
//!   (`cpu`, `memory`, `pids`, ... sometimes co-mounted as `cpu,cpuacct`);
//! - **hybrid**: v1 as above plus a cgroup2 mount at /sys/fs/cgroup/unified, which
//!   usually holds no controllers.

use std::fmt;
use std::fs;
use std::path::Path;

use serde::Serialize;

/// Where cgroup filesystems are mounted on every mainstream distribution.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// The directory, in each hierarchy, that holds every cgroup this tool creates.
pub const OURS: &str = "learn-containers";

/// No cgroup filesystem where one was looked for, and the evidence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no usable cgroup filesystem ({how})\n  run `learn-containers doctor` for how to mount one"
)]
pub struct NotMounted {
    pub how: String,
}

/// Which cgroup interface a hierarchy speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Version {
    V1,
    V2,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V1 => "cgroup v1",
            Version::V2 => "cgroup v2",
        })
    }
}

/// How the host lays out its cgroup filesystems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    V1,
    Hybrid,
    V2,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::V1 => "cgroup v1",
            Mode::Hybrid => "hybrid",
            Mode::V2 => "cgroup v2",
        })
    }
}

/// The filesystem type statfs(2) reports for a path, as far as detection cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FsKind {
    Cgroup2,
    Cgroup1,
    Tmpfs,
    Other,
}

impl fmt::Display for FsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FsKind::Cgroup2 => "cgroup2",
            FsKind::Cgroup1 => "cgroup (v1)",
            FsKind::Tmpfs => "tmpfs",
            FsKind::Other => "neither cgroup nor tmpfs",
        })
    }
}

/// The detected mode and the evidence for it, worded for `doctor` and for learners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    pub mode: Mode,
    /// e.g. "statfs: /sys/fs/cgroup is tmpfs, /sys/fs/cgroup/unified is cgroup2".
    pub how: String,
}

/// Decides the mode from the filesystem types of `/sys/fs/cgroup` and of
/// `/sys/fs/cgroup/unified` (`None`: the path does not exist).
pub fn classify(root: Option<FsKind>, unified: Option<FsKind>) -> Option<Mode> {
    match (root, unified) {
        (Some(FsKind::Cgroup2), _) => Some(Mode::V2),
        (_, Some(FsKind::Cgroup2)) => Some(Mode::Hybrid),
        (Some(FsKind::Tmpfs | FsKind::Cgroup1), _) => Some(Mode::V1),
        _ => None,
    }
}

/// The real filesystem probe: statfs(2) and the magic numbers from statfs(2)'s man page.
pub fn statfs_kind(path: &Path) -> Option<FsKind> {
    use nix::sys::statfs::{CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, TMPFS_MAGIC, statfs};
    let t = statfs(path).ok()?.filesystem_type();
    Some(if t == CGROUP2_SUPER_MAGIC {
        FsKind::Cgroup2
    } else if t == CGROUP_SUPER_MAGIC {
        FsKind::Cgroup1
    } else if t == TMPFS_MAGIC {
        FsKind::Tmpfs
    } else {
        FsKind::Other
    })
}

/// Detects the mode of the cgroup tree at `root`, asking `fs_kind` for filesystem types
/// ([`statfs_kind`] on a real host, a table in tests). A tmpfs root only counts as v1 when
/// at least one of its subdirectories is a v1 cgroup mount.
pub fn detect_mode(
    root: &Path,
    fs_kind: impl Fn(&Path) -> Option<FsKind>,
) -> Result<Detection, NotMounted> {
    let unified = root.join("unified");
    let root_kind = fs_kind(root);
    let unified_kind = fs_kind(&unified);
    let describe = |p: &Path, k: Option<FsKind>| match k {
        Some(k) => format!("{} is {k}", p.display()),
        None => format!("{} does not exist", p.display()),
    };
    let mut how = format!("statfs: {}", describe(root, root_kind));
    if root_kind != Some(FsKind::Cgroup2) {
        how.push_str(&format!(", {}", describe(&unified, unified_kind)));
    }
    let Some(mode) = classify(root_kind, unified_kind) else {
        return Err(NotMounted { how });
    };
    if mode != Mode::V2 && root_kind != Some(FsKind::Cgroup1) {
        let mut v1: Vec<String> = fs::read_dir(root)
            .map(|rd| {
                rd.flatten()
                    // Symlinks such as cpu -> cpu,cpuacct name the same mount twice.
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .filter(|e| fs_kind(&e.path()) == Some(FsKind::Cgroup1))
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v1.sort();
        if v1.is_empty() {
            how.push_str(", and no cgroup v1 hierarchy is mounted under it");
            if mode == Mode::V1 {
                return Err(NotMounted { how });
            }
        } else {
            how.push_str(&format!("; v1 hierarchies: {}", v1.join(" ")));
        }
    }
    Ok(Detection { mode, how })
}
