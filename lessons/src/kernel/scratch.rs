//! Temporary work dirs: made with mkdtemp under a `learn-containers-` prefix (mode 0700,
//! unpredictable name), stamped with their owner so `clean` can tell a live run's dir from
//! a crashed run's, and removed without ever crossing a mount point or following a symlink.

use std::collections::HashSet;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::bail;
use crate::error::{Context, Result};
use nix::dir::Dir;
use nix::fcntl::{AtFlags, OFlag};
use nix::mount::{MntFlags, umount2};
use nix::sys::stat::{Mode, SFlag, fstat, fstatat};
use nix::unistd::{UnlinkatFlags, unlinkat};

use super::undo::{self, Phase};
use super::{mountinfo, procfs};

/// Every name the project gives to what it creates starts with this.
pub const PREFIX: &str = "learn-containers-";
/// File in a scratch dir naming the process that made it: "PID STARTTIME".
pub const OWNER_FILE: &str = ".learn-containers-owner";

/// A temporary directory owned by this run; removed (safely) when dropped.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
    token: undo::Token,
}

impl Scratch {
    /// Makes a fresh `learn-containers-XXXXXX` dir in the temp dir ($TMPDIR or /tmp).
    pub fn new() -> Result<Scratch> {
        Self::new_in(&std::env::temp_dir())
    }

    /// Makes a fresh `learn-containers-XXXXXX` dir in `base` (`clean` looks in the temp
    /// dir, /tmp and /var/tmp).
    pub fn new_in(base: &Path) -> Result<Scratch> {
        // Made, registered and stamped in one step (see undo::making).
        undo::making(|| Self::make(base))
    }

