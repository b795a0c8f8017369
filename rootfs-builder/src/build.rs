//! Writing a plan to disk without ever following a symlink inside the rootfs.
//!
//! Every path inside the rootfs is walked one component at a time with
//! openat(O_NOFOLLOW) from a descriptor of the rootfs itself, and files are
//! written to a fresh temporary name (O_CREAT|O_EXCL) and renamed into place.
//! A symlink planted in the rootfs (say lib -> /usr/lib) therefore cannot send
//! a single byte onto the host, even if it appears while we run.

use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat, renameat};
use nix::sys::stat::{Mode, SFlag, fchmod, fstatat, mkdirat};
use nix::unistd::{UnlinkatFlags, symlinkat, unlinkat};

use crate::{BuildError, Entry, EntryKind, Plan};

/// The file at the rootfs root that says "rootfs-builder made this directory".
pub const MARKER: &str = ".learn-containers-rootfs";
const MARKER_HEADER: &str = "# learn-containers rootfs, built by rootfs-builder; one entry a line";

/// Writes `plan` into `dir`, calling `on_entry` after each entry is written.
///
/// Refuses `/` (or anything that canonicalizes to it) and any non-empty
/// directory without the marker. Building again into its own output is fine.
pub fn build(dir: &Path, plan: &Plan, on_entry: &mut dyn FnMut(&Entry)) -> Result<(), BuildError> {
    let (root_path, root) = open_root(dir)?;
    // The marker goes first so an interrupted build can simply be run again.
    let mut list = format!("{MARKER_HEADER}\n");
    for e in &plan.entries {
        list.push_str(&format!("{}\n", e.dest.display()));
    }
    write_atomic(
        &root,
        OsStr::new(MARKER),
        &root_path.join(MARKER),
        0o644,
        |f| f.write_all(list.as_bytes()),
    )?;
    for entry in &plan.entries {
        write_entry(&root, &root_path, entry)?;
        on_entry(entry);
    }
    Ok(())
}

/// Creates `dir` if needed, checks it may be used, and opens it.
fn open_root(dir: &Path) -> Result<(PathBuf, OwnedFd), BuildError> {
    if dir.as_os_str().is_empty() {
        return Err(BuildError::NotADirectory { path: dir.into() });
    }
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|e| BuildError::io("create directory", dir, e))?
        }
        Err(e) => return Err(BuildError::io("inspect", dir, e)),
        Ok(_) => {}
    }
    let canonical = dir
        .canonicalize()
        .map_err(|e| BuildError::io("resolve", dir, e))?;
    if canonical == Path::new("/") {
        return Err(BuildError::RefusedRoot { dir: dir.into() });
    }
    if !canonical.is_dir() {
        return Err(BuildError::NotADirectory { path: dir.into() });
    }
    let root: OwnedFd = OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW).bits())
        .open(&canonical)
        .map_err(|e| BuildError::io("open", &canonical, e))?
        .into();
    let mut listing =
        std::fs::read_dir(&canonical).map_err(|e| BuildError::io("list", &canonical, e))?;
    if listing.next().is_some() && !is_ours(&root) {
        return Err(BuildError::NotEmpty { dir: canonical });
    }
    Ok((canonical, root))
}

/// True when the directory holds our marker as a regular file with our header.
fn is_ours(root: &OwnedFd) -> bool {
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let Ok(fd) = openat(root, MARKER, flags, Mode::empty()) else {
        return false;
    };
    let file = File::from(fd);
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut first = String::new();
    BufReader::new(file).read_line(&mut first).is_ok() && first.trim_end() == MARKER_HEADER
}

