//! The container's root filesystem, made by PID 1 in its new (private) mount namespace
//! before pivot_root. One tmpfs of the namespace's own (the stage) holds everything the
//! container may write: the upper layer of an overlay whose lower layer is the rootfs
//! directory, so the container writes anywhere and the rootfs is never changed (what an
//! image's layers are to a container runtime); the /dev it gets, as runc gives one; and
//! its /tmp. One tmpfs rather than one per purpose: each filesystem instance costs its
//! making and its teardown, and a container's start-up is counted in fractions of a ms.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, OFlag, open};
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{FchmodatFlags, Mode, SFlag, fchmodat, mknod, stat};
use nix::sys::statvfs::{FsFlags, statvfs};
use nix::unistd::{mkdir, symlinkat};

use crate::kernel::ns;
use crate::kernel::sys::SysError;

/// What the container may do to its root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Root {
    /// Writes go to a tmpfs layered over the rootfs, gone with the container.
    #[default]
    Ephemeral,
    /// Writes go into the rootfs directory itself (`run --rw`).
    Writable,
    /// Nothing is written but /tmp and /dev (`run --keep-rootfs-readonly`).
    ReadOnly,
}

/// Where PID 1 mounts the stage: a directory every host has. The rootfs is reached
/// through a descriptor, so it does not matter if it lies under it.
const STAGE: &str = "/tmp";

/// The devices a container gets, made as the host's are (or bound from the host's where
/// mknod is not allowed): runc's default set.
pub const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Mounts the stage and makes the new root on it for `rootfs`; returns its path, with a
/// note for the learner when the overlay was not possible here and the root is read-only
/// instead.
pub fn prepare(rootfs: &Path, root: Root) -> Result<(PathBuf, Option<String>), SysError> {
    let lower = open(
        rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| SysError::new(format!("open(\"{}\")", rootfs.display()), e))?;
    let stage = Path::new(STAGE);
    // Not nodev: /dev's nodes live here. /tmp gets nodev on its own mount.
    mount(
        Some("learn-containers"),
        stage,
        Some("tmpfs"),
        MsFlags::MS_NOSUID,
        Some("mode=0755"),
    )
    .map_err(|e| SysError::new(format!("mount(tmpfs, \"{STAGE}\")"), e))?;
    for (d, mode) in [
        ("root", 0o755),
        ("dev", 0o755),
        ("dev/shm", 0o1777),
        ("tmp", 0o1777),
    ] {
        make_dir(&stage.join(d), mode)?;
    }
    let merged = stage.join("root");
    let said = match root {
        Root::Ephemeral => overlay(rootfs, &lower, &merged)?,
        Root::Writable => {
            bind_fd(&lower, &merged, false)?;
            None
        }
        Root::ReadOnly => {
            bind_fd(&lower, &merged, true)?;
            None
        }
    };
    Ok((merged, said))
}

/// A directory with exactly `mode` (mkdir applies the umask).
fn make_dir(at: &Path, mode: u32) -> Result<(), SysError> {
    mkdir(at, Mode::from_bits_truncate(mode))
        .and_then(|()| {
            fchmodat(
                AT_FDCWD,
                at,
                Mode::from_bits_truncate(mode),
                FchmodatFlags::FollowSymlink,
            )
        })
        .map_err(|e| SysError::new(format!("mkdir(\"{}\")", at.display()), e))
}

/// `mount -t overlay -o lowerdir=ROOTFS,upperdir=U,workdir=W overlay MERGED`, with U and W
/// on the stage; a read-only bind mount of the rootfs where overlayfs is not available.
fn overlay(rootfs: &Path, lower: &OwnedFd, merged: &Path) -> Result<Option<String>, SysError> {
    for d in ["upper", "work"] {
        make_dir(&Path::new(STAGE).join(d), 0o755)?;
    }
    // The rootfs by name where the stage does not hide it (mountinfo then shows it), else
    // through the descriptor opened before.
    let lowerdir = if rootfs.starts_with(STAGE) {
        format!("/proc/self/fd/{}", lower.as_raw_fd())
    } else {
        rootfs.display().to_string()
    };
    let options = format!("lowerdir={lowerdir},upperdir={STAGE}/upper,workdir={STAGE}/work");
    match mount(
        Some("learn-containers"),
        merged,
        Some("overlay"),
        MsFlags::empty(),
        Some(options.as_str()),
    ) {
        Ok(()) => Ok(None),
        // No overlayfs here (not built in, or not allowed in this user namespace on a
        // kernel before 5.11): a read-only root keeps the rootfs unchanged all the same.
        Err(e @ (Errno::ENODEV | Errno::EINVAL | Errno::EPERM)) => {
            bind_fd(lower, merged, true)?;
            Ok(Some(format!(
                "overlayfs is not available here (mount(overlay) failed: {e}): the root is read-only instead; /tmp is writable"
            )))
        }
        Err(e) => Err(SysError::new(format!("mount(overlay, \"{options}\")"), e)),
    }
}

/// Binds the directory `dir` is open on at `at` (recursively), read-only if asked.
fn bind_fd(dir: &OwnedFd, at: &Path, readonly: bool) -> Result<(), SysError> {
    // Through the descriptor: the stage may hide the directory's path.
    let source = format!("/proc/self/fd/{}", dir.as_raw_fd());
    bind(Path::new(&source), at, MsFlags::MS_REC)?;
    if readonly {
        restrict(at, MsFlags::MS_RDONLY)?;
    }
    Ok(())
}