    fn make(base: &Path) -> Result<Scratch> {
        use std::os::unix::fs::PermissionsExt;
        // Mode 0700 at mkdir time: the dir is never open to other users, not even briefly.
        let dir = tempfile::Builder::new()
            .prefix(PREFIX)
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(base)
            .with_context(|| {
                format!(
                    "cannot create a temporary directory in {}: check that it exists and is writable, or point TMPDIR at one that is",
                    base.display()
                )
            })?;
        // Canonical, so paths compare equal to what /proc and mountinfo report.
        let path = dir.keep().canonicalize()?;
        let token = undo::register(Phase::Dirs, removal(&path));
        let me = std::process::id() as i32;
        let stamp = format!("{me} {}\n", procfs::start_time(me).unwrap_or(0));
        std::fs::write(path.join(OWNER_FILE), stamp)?;
        Ok(Scratch { path, token })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates (if needed) and returns a subdirectory.
    pub fn subdir(&self, name: &str) -> Result<PathBuf> {
        let p = self.path.join(name);
        undo::making(|| std::fs::create_dir_all(&p))
            .with_context(|| format!("mkdir {}", p.display()))?;
        Ok(p)
    }

    /// A root filesystem in subdirectory `name`: the host programs `bins` with what they
    /// need to run, and the skeleton (proc, dev, tmp, etc).
    pub fn rootfs(&self, name: &str, bins: &[&str]) -> Result<PathBuf> {
        let dir = self.subdir(name)?;
        let plan = rootfs_builder::plan(&rootfs_builder::Options {
            bins: bins.iter().map(|b| b.to_string()).collect(),
            busybox: false,
            skeleton: true,
        })?;
        undo::making(|| rootfs_builder::build(&dir, &plan, &mut |_| {}))?;
        Ok(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = remove_stamped(&self.path);
        undo::unregister(self.token);
    }
}

/// What undoes a scratch dir (or a tree being built) after an interrupt: remove it. The
/// thread that was interrupted may still write a file into the tree while it is being
/// removed (an rmdir then finds it not empty): go again.
pub fn removal(path: &Path) -> impl FnOnce() + Send + 'static {
    let path = path.to_path_buf();
    move || {
        for _ in 0..10 {
            if remove_stamped(&path).is_ok() && !path.exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        undo::fell_short(format_args!("directory {}", path.display()));
    }
}

/// Removes a scratch dir with its owner stamp last: a run SIGKILLed halfway through the
/// removal leaves a dir `clean` still knows to be its.
pub fn remove_stamped(path: &Path) -> Result<()> {
    if let Ok(rd) = std::fs::read_dir(path) {
        for e in rd.flatten() {
            if e.file_name() == OWNER_FILE {
                continue;
            }
            // Only real directories go through remove_tree, which resolves its path: a
            // symlink (to a host directory, say) is unlinked, never followed.
            match e.file_type() {
                Ok(t) if t.is_dir() => remove_tree(&e.path())?,
                _ => {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
    remove_tree(path)
}

/// Who made a scratch dir, from its stamp: None when there is no readable stamp, which
/// means the dir was not made by `Scratch` (a learner's own rootfs, say) and is not ours
/// to judge.
fn owner(dir: &Path) -> Option<(i32, u64)> {
    let text = std::fs::read_to_string(dir.join(OWNER_FILE)).ok()?;
    let mut it = text.split_whitespace();
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// Is the process that made this scratch dir still running? (Then it is not a leftover.)
pub fn owner_alive(dir: &Path) -> bool {
    owner(dir)
        .is_some_and(|(pid, start)| procfs::alive(pid) && procfs::start_time(pid) == Some(start))
}

/// A scratch dir whose maker has gone away: what an interrupted run leaves. That includes
/// an empty, unstamped one with the mode [`Scratch`] gives: a run killed between mkdtemp
/// and writing its stamp leaves that, and removing an empty dir loses nothing.
pub fn abandoned(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    match owner(dir) {
        Some(_) => !owner_alive(dir),
        None => {
            let private = std::fs::symlink_metadata(dir)
                .is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o7777 == 0o700);
            let empty = std::fs::read_dir(dir).is_ok_and(|mut rd| rd.next().is_none());
            private && empty
        }
    }
}

/// Removes a directory tree. Mounts inside it (which only this project's runs can have
/// made) are detached first; a mount point that cannot be detached is left in place rather
/// than crossed, and no symlink is ever followed: each directory is opened with O_NOFOLLOW
/// relative to its parent, and entries are removed with unlinkat.
pub fn remove_tree(path: &Path) -> Result<()> {
    let path = match path.canonicalize() {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("resolve {}", path.display())),
    };
    if path == Path::new("/") {
        bail!("refusing to remove /");
    }
    let inside = |mounts: &[mountinfo::Mount]| -> Vec<PathBuf> {
        mounts
            .iter()
            .map(|m| m.mount_point.clone())
            .filter(|p| p.starts_with(&path))
            .collect()
    };
    let mut mounted = inside(&mountinfo::read(None).unwrap_or_default());
    mounted.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for m in &mounted {
        let _ = umount2(m, MntFlags::MNT_DETACH);
    }
    let still: HashSet<PathBuf> = inside(&mountinfo::read(None).unwrap_or_default())
        .into_iter()
        .collect();
    if still.contains(&path) {
        bail!("{} is still a mount point; not removing it", path.display());
    }
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    // Another thread may be removing the same tree (Ctrl-C arrives while a guard drops):
    // whatever is already gone counts as removed.
    let mut dir = match Dir::open(&path, flags, Mode::empty()) {
        Err(nix::errno::Errno::ENOENT) => return Ok(()),
        other => other.with_context(|| format!("open {}", path.display()))?,
    };
    let dev = fstat(dir.as_fd())?.st_dev;
    let mut skipped = Vec::new();
    empty_dir(&mut dir, &path, dev, &still, &mut skipped)?;
    drop(dir);
    if !skipped.is_empty() {
        bail!(
            "left mount points in place instead of crossing them: {}",
            skipped
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    match std::fs::remove_dir(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other.with_context(|| format!("rmdir {}", path.display())),
    }
}

/// ENOENT means another remover got there first: the entry is gone, as wanted.
fn gone_ok(r: nix::Result<()>) -> nix::Result<()> {
    match r {
        Err(nix::errno::Errno::ENOENT) => Ok(()),
        other => other,
    }
}

fn empty_dir(
    dir: &mut Dir,
    path: &Path,
    dev: u64,
    mounts: &HashSet<PathBuf>,
    skipped: &mut Vec<PathBuf>,
) -> Result<()> {
    let names: Vec<std::ffi::CString> = dir
        .iter()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_owned())
        .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
        .collect();
    for name in names {
        let st = match fstatat(dir.as_fd(), name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(nix::errno::Errno::ENOENT) => continue,
            Err(e) => return Err(e).context("fstatat"),
        };
        let child = path.join(std::ffi::OsStr::from_bytes(name.to_bytes()));
        let is_dir = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR;
        if is_dir {
            if st.st_dev != dev || mounts.contains(&child) {
                skipped.push(child);
                continue;
            }
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            let mut sub = match Dir::openat(dir.as_fd(), name.as_c_str(), flags, Mode::empty()) {
                Err(nix::errno::Errno::ENOENT) => continue,
                other => other.with_context(|| format!("open {}", child.display()))?,
            };
            empty_dir(&mut sub, &child, dev, mounts, skipped)?;
            drop(sub);
            if !skipped.iter().any(|s| s.starts_with(&child)) {
                gone_ok(unlinkat(
                    dir.as_fd(),
                    name.as_c_str(),
                    UnlinkatFlags::RemoveDir,
                ))
                .with_context(|| format!("rmdir {}", child.display()))?;
            }
        } else {
            gone_ok(unlinkat(
                dir.as_fd(),
                name.as_c_str(),
                UnlinkatFlags::NoRemoveDir,
            ))
            .with_context(|| format!("unlink {}", child.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_is_private_and_removed() {
        let s = Scratch::new().unwrap();
        let p = s.path().to_owned();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert!(owner_alive(&p));
        std::fs::create_dir_all(p.join("a/b")).unwrap();
        std::fs::write(p.join("a/b/f"), "x").unwrap();
        drop(s);
        assert!(!p.exists());
    }

    #[test]
    fn removal_never_follows_symlinks() {
        let outside = tempfile::Builder::new().prefix(PREFIX).tempdir().unwrap();
        std::fs::write(outside.path().join("keep"), "host file").unwrap();
        let s = Scratch::new().unwrap();
        std::os::unix::fs::symlink(outside.path(), s.path().join("link")).unwrap();
        std::fs::create_dir(s.path().join("d")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("keep"), s.path().join("d/keep")).unwrap();
        let p = s.path().to_owned();
        drop(s);
        assert!(!p.exists());
        assert_eq!(
            std::fs::read_to_string(outside.path().join("keep")).unwrap(),
            "host file"
        );
    }
}
