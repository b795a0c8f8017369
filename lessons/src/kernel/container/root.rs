//! The container's root filesystem, made by PID 1 in its new (private) mount namespace
//! before pivot_root: the rootfs directory as the lower layer of an overlay whose upper
//! layer is a tmpfs, so the container writes anywhere and the rootfs is never changed
//! (what an image's layers are to a container runtime); and a /dev as runc gives one.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, OFlag, open};
use nix::mount::{MsFlags, mount};
use nix::sys::stat::Mode;
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

/// Where PID 1 stacks the layers: a tmpfs of its own namespace mounted over this
/// directory, which every host has. The rootfs is reached through a descriptor, so it
/// does not matter if it lies under it.
const STAGE: &str = "/tmp";

/// The devices a container gets, bind-mounted from the host's (which also works without
/// root, where mknod does not): runc's default set.
pub const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Makes the new root for `rootfs` and returns its path, with a note for the learner when
/// the overlay was not possible here and the root is read-only instead.
pub fn prepare(rootfs: &Path, root: Root) -> Result<(PathBuf, Option<String>), SysError> {
    match root {
        Root::Writable => {
            bind_on_itself(rootfs, false)?;
            Ok((rootfs.to_path_buf(), None))
        }
        Root::ReadOnly => {
            bind_on_itself(rootfs, true)?;
            Ok((rootfs.to_path_buf(), None))
        }
        Root::Ephemeral => overlay(rootfs),
    }
}

/// `mount -t overlay -o lowerdir=ROOTFS,upperdir=U,workdir=W overlay MERGED`, with U and W
/// on a fresh tmpfs.
fn overlay(rootfs: &Path) -> Result<(PathBuf, Option<String>), SysError> {
    let lower = open(
        rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| SysError::new(format!("open(\"{}\")", rootfs.display()), e))?;
    let stage = Path::new(STAGE);
    ns::mount_tmpfs(stage, "mode=0755")?;
    for d in ["upper", "work", "root"] {
        mkdir(&stage.join(d), Mode::from_bits_truncate(0o755))
            .map_err(|e| SysError::new(format!("mkdir(\"{STAGE}/{d}\")"), e))?;
    }
    let merged = stage.join("root");
    // The rootfs by name where the tmpfs does not hide it (mountinfo then shows it), else
    // through the descriptor opened before.
    let lowerdir = if rootfs.starts_with(STAGE) {
        format!("/proc/self/fd/{}", lower.as_raw_fd())
    } else {
        rootfs.display().to_string()
    };
    let options = format!("lowerdir={lowerdir},upperdir={STAGE}/upper,workdir={STAGE}/work");
    match mount(
        Some("learn-containers"),
        &merged,
        Some("overlay"),
        MsFlags::empty(),
        Some(options.as_str()),
    ) {
        Ok(()) => Ok((merged, None)),
        // No overlayfs here (not built in, or not allowed in this user namespace on a
        // kernel before 5.11): a read-only root keeps the rootfs unchanged all the same.
        Err(e @ (Errno::ENODEV | Errno::EINVAL | Errno::EPERM)) => {
            // Through the descriptor: the tmpfs may hide the rootfs's path.
            let source = format!("/proc/self/fd/{}", lower.as_raw_fd());
            mount(
                Some(source.as_str()),
                &merged,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(|e| SysError::new("mount(rootfs, MS_BIND|MS_REC)", e))?;
            mount(
                None::<&str>,
                &merged,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
                None::<&str>,
            )
            .map_err(|e| SysError::new("mount(rootfs, MS_REMOUNT|MS_RDONLY)", e))?;
            Ok((
                merged,
                Some(format!(
                    "overlayfs is not available here (mount(overlay) failed: {e}): the root is read-only instead; /tmp is writable"
                )),
            ))
        }
        Err(e) => Err(SysError::new(format!("mount(overlay, \"{options}\")"), e)),
    }
}

/// A directory to mount on, made if missing: in an overlay it lands in the upper layer,
/// never in the rootfs.
pub fn mount_point(at: &Path) -> Result<(), SysError> {
    match mkdir(at, Mode::from_bits_truncate(0o755)) {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(SysError::new(format!("mkdir(\"{}\")", at.display()), e)),
    }
}

/// A /dev as runc and Docker give one, at `root`/dev: a tmpfs holding the host's null,
/// zero, full, random, urandom and tty (bind-mounted), a fresh devpts instance at /dev/pts
/// with /dev/ptmx pointing into it, a tmpfs at /dev/shm, and the /dev/fd, stdin, stdout
/// and stderr links into /proc/self/fd.
pub fn mount_dev(root: &Path) -> Result<(), SysError> {
    let dev = root.join("dev");
    mount_point(&dev)?;
    mount(
        Some("learn-containers"),
        &dev,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some("mode=755,size=65536k"),
    )
    .map_err(|e| SysError::new(format!("mount(tmpfs, \"{}\")", dev.display()), e))?;
    for name in DEVICES {
        let at = dev.join(name);
        std::fs::File::create(&at).map_err(|e| {
            SysError::new(
                format!("creating {}", at.display()),
                Errno::from_raw(e.raw_os_error().unwrap_or(0)),
            )
        })?;
        let host = Path::new("/dev").join(name);
        mount(
            Some(&host),
            &at,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| SysError::new(format!("mount(\"{}\", MS_BIND)", host.display()), e))?;
    }
    let pts = dev.join("pts");
    mount_point(&pts)?;
    mount(
        Some("devpts"),
        &pts,
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    )
    .map_err(|e| SysError::new("mount(devpts, \"/dev/pts\", newinstance)", e))?;
    let shm = dev.join("shm");
    mount_point(&shm)?;
    mount(
        Some("shm"),
        &shm,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )
    .map_err(|e| SysError::new("mount(tmpfs, \"/dev/shm\")", e))?;
    for (link, target) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        symlinkat(target, AT_FDCWD, &dev.join(link))
            .map_err(|e| SysError::new(format!("symlink(\"/dev/{link}\")"), e))?;
    }
    Ok(())
}

/// `mount --bind DIR DIR` (recursively): pivot_root's new root must be a mount point.
/// With `readonly`, the bind mount is then remounted read-only.
pub fn bind_on_itself(dir: &Path, readonly: bool) -> Result<(), SysError> {
    ns::bind_on_itself(dir)?;
    if readonly {
        mount(
            None::<&str>,
            dir,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .map_err(|e| {
            SysError::new(
                format!("mount(\"{}\", MS_BIND|MS_REMOUNT|MS_RDONLY)", dir.display()),
                e,
            )
        })?;
    }
    Ok(())
}
