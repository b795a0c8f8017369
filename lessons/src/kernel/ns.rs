//! Namespaces: the flags, and the one step every mount-namespace child must take first.

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};

use super::child::failed;

/// Makes every mount in this (new) mount namespace private, recursively, so nothing
/// mounted here propagates back to the host. systemd hosts mount / as shared, and a bare
/// `unshare(CLONE_NEWNS)` keeps that peer relationship. `mount --make-rprivate /`.
pub fn make_root_private() -> Result<(), String> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| failed("mount(\"/\", MS_REC|MS_PRIVATE)", e))
}

/// Enters a new mount namespace and makes it private: the safe start of any mount work.
/// For use in a forked child only.
pub fn private_mount_namespace() -> Result<(), String> {
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| failed("unshare(CLONE_NEWNS)", e))?;
    make_root_private()
}
