//! Where the workshop's sources and the learner's state live.

use std::path::PathBuf;

use crate::error::{CliError, Result};

/// The clone of the workshop: exercises/, solutions/, book/. Set LEARN_CONTAINERS_ROOT
/// to use another one than the one this binary was built from.
pub fn root() -> Result<PathBuf> {
    let root = std::env::var_os("LEARN_CONTAINERS_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    if !root.join("exercises/Cargo.toml").is_file() {
        return Err(CliError::Usage(format!(
            "the workshop sources are not at {}: run from your clone, or set LEARN_CONTAINERS_ROOT to it",
            root.display()
        )));
    }
    Ok(root)
}

/// The learner's progress and hint counters: `.learn-containers/` in the clone, or
/// LEARN_CONTAINERS_STATE.
pub fn state_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("LEARN_CONTAINERS_STATE") {
        return Ok(PathBuf::from(d));
    }
    Ok(root()?.join(".learn-containers"))
}
