//! Where the workshop's sources, the learner's exercises and the learner's state live.

use std::path::PathBuf;

use lessons::workdir::WorkDir;

use crate::error::{CliError, Result};

/// The clone of the workshop: lessons/, solutions/, book/. Set LEARN_CONTAINERS_ROOT
/// to use another one than the one this binary was built from.
pub fn root() -> Result<PathBuf> {
    let root = std::env::var_os("LEARN_CONTAINERS_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    if !root.join("solutions/Cargo.toml").is_file() {
        return Err(CliError::Usage(format!(
            "the workshop sources are not at {}: run from your clone, or set LEARN_CONTAINERS_ROOT to it",
            root.display()
        )));
    }
    Ok(root)
}

/// The learner's working copy of the exercises: `exercises/` in the clone, or
/// LEARN_CONTAINERS_EXERCISES; made from the shipped exercises where anything is missing.
pub fn exercises() -> Result<WorkDir> {
    let root = root()?;
    let dir = std::env::var_os("LEARN_CONTAINERS_EXERCISES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("exercises"));
    let work = WorkDir::at(&dir);
    work.ensure(Some(&root.join("Cargo.lock")))?;
    Ok(work)
}

/// The learner's progress and hint counters: `.learn-containers/` in the clone, or
/// LEARN_CONTAINERS_STATE.
pub fn state_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("LEARN_CONTAINERS_STATE") {
        return Ok(PathBuf::from(d));
    }
    Ok(root()?.join(".learn-containers"))
}

/// Whether the working copy is somewhere else than `exercises/` in the clone
/// (LEARN_CONTAINERS_EXERCISES), so messages that say `exercises/...` need a note.
pub fn moved(work: &WorkDir) -> bool {
    root().is_ok_and(|r| work.path() != r.join("exercises"))
}

/// How to name an exercise's file to the learner: relative to the clone when it is in it.
pub fn shown(work: &WorkDir, e: &lessons::Exercise) -> String {
    let path = work.file(e);
    match root()
        .ok()
        .and_then(|r| path.strip_prefix(r).ok().map(|p| p.to_path_buf()))
    {
        Some(rel) => rel.display().to_string(),
        None => path.display().to_string(),
    }
}
