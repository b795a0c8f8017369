//! The progress file: which exercises passed, when, and the hash of the file that passed;
//! how many hints of each chapter were shown; each chapter's best quiz score; and which
//! reference solutions were looked at before the exercise passed. Written atomically
//! (temp file + rename). Entries this version does not know are kept as they are and
//! otherwise ignored; entries it knows but an older file lacks start empty.

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
    /// The best score of each chapter's quiz, by chapter slug.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub quiz: BTreeMap<String, QuizScore>,
    /// Reference solutions shown with `solution --force` before the exercise passed: when,
    /// by exercise id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub solution_seen: BTreeMap<String, String>,
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

/// A quiz's best result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizScore {
    /// Right answers.
    pub best: usize,
    /// Questions asked.
    pub of: usize,
    /// When that best was first reached, RFC 3339, UTC.
    pub at: String,
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
        self.passed
            .insert(id.to_owned(), Pass { at: now(), sha256 });
    }

    /// Records a quiz result; returns the best score after it (this one, if it is at
    /// least as good as every earlier one).
    pub fn record_quiz(&mut self, slug: &str, right: usize, of: usize) -> QuizScore {
        let better = self
            .quiz
            .get(slug)
            // A quiz whose number of questions changed starts over.
            .is_none_or(|b| b.of != of || right > b.best);
        if better {
            self.quiz.insert(
                slug.to_owned(),
                QuizScore {
                    best: right,
                    of,
                    at: now(),
                },
            );
        }
        self.quiz[slug].clone()
    }

    /// Records that the reference solution of `id` was shown before it passed.
    pub fn record_solution_seen(&mut self, id: &str) {
        self.solution_seen.entry(id.to_owned()).or_insert_with(now);
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

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The date of an RFC 3339 time: `2026-11-24`.
pub fn day(at: &str) -> String {
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
    fn an_older_file_loads_and_the_best_quiz_score_is_kept() {
        let dir = tempfile::Builder::new()
            .prefix("learn-containers-")
            .tempdir()
            .unwrap();
        // As written before quiz scores and seen solutions were recorded.
        std::fs::write(
            dir.path().join(FILE),
            r#"{"passed":{},"hints":{"chroot":2}}"#,
        )
        .unwrap();
        let mut p = Progress::load(dir.path()).unwrap();
        assert!(p.quiz.is_empty() && p.solution_seen.is_empty());
        assert_eq!(p.record_quiz("chroot", 3, 5).best, 3);
        let first = p.quiz["chroot"].at.clone();
        assert_eq!(
            p.record_quiz("chroot", 2, 5).best,
            3,
            "a worse try keeps the best"
        );
        assert_eq!(
            p.record_quiz("chroot", 3, 5).at,
            first,
            "a tie keeps its first date"
        );
        assert_eq!(p.record_quiz("chroot", 5, 5).best, 5);
        assert_eq!(
            p.record_quiz("chroot", 1, 4).best,
            1,
            "a changed quiz starts over"
        );
        p.record_solution_seen("ch01_chroot");
        p.save(dir.path()).unwrap();
        let back = Progress::load(dir.path()).unwrap();
        assert_eq!(back.quiz["chroot"].best, 1);
        assert!(back.solution_seen.contains_key("ch01_chroot"));
        assert_eq!(back.hints["chroot"], 2);
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
