//! The default rootfs of `learn-containers run`: bash and busybox, built once with
//! rootfs-builder into a cache dir and reused until the host's binaries change.

use std::path::{Path, PathBuf};

use crate::error::{Context, Result};

use crate::kernel::scratch;
use crate::kernel::undo::{self, Phase};

/// The programs in the default rootfs.
const DEFAULT_BINS: &[&str] = &["bash"];

/// The default rootfs: bash and busybox (with its applets: sh, ls, ps, mount, hostname,
/// cat, echo, sleep), built with rootfs-builder into `cache/default` the first time and
/// reused after. It is built again when the host's bash or busybox changes. Returns its
/// path.
pub fn default_rootfs(cache: &Path) -> Result<PathBuf> {
    let dir = cache.join("default");
    let stamp_file = cache.join("default.stamp");
    let stamp = default_stamp()?;
    let built = dir.join(rootfs_builder::MARKER).is_file()
        && std::fs::read_to_string(&stamp_file).is_ok_and(|s| s == stamp);
    if built {
        return Ok(dir);
    }
    std::fs::create_dir_all(cache).with_context(|| format!("mkdir {}", cache.display()))?;
    // Built aside and renamed into place, so a half-built rootfs is never used.
    let me = std::process::id();
    let fresh = cache.join(format!("default.building-{me}"));
    scratch::remove_tree(&fresh)?;
    let plan = rootfs_builder::plan(&default_options())?;
    // Removed by an interrupt until it is renamed into place.
    let _building = undo::Registered::new(Phase::Dirs, scratch::removal(&fresh));
    undo::making(|| rootfs_builder::build(&fresh, &plan, &mut |_| {}))?;
    if dir.exists() {
        let old = cache.join(format!("default.old-{me}"));
        std::fs::rename(&dir, &old).with_context(|| format!("move {} aside", dir.display()))?;
        scratch::remove_tree(&old)?;
    }
    match std::fs::rename(&fresh, &dir) {
        Ok(()) => {}
        // Another run put its fresh copy there first: use that one.
        Err(_) if dir.join(rootfs_builder::MARKER).is_file() => scratch::remove_tree(&fresh)?,
        Err(e) => return Err(e).with_context(|| format!("rename to {}", dir.display())),
    }
    std::fs::write(&stamp_file, stamp)?;
    Ok(dir)
}

/// What rootfs-builder is asked for the default rootfs.
pub fn default_options() -> rootfs_builder::Options {
    rootfs_builder::Options {
        bins: DEFAULT_BINS.iter().map(|b| b.to_string()).collect(),
        busybox: true,
        skeleton: true,
    }
}

/// The host binaries the default rootfs copies, with their size and mtime: when any
/// changes, the cache is stale.
fn default_stamp() -> Result<String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = String::new();
    for name in DEFAULT_BINS.iter().chain(["busybox"].iter()) {
        let path = rootfs_builder::resolve_binary(name).with_context(|| {
            format!("the default rootfs needs {name} on the host (apt install busybox-static), or give --rootfs DIR")
        })?;
        let md = std::fs::metadata(&path)?;
        out.push_str(&format!(
            "{name} {} {} {}\n",
            path.display(),
            md.len(),
            md.mtime()
        ));
    }
    Ok(out)
}
