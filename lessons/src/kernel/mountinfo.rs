//! The one place that parses `/proc/PID/mountinfo`.
//!
//! Each line describes one mount (see proc(5), "/proc/pid/mountinfo"):
//!
//! ```text
//! 36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//! (1)(2)(3)   (4)   (5)         (6)       (7)     (8) (9)   (10)      (11)
//! ```
//!
//! (7) is zero or more optional fields (`shared:N`, `master:N`, `propagate_from:N`,
//! `unbindable`) ended by the `-` separator (8). The kernel escapes space, tab, newline
//! and backslash in paths as `\040`, `\011`, `\012` and `\134`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Unique id of the mount (may be reused after umount).
    pub id: u32,
    /// Id of the parent mount (itself, or a mount outside this namespace, for the root).
    pub parent: u32,
    /// `major:minor` of the filesystem's device, e.g. `0:21`.
    pub dev: String,
    /// The directory of the filesystem that forms the root of this mount (unescaped).
    pub root: String,
    /// Where it is mounted, relative to the reading process's root (unescaped).
    pub mount_point: PathBuf,
    /// Per-mount options, e.g. `rw,nosuid,relatime`.
    pub options: String,
    /// Optional fields, e.g. `["shared:1"]` or `["shared:3", "master:1"]`.
    pub optional: Vec<String>,
    /// Filesystem type, e.g. `ext4`, `tmpfs`, `cgroup2`.
    pub fstype: String,
    /// Mount source, e.g. `/dev/vda` or `tmpfs` (unescaped).
    pub source: String,
    /// Per-superblock options, e.g. `rw,cpu,cpuacct` for a cgroup v1 hierarchy.
    pub super_options: String,
    /// The line as the kernel wrote it, kept so learners see exactly what the kernel said.
    raw: String,
}

impl Mount {
    /// The peer group id from `shared:N`, if the mount is shared.
    pub fn shared_peer(&self) -> Option<u32> {
        self.tagged("shared:")
    }

    /// The peer group this mount receives propagation from (`master:N`), if it is a slave.
    pub fn master(&self) -> Option<u32> {
        self.tagged("master:")
    }

    /// Whether mount events propagate to and from peers (`shared:N`).
    pub fn is_shared(&self) -> bool {
        self.shared_peer().is_some()
    }

    /// The propagation type as mount(8) and findmnt(8) name it: `shared`, `slave`,
    /// `private` or `unbindable`. A mount that is both a slave and shared (common after
    /// entering a user namespace) reads `shared,slave`, as findmnt writes it.
    pub fn propagation(&self) -> &'static str {
        let unbindable = self.optional.iter().any(|f| f == "unbindable");
        match (self.is_shared(), self.master().is_some()) {
            (true, true) => "shared,slave",
            (true, false) => "shared",
            (false, true) => "slave",
            (false, false) if unbindable => "unbindable",
            (false, false) => "private",
        }
    }

    /// The original line, for showing learners.
    pub fn line(&self) -> String {
        self.raw.clone()
    }

    fn tagged(&self, tag: &str) -> Option<u32> {
        self.optional
            .iter()
            .find_map(|f| f.strip_prefix(tag).and_then(|n| n.parse().ok()))
    }
}

/// What can go wrong reading or parsing mountinfo.
#[derive(Debug, thiserror::Error)]
pub enum MountinfoError {
    #[error("cannot read {}: {source}\n  the process may have exited, or /proc is not mounted", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("malformed mountinfo line {line_no} ({reason}): {line}")]
    Malformed {
        /// 1-based line number.
        line_no: usize,
        line: String,
        reason: String,
    },
}

/// Parses the full text of a mountinfo file. Blank lines are ignored; any other line that
/// does not have the documented shape is an error naming that line.
pub fn parse(text: &str) -> Result<Vec<Mount>, MountinfoError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_line(l).map_err(|reason| malformed(i + 1, l, reason)))
        .collect()
}

