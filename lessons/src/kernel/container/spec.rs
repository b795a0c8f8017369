//! What a container is asked to be, and the checks made before anything is forked.

use std::path::{Path, PathBuf};

use super::root::Root;
use crate::kernel::cgroup::{CpuLimit, MemoryLimit, PidsMax};

/// What to run, and in what.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    /// The directory that becomes / (canonical; see [`check_rootfs`]).
    pub rootfs: PathBuf,
    pub hostname: String,
    /// A CPU cap, in a new cgroup under learn-containers/.
    pub cpus: Option<CpuLimit>,
    /// A memory cap, swap held to it (chapter 9), in the same container's cgroups.
    pub memory: Option<MemoryLimit>,
    /// A cap on the number of processes (chapter 9).
    pub pids: Option<PidsMax>,
    /// CMD and its arguments. A CMD without a `/` is looked up in PATH inside the rootfs.
    pub argv: Vec<String>,
    /// What the container may do to its root: write into a layer of its own over the
    /// rootfs (the default), into the rootfs itself, or nowhere but /tmp.
    pub root: Root,
    /// CLOCK_MONOTONIC and CLOCK_BOOTTIME ahead by this many seconds, in a time namespace
    /// of the container's own (`--uptime-offset`); None: the host's clocks.
    pub uptime_offset: Option<i64>,
    /// Its network: the host's (the default), or a namespace of its own.
    pub net: Net,
    /// With `Net::Bridge`: ports published on the host (`-p HOST:CONTAINER`).
    pub ports: Vec<crate::kernel::net::bridge::Port>,
    /// In a cgroup the freezer reaches, to be paused and resumed from outside
    /// (`run -d`, chapter 10).
    pub freezable: bool,
}

/// A container's network (`learn-containers run --net`, chapter 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Net {
    /// The host's network namespace, as before chapter 7.
    #[default]
    Host,
    /// A network namespace of its own with only `lo`, set up (`--net none`).
    None,
    /// A network namespace of its own plugged into the host's bridge, with NAT out
    /// (`--net bridge`, see [`crate::kernel::net::bridge`]).
    Bridge,
}

/// The hostname a container gets when none is asked for.
pub const DEFAULT_HOSTNAME: &str = "learn-containers";

/// A container spec that cannot work, with what to do instead (a usage error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSpec(pub String);

/// Checks a rootfs before anything is forked: it must be a directory other than / with
/// `proc` and `tmp` directories to mount on. Returns its canonical path.
pub fn check_rootfs(dir: &Path) -> Result<PathBuf, InvalidSpec> {
    let canonical = dir.canonicalize().map_err(|e| {
        InvalidSpec(format!(
            "--rootfs {}: {e}; build one with `./target/debug/rootfs-builder DIR --bin bash --busybox` (from your clone, after `cargo build`), or leave --rootfs out for the default",
            dir.display()
        ))
    })?;
    if canonical == Path::new("/") {
        return Err(InvalidSpec(format!(
            "--rootfs {}: that is the host's own /, which a container must not be given; build a rootfs with `./target/debug/rootfs-builder DIR --bin bash --busybox` (from your clone, after `cargo build`)",
            dir.display()
        )));
    }
    if !canonical.is_dir() {
        return Err(InvalidSpec(format!(
            "--rootfs {}: not a directory",
            dir.display()
        )));
    }
    for sub in ["proc", "tmp"] {
        let ok = std::fs::symlink_metadata(canonical.join(sub)).is_ok_and(|m| m.is_dir());
        if !ok {
            return Err(InvalidSpec(format!(
                "--rootfs {}: there is no {sub}/ directory to mount {} on; `mkdir {}/{sub}` (rootfs-builder makes it)",
                dir.display(),
                if sub == "proc" {
                    "/proc"
                } else {
                    "a tmpfs /tmp"
                },
                canonical.display()
            )));
        }
    }
    Ok(canonical)
}

/// Checks a hostname: 1 to 64 letters, digits, `-` and `.`, starting with a letter or digit.
pub fn check_hostname(name: &str) -> Result<(), InvalidSpec> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(InvalidSpec(format!(
            "--hostname {name:?}: a hostname is 1 to 64 letters, digits, `-` and `.`, starting with a letter or digit"
        )))
    }
}
