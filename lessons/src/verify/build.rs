//! Building an exercise or solution binary with cargo, in the workspace's shared target
//! dir, or taking it prebuilt from a directory (classrooms that pre-build, and VMs without
//! cargo).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::bail;
use crate::error::{Context, Result};
use crate::workdir::WorkDir;

/// Set to a directory of prebuilt exercise binaries to skip cargo.
pub const BIN_DIR_ENV: &str = "LEARN_CONTAINERS_BIN_DIR";

#[derive(Debug)]
pub enum Built {
    Binary {
        path: PathBuf,
        took: Duration,
    },
    /// cargo's own message, verbatim.
    CompileError(String),
}

/// Which crate to build from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Exercise,
    Solution,
}

impl Flavor {
    pub fn package(self) -> &'static str {
        match self {
            Flavor::Exercise => "exercises",
            Flavor::Solution => "solutions",
        }
    }

    /// The binary cargo builds for exercise `id`: solutions carry a suffix so both can
    /// live in the shared target dir.
    pub fn binary(self, id: &str) -> String {
        match self {
            Flavor::Exercise => id.to_owned(),
            Flavor::Solution => format!("{id}_solution"),
        }
    }
}

/// Finds cargo even when run under sudo, whose PATH usually lacks ~/.cargo/bin.
pub fn cargo() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("CARGO") {
        return Ok(PathBuf::from(p));
    }
    if let Ok(p) = which::which("cargo") {
        return Ok(p);
    }
    let mut homes = vec![std::env::var_os("HOME").map(PathBuf::from)];
    if let Ok(user) = std::env::var("SUDO_USER") {
        homes.push(Some(PathBuf::from(format!("/home/{user}"))));
    }
    for h in homes.into_iter().flatten() {
        let c = h.join(".cargo/bin/cargo");
        if c.exists() {
            return Ok(c);
        }
    }
    bail!(
        "cargo was not found: install Rust with rustup, or run with `sudo env PATH=\"$PATH\" learn-containers ...`"
    )
}

/// Where the learner's exercises are built: apart from the workshop's own binaries (the
/// shipped exercises have the same names), and shared by every working copy, so the
/// crates they use are compiled once.
pub fn exercises_target(root: &Path) -> PathBuf {
    root.join("target").join("exercises")
}

/// Builds exercise `id`: the learner's from the working copy `work`, or the reference
/// solution from the solutions crate of the workspace at `root`. With `bin_dir`, takes
/// `DIR/<id>` (or, for a solution, `DIR/<id>_solution`) as it is instead.
pub fn build(
    root: &Path,
    work: &WorkDir,
    flavor: Flavor,
    id: &str,
    bin_dir: Option<&Path>,
) -> Result<Built> {
    let bin = flavor.binary(id);
    if let Some(dir) = bin_dir {
        let Some(path) = [dir.join(id), dir.join(&bin)]
            .into_iter()
            .find(|p| p.is_file())
        else {
            bail!(
                "{} has no prebuilt {id}: build it with `cargo build -p {} --bin {bin}` and copy it there as {id}, or unset {BIN_DIR_ENV}",
                dir.display(),
                flavor.package()
            );
        };
        return Ok(Built::Binary {
            path,
            took: Duration::ZERO,
        });
    }
    let start = Instant::now();
    let mut cmd = Command::new(cargo()?);
    cmd.current_dir(root)
        .args(["build", "--quiet", "--bin", &bin])
        .args(["--message-format", "json-render-diagnostics"]);
    match flavor {
        Flavor::Exercise => {
            cmd.arg("--manifest-path")
                .arg(work.manifest())
                .arg("--target-dir")
                .arg(exercises_target(root));
        }
        Flavor::Solution => {
            cmd.args(["-p", flavor.package()]);
        }
    }
    // An interrupted verify stops cargo and its rustc processes too.
    let out = crate::kernel::child::output(&mut cmd).context("running cargo")?;
    if !out.status.success() {
        return Ok(Built::CompileError(
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = executable_from_messages(&stdout, &bin)
        .with_context(|| format!("cargo built {bin} but did not say where"))?;
    Ok(Built::Binary {
        path,
        took: start.elapsed(),
    })
}

/// Picks the `"executable"` of the compiler-artifact message for `bin`.
fn executable_from_messages(stdout: &str, bin: &str) -> Option<PathBuf> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["reason"] == "compiler-artifact" && v["target"]["name"] == bin)
        .find_map(|v| v["executable"].as_str().map(PathBuf::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_executable() {
        let msgs = r#"{"reason":"compiler-artifact","target":{"name":"nix"},"executable":null}
{"reason":"compiler-artifact","target":{"name":"ch01_chroot"},"executable":"/w/target/debug/ch01_chroot"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            executable_from_messages(msgs, "ch01_chroot"),
            Some(PathBuf::from("/w/target/debug/ch01_chroot"))
        );
        assert_eq!(executable_from_messages(msgs, "other"), None);
    }
}