/// Reads and parses `/proc/<pid>/mountinfo`; `None` reads the calling process's own.
pub fn read(pid: Option<i32>) -> Result<Vec<Mount>, MountinfoError> {
    let path = match pid {
        Some(pid) => PathBuf::from(format!("/proc/{pid}/mountinfo")),
        None => PathBuf::from("/proc/self/mountinfo"),
    };
    let text = std::fs::read_to_string(&path).map_err(|source| MountinfoError::Read {
        path: path.clone(),
        source,
    })?;
    parse(&text)
}

/// The topmost mount whose mount point is exactly `path`. When several mounts are stacked
/// on the same point, the one no other candidate is mounted on wins; among equals, the
/// last listed.
pub fn mount_at<'a>(mounts: &'a [Mount], path: &Path) -> Option<&'a Mount> {
    topmost(mounts.iter().filter(|m| m.mount_point == path).collect())
}

/// The mount that `path` lives on: the one with the longest mount point that is a prefix
/// of `path` (compared component by component); topmost when stacked.
pub fn containing<'a>(mounts: &'a [Mount], path: &Path) -> Option<&'a Mount> {
    let depth = mounts
        .iter()
        .filter(|m| path.starts_with(&m.mount_point))
        .map(|m| m.mount_point.components().count())
        .max()?;
    topmost(
        mounts
            .iter()
            .filter(|m| path.starts_with(&m.mount_point))
            .filter(|m| m.mount_point.components().count() == depth)
            .collect(),
    )
}

/// Among mounts on the same point, the one at the top of the stack: a mount that has
/// another candidate mounted over it (as its parent) is covered.
fn topmost(candidates: Vec<&Mount>) -> Option<&Mount> {
    let uncovered = candidates
        .iter()
        .rev()
        .find(|m| !candidates.iter().any(|o| o.parent == m.id && o.id != m.id));
    uncovered.or(candidates.last()).copied()
}

fn malformed(line_no: usize, line: &str, reason: String) -> MountinfoError {
    MountinfoError::Malformed {
        line_no,
        line: line.to_string(),
        reason,
    }
}

fn parse_line(line: &str) -> Result<Mount, String> {
    // Split on single spaces, not runs of whitespace: an empty source is an empty field.
    let fields: Vec<&str> = line.trim_end_matches(['\n', '\r']).split(' ').collect();
    let sep = fields
        .iter()
        .position(|f| *f == "-")
        .ok_or("no ` - ` separator before the filesystem type")?;
    if sep < 6 {
        return Err(format!(
            "expected 6 fields before ` - `, found {}",
            sep.min(fields.len())
        ));
    }
    let after = &fields[sep + 1..];
    if after.len() < 3 {
        return Err(format!(
            "expected filesystem type, source and super options after ` - `, found {} field(s)",
            after.len()
        ));
    }
    let number = |what: &str, s: &str| {
        s.parse::<u32>()
            .map_err(|_| format!("{what} `{s}` is not a number"))
    };
    let dev = fields[2];
    let (major, minor) = dev
        .split_once(':')
        .ok_or_else(|| format!("device `{dev}` is not major:minor"))?;
    number("device major", major)?;
    number("device minor", minor)?;
    Ok(Mount {
        id: number("mount id", fields[0])?,
        parent: number("parent id", fields[1])?,
        dev: dev.to_string(),
        root: lossy(unescape(fields[3])),
        mount_point: PathBuf::from(OsString::from_vec(unescape(fields[4]))),
        options: fields[5].to_string(),
        optional: fields[6..sep].iter().map(|s| s.to_string()).collect(),
        fstype: after[0].to_string(),
        source: lossy(unescape(after[1])),
        // Anything past the third field can only come from unescaped spaces in options;
        // keep it rather than lose it.
        super_options: after[2..].join(" "),
        raw: line.to_string(),
    })
}

fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Undoes the kernel's `\ooo` octal escapes. Paths need not be UTF-8, so this works on
/// bytes; a backslash not followed by three octal digits is kept as it is.
fn unescape(field: &str) -> Vec<u8> {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let digits = &b[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let v = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}