fn write_entry(root: &OwnedFd, root_path: &Path, entry: &Entry) -> Result<(), BuildError> {
    let bad = || BuildError::BadDest {
        dest: entry.dest.clone(),
    };
    let mut names = Vec::new();
    for c in entry.dest.components() {
        match c {
            Component::Normal(n) => names.push(n),
            Component::CurDir => {}
            _ => return Err(bad()),
        }
    }
    let (leaf, parents) = names.split_last().ok_or_else(bad)?;
    let shown = root_path.join(&entry.dest);

    let mut dir = root
        .try_clone()
        .map_err(|e| BuildError::io("open", root_path, e))?;
    let mut walked = root_path.to_path_buf();
    for name in parents {
        walked.push(name);
        dir = enter_dir(&dir, name, &walked)?;
    }

    match &entry.kind {
        EntryKind::Dir => {
            let fd = enter_dir(&dir, leaf, &shown)?;
            // mkdir's mode is cut by the umask; set the real one explicitly.
            let mode = if entry.dest == Path::new("tmp") {
                0o1777
            } else {
                0o755
            };
            fchmod(&fd, Mode::from_bits_truncate(mode))
                .map_err(|e| BuildError::io("set the mode of", &shown, e.into()))
        }
        EntryKind::File { source } => {
            let mut src = File::open(source).map_err(|e| BuildError::io("read", source, e))?;
            let meta = src
                .metadata()
                .map_err(|e| BuildError::io("read", source, e))?;
            // Permission bits only: a setuid copy in a temp dir is a gift to
            // whoever finds it, and the container runs as root anyway.
            let mode = meta.permissions().mode() & 0o777;
            write_atomic(&dir, leaf, &shown, mode, |f| {
                io::copy(&mut src, f).map(drop)
            })
        }
        EntryKind::Contents(text) => {
            write_atomic(&dir, leaf, &shown, 0o644, |f| f.write_all(text.as_bytes()))
        }
        EntryKind::Symlink { target } => write_symlink(&dir, leaf, target, &shown),
    }
}

/// Creates (if needed) and opens the directory `name` inside `dir`, refusing
/// to step through a symlink.
fn enter_dir(dir: &OwnedFd, name: &OsStr, shown: &Path) -> Result<OwnedFd, BuildError> {
    match mkdirat(dir, name, Mode::from_bits_truncate(0o755)) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(BuildError::io("create directory", shown, e.into())),
    }
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    match openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => Ok(fd),
        Err(Errno::ELOOP | Errno::ENOTDIR) if is_symlink(dir, name) => {
            Err(BuildError::SymlinkInDest { path: shown.into() })
        }
        Err(Errno::ENOTDIR) => Err(BuildError::NotADirectory { path: shown.into() }),
        Err(e) => Err(BuildError::io("open directory", shown, e.into())),
    }
}

fn is_symlink(dir: &OwnedFd, name: &OsStr) -> bool {
    fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK)
}

fn tmp_name(name: &OsStr) -> OsString {
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(".learn-containers-tmp");
    tmp
}

/// Writes a new file under a temporary name and renames it over `name`, so an
/// existing file, or a symlink planted at `name`, is replaced, never followed.
fn write_atomic(
    dir: &OwnedFd,
    name: &OsStr,
    shown: &Path,
    mode: u32,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), BuildError> {
    let tmp = tmp_name(name);
    // A leftover from an interrupted run; unlinkat removes a link, not its target.
    let _ = unlinkat(dir, tmp.as_os_str(), UnlinkatFlags::NoRemoveDir);
    let flags =
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = openat(dir, tmp.as_os_str(), flags, Mode::from_bits_truncate(0o600))
        .map_err(|e| BuildError::io("create", shown, e.into()))?;
    let mut file = File::from(fd);
    let written = fill(&mut file)
        .and_then(|()| fchmod(&file, Mode::from_bits_truncate(mode)).map_err(io::Error::from));
    drop(file);
    if let Err(e) = written {
        let _ = unlinkat(dir, tmp.as_os_str(), UnlinkatFlags::NoRemoveDir);
        return Err(BuildError::io("write", shown, e));
    }
    rename_into_place(dir, &tmp, name, shown)
}

fn write_symlink(
    dir: &OwnedFd,
    name: &OsStr,
    target: &Path,
    shown: &Path,
) -> Result<(), BuildError> {
    if readlinkat(dir, name).is_ok_and(|t| t == target.as_os_str()) {
        return Ok(()); // already there from an earlier build
    }
    let tmp = tmp_name(name);
    let _ = unlinkat(dir, tmp.as_os_str(), UnlinkatFlags::NoRemoveDir);
    symlinkat(target, dir, tmp.as_os_str())
        .map_err(|e| BuildError::io("create symlink", shown, e.into()))?;
    rename_into_place(dir, &tmp, name, shown)
}

fn rename_into_place(
    dir: &OwnedFd,
    tmp: &OsStr,
    name: &OsStr,
    shown: &Path,
) -> Result<(), BuildError> {
    renameat(dir, tmp, dir, name).map_err(|e| {
        let _ = unlinkat(dir, tmp, UnlinkatFlags::NoRemoveDir);
        match e {
            // rename(2) will not replace a directory with a file.
            Errno::EISDIR | Errno::ENOTEMPTY | Errno::EEXIST => {
                BuildError::Occupied { path: shown.into() }
            }
            e => BuildError::io("move into place", shown, e.into()),
        }
    })
}
