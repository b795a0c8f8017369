//! The progress file: which exercises passed, when, and the hash of the file that passed;
//! and how many hints of each chapter were shown. Written atomically (temp file + rename).
//! Entries this version does not know are kept as they are and otherwise ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Progress {
    #[serde(default)]
    pub passed: BTreeMap<String, Pass>,
    #[serde(default)]
    pub hints: BTreeMap<String, usize>,
    /// Anything else found in the file, written back untouched.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pass {
    /// RFC 3339, UTC.
    pub at: String,
    pub sha256: String,
}

/// Where an exercise stands for `list`.
#[derive(Debug, PartialEq, Eq)]
pub enum Standing {
    NotStarted,
    Started,
    Passed { date: String },
    EditedSincePass { date: String },
}

const FILE: &str = "progress.json";

impl Progress {
    /// Reads the progress file. A missing file is a fresh start; an unreadable one is
    /// moved aside (never silently overwritten) and reported.
    pub fn load(dir: &Path) -> Result<Progress> {
        let path = dir.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Progress::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        match serde_json::from_str(&text) {
            Ok(p) => Ok(p),
            Err(e) => {
                let aside = path.with_extension("json.unreadable");
                std::fs::rename(&path, &aside)?;
                eprintln!(
                    "warning: {} could not be read ({e}); kept it as {} and started afresh",
                    path.display(),
                    aside.display()
                );
                Ok(Progress::default())
            }
        }
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer_pretty(&mut tmp, self)?;
        use std::io::Write;
        tmp.write_all(b"\n")?;
        tmp.as_file().sync_all()?;
        tmp.persist(dir.join(FILE))
            .with_context(|| format!("writing {}", dir.join(FILE).display()))?;
        Ok(())
    }

    pub fn record_pass(&mut self, id: &str, sha256: String) {
        let at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        self.passed.insert(id.to_owned(), Pass { at, sha256 });
    }

    /// Compares the recorded pass with the file as it is now, and with the shipped text.
    pub fn standing(&self, id: &str, current: Option<&[u8]>, pristine: &str) -> Standing {
        match (self.passed.get(id), current) {
            (Some(p), Some(now)) if hash(now) != p.sha256 => {
                Standing::EditedSincePass { date: day(&p.at) }
            }
            (Some(p), _) => Standing::Passed { date: day(&p.at) },
            (None, Some(now)) if now != pristine.as_bytes() => Standing::Started,
            _ => Standing::NotStarted,
        }
    }
}

fn day(at: &str) -> String {
    at.get(..10).unwrap_or(at).to_owned()
}

pub fn hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn file_hash(path: &PathBuf) -> Option<String> {
    std::fs::read(path).ok().map(|b| hash(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_unknown_entries() {
        let dir = tempfile::Builder::new()
            .prefix("learn-containers-")
            .tempdir()
            .unwrap();
        std::fs::write(
            dir.path().join(FILE),
            r#"{"passed":{"ch99_future":{"at":"2026-11-24T10:00:00Z","sha256":"ab"}},"theme":"dark"}"#,
        )
        .unwrap();
        let mut p = Progress::load(dir.path()).unwrap();
        p.record_pass("ch01_chroot", hash(b"x"));
        p.save(dir.path()).unwrap();
        let back = Progress::load(dir.path()).unwrap();
        assert!(back.passed.contains_key("ch99_future"));
        assert!(back.passed.contains_key("ch01_chroot"));
        assert_eq!(back.other["theme"], "dark");
    }

    #[test]
    fn standing_sees_edits_after_a_pass() {
        let mut p = Progress::default();
        assert_eq!(
            p.standing("e", Some(b"shipped"), "shipped"),
            Standing::NotStarted
        );
        assert_eq!(p.standing("e", Some(b"mine"), "shipped"), Standing::Started);
        p.record_pass("e", hash(b"mine"));
        assert!(matches!(
            p.standing("e", Some(b"mine"), "shipped"),
            Standing::Passed { .. }
        ));
        assert!(matches!(
            p.standing("e", Some(b"mine, edited"), "shipped"),
            Standing::EditedSincePass { .. }
        ));
    }

    #[test]
    fn unreadable_file_is_moved_aside() {
        let dir = tempfile::Builder::new()
            .prefix("learn-containers-")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join(FILE), "{not json").unwrap();
        let p = Progress::load(dir.path()).unwrap();
        assert!(p.passed.is_empty());
        assert!(dir.path().join("progress.json.unreadable").exists());
    }
}