/// `mount --bind FROM AT` (with `extra`, e.g. MS_REC).
fn bind(from: &Path, at: &Path, extra: MsFlags) -> Result<(), SysError> {
    mount(
        Some(from),
        at,
        None::<&str>,
        MsFlags::MS_BIND | extra,
        None::<&str>,
    )
    .map_err(|e| {
        SysError::new(
            format!(
                "mount(\"{}\", \"{}\", MS_BIND)",
                from.display(),
                at.display()
            ),
            e,
        )
    })
}

/// Adds `flags` (MS_RDONLY, MS_NODEV, ...) to the bind mount at `at`, keeping the ones it
/// has: in a user namespace, the flags of a mount inherited from the host are locked, and
/// a remount that would drop one (its atime flag, say) is refused.
fn restrict(at: &Path, flags: MsFlags) -> Result<(), SysError> {
    let has = statvfs(at)
        .map_err(|e| SysError::new(format!("statvfs(\"{}\")", at.display()), e))?
        .flags();
    let kept = [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ]
    .into_iter()
    .filter(|(st, _)| has.contains(*st))
    .fold(MsFlags::empty(), |acc, (_, ms)| acc | ms);
    mount(
        None::<&str>,
        at,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | kept | flags,
        None::<&str>,
    )
    .map_err(|e| {
        SysError::new(
            format!("mount(\"{}\", MS_REMOUNT|{flags:?})", at.display()),
            e,
        )
    })
}

/// A directory to mount on, made if missing: in an overlay it lands in the upper layer,
/// never in the rootfs.
pub fn mount_point(at: &Path) -> Result<(), SysError> {
    match mkdir(at, Mode::from_bits_truncate(0o755)) {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(SysError::new(format!("mkdir(\"{}\")", at.display()), e)),
    }
}

/// A /dev as runc and Docker give one, at `root`/dev, from the stage's dev directory: the
/// host's null, zero, full, random, urandom and tty (see `device`), the /dev/fd, stdin,
/// stdout and stderr links into /proc/self/fd, /dev/ptmx pointing into a fresh devpts
/// instance at /dev/pts, and /dev/shm (nosuid, nodev, noexec).
pub fn mount_dev(root: &Path) -> Result<(), SysError> {
    let staged = Path::new(STAGE).join("dev");
    for name in DEVICES {
        device(&staged, name)?;
    }
    for (link, target) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        symlinkat(target, AT_FDCWD, &staged.join(link))
            .map_err(|e| SysError::new(format!("symlink(\"/dev/{link}\")"), e))?;
    }
    make_dir(&staged.join("pts"), 0o755)?;
    let dev = root.join("dev");
    mount_point(&dev)?;
    // Recursively: a device bound from the host's (see `device`) is a mount of its own.
    bind(&staged, &dev, MsFlags::MS_REC)?;
    mount(
        Some("devpts"),
        &dev.join("pts"),
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    )
    .map_err(|e| SysError::new("mount(devpts, \"/dev/pts\", newinstance)", e))?;
    let shm = dev.join("shm");
    bind(&staged.join("shm"), &shm, MsFlags::empty())?;
    restrict(
        &shm,
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
    )
}

/// /tmp for the container at `root`/tmp: the stage's tmp directory (mode 1777), nosuid
/// and nodev, seen by this container only.
pub fn mount_tmp(root: &Path) -> Result<(), SysError> {
    let tmp = root.join("tmp");
    mount_point(&tmp)?;
    bind(&Path::new(STAGE).join("tmp"), &tmp, MsFlags::empty())?;
    restrict(&tmp, MsFlags::MS_NOSUID | MsFlags::MS_NODEV)
}

/// `dev`/`name` as the host's /dev/`name`: the same character device made with mknod(2),
/// as runc does for root; where that is refused (a user namespace: its devices would not
/// open anyway), an empty file with the host's device bound on it.
fn device(dev: &Path, name: &str) -> Result<(), SysError> {
    let host = Path::new("/dev").join(name);
    let at = dev.join(name);
    let st = stat(&host).map_err(|e| SysError::new(format!("stat(\"{}\")", host.display()), e))?;
    match mknod(
        &at,
        SFlag::S_IFCHR,
        Mode::from_bits_truncate(0o666),
        st.st_rdev,
    ) {
        // mknod applies the umask: the mode is set again, as the host's.
        Ok(()) => fchmodat(
            AT_FDCWD,
            &at,
            Mode::from_bits_truncate(st.st_mode & 0o7777),
            FchmodatFlags::FollowSymlink,
        )
        .map_err(|e| SysError::new(format!("chmod(\"{}\")", at.display()), e)),
        Err(Errno::EPERM) => {
            std::fs::File::create(&at).map_err(|e| {
                SysError::new(
                    format!("creating {}", at.display()),
                    Errno::from_raw(e.raw_os_error().unwrap_or(0)),
                )
            })?;
            bind(&host, &at, MsFlags::empty())
        }
        Err(e) => Err(SysError::new(format!("mknod(\"{}\")", at.display()), e)),
    }
}

/// `mount --bind DIR DIR` (recursively): pivot_root's new root must be a mount point.
/// With `readonly`, the bind mount is then remounted read-only.
pub fn bind_on_itself(dir: &Path, readonly: bool) -> Result<(), SysError> {
    ns::bind_on_itself(dir)?;
    if readonly {
        restrict(dir, MsFlags::MS_RDONLY)?;
    }
    Ok(())
}
