//! The learner's working copy of the exercises. The shipped exercises are stored once, in
//! lessons/exercises (a crate of the workshop, built and checked like the rest), and
//! embedded in this binary; the learner works in a copy made from them the first time a
//! command needs it (`exercises/` in their clone), which is never overwritten except by
//! `reset`, one file at a time. Its Cargo.toml makes it a workspace of its own, so the
//! workshop's build never compiles a learner's work in progress.

use std::path::{Path, PathBuf};

use crate::catalogue::Exercise;
use crate::chapters::chapters;
use crate::error::{Context, Result};

/// The working copy's Cargo.toml.
pub const MANIFEST: &str = include_str!("../exercises/learner.Cargo.toml");

/// The files of the working copy that are no exercise's own (path, shipped text): the
/// library's root, and the programs of chapters 2, 4, 6, 8 and 9, which only call the library
/// modules those chapters have the learner write. Made when missing, like the rest, but
/// never what `reset` restores.
pub const SHARED: &[(&str, &str)] = &[
    ("src/lib.rs", include_str!("../exercises/src/lib.rs")),
    (
        "src/bin/ch02_pid_namespace.rs",
        include_str!("../exercises/src/bin/ch02_pid_namespace.rs"),
    ),
    (
        "src/bin/ch04_cgroup_cpu.rs",
        include_str!("../exercises/src/bin/ch04_cgroup_cpu.rs"),
    ),
    (
        "src/bin/ch06_user_namespace.rs",
        include_str!("../exercises/src/bin/ch06_user_namespace.rs"),
    ),
    (
        "src/netlink.rs",
        include_str!("../exercises/src/netlink.rs"),
    ),
    (
        "src/bin/ch07_network.rs",
        include_str!("../exercises/src/bin/ch07_network.rs"),
    ),
    (
        "src/bin/ch08_more_namespaces.rs",
        include_str!("../exercises/src/bin/ch08_more_namespaces.rs"),
    ),
    (
        "src/bin/ch09_memory_pids.rs",
        include_str!("../exercises/src/bin/ch09_memory_pids.rs"),
    ),
];

/// A working copy of the exercises crate.
#[derive(Debug, Clone)]
pub struct WorkDir {
    dir: PathBuf,
}

impl WorkDir {
    pub fn at(dir: &Path) -> WorkDir {
        WorkDir {
            dir: dir.to_path_buf(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> PathBuf {
        self.dir.join("Cargo.toml")
    }

    /// Where exercise `e` is in the working copy.
    pub fn file(&self, e: &Exercise) -> PathBuf {
        self.dir.join(e.file())
    }

    /// Makes whatever of the working copy is missing from the shipped files: the
    /// manifest, `lock` as its Cargo.lock (the workshop's, so it builds with the same
    /// crates), the shared files and every exercise. Nothing that exists is touched.
    /// Returns what it made.
    pub fn ensure(&self, lock: Option<&Path>) -> Result<Vec<PathBuf>> {
        let mut made = Vec::new();
        let mut put = |path: PathBuf, text: &[u8]| -> Result<()> {
            if path.exists() {
                return Ok(());
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("mkdir {}", parent.display()))?;
            }
            std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
            made.push(path);
            Ok(())
        };
        put(self.manifest(), MANIFEST.as_bytes())?;
        if let Some(lock) = lock
            && let Ok(text) = std::fs::read(lock)
        {
            put(self.dir.join("Cargo.lock"), &text)?;
        }
        for (path, text) in SHARED {
            put(self.dir.join(path), text.as_bytes())?;
        }
        for c in chapters() {
            for e in c.exercises {
                put(self.file(e), e.shipped.as_bytes())?;
            }
        }
        Ok(made)
    }

    /// Puts exercise `e` back as shipped.
    pub fn restore(&self, e: &Exercise) -> Result<()> {
        let path = self.file(e);
        std::fs::write(&path, e.shipped).with_context(|| format!("write {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_working_copy_is_made_once_and_never_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let w = WorkDir::at(&tmp.path().join("exercises"));
        let made = w.ensure(None).unwrap();
        let count: usize = chapters().iter().map(|c| c.exercises.len()).sum();
        assert_eq!(made.len(), count + SHARED.len() + 1, "{made:?}");
        let e = &chapters()[0].exercises[0];
        std::fs::write(w.file(e), "// my work\n").unwrap();
        assert!(w.ensure(None).unwrap().is_empty());
        assert_eq!(std::fs::read_to_string(w.file(e)).unwrap(), "// my work\n");
        w.restore(e).unwrap();
        assert_eq!(std::fs::read_to_string(w.file(e)).unwrap(), e.shipped);
    }

    #[test]
    fn every_file_of_the_exercises_crate_is_shipped_once() {
        // What the working copy is made of: the shared files and the exercises, each
        // path once, and together every .rs file of lessons/exercises/src.
        let mut shipped: Vec<String> = SHARED.iter().map(|(p, _)| p.to_string()).collect();
        for c in chapters() {
            shipped.extend(c.exercises.iter().map(|e| e.file()));
        }
        shipped.sort();
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("exercises");
        let mut found = Vec::new();
        for dir in ["src", "src/bin"] {
            for entry in std::fs::read_dir(crate_dir.join(dir)).unwrap().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".rs") {
                    found.push(format!("{dir}/{name}"));
                }
            }
        }
        found.sort();
        assert_eq!(shipped, found);
    }

    #[test]
    fn the_given_programs_are_the_same_in_the_solutions() {
        // The programs of chapters 2, 4 and 6 only call the library: the learner's and the
        // reference answers' are one text, so that the solution pages show what the
        // learner has, and a solution file can be copied over an exercise.
        let solutions = Path::new(env!("CARGO_MANIFEST_DIR")).join("../solutions");
        for (path, text) in SHARED {
            let theirs = std::fs::read_to_string(solutions.join(path)).unwrap();
            assert_eq!(
                &theirs, text,
                "solutions/{path} differs from the shipped one"
            );
        }
    }

    #[test]
    fn the_working_copy_builds_with_the_workshops_crates() {
        // Same versions and features as the workspace's own dependencies.
        let workspace = include_str!("../../Cargo.toml");
        for dep in ["libc", "nix"] {
            let line = |text: &str| {
                text.lines()
                    .find(|l| l.starts_with(&format!("{dep} = ")))
                    .map(str::to_owned)
            };
            assert_eq!(
                line(MANIFEST),
                line(workspace),
                "lessons/exercises/learner.Cargo.toml and the workspace disagree on {dep}"
            );
        }
        assert!(MANIFEST.contains("\n[workspace]\n"));
    }
}
