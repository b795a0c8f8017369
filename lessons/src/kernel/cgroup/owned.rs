//! A cgroup this run made, and the undo action that removes it after an interrupt.

use std::path::{Path, PathBuf};

use super::error::CgroupError;
use super::group::Cgroup;
use super::mode::Version;
use super::remove::remove_base_if_empty;
use crate::kernel::undo::{self, Phase};

/// A cgroup this process created and owns: registered with the undo registry (so Ctrl-C
/// removes it) and removed when dropped, along with `learn-containers/` if that is then
/// empty. Derefs to [`Cgroup`].
#[derive(Debug)]
pub struct OwnedCgroup {
    cgroup: Cgroup,
    token: Option<undo::Token>,
}

impl OwnedCgroup {
    /// Takes charge of a cgroup just made. Call inside [`undo::making`], together with
    /// the mkdir, so that no interrupt falls in between.
    pub(super) fn register(cgroup: Cgroup) -> OwnedCgroup {
        let token = undo::register(Phase::Cgroups, removal(&cgroup.path, cgroup.version));
        OwnedCgroup {
            cgroup,
            token: Some(token),
        }
    }

    /// Removes the cgroup now (killing what is left in it), reporting failures that
    /// `Drop` could only ignore.
    pub fn remove(mut self) -> Result<(), CgroupError> {
        self.release()
    }

    fn release(&mut self) -> Result<(), CgroupError> {
        let Some(token) = self.token.take() else {
            return Ok(());
        };
        let result = self.cgroup.remove();
        if result.is_ok() {
            undo::unregister(token);
            remove_base_if_empty(&self.cgroup.path);
        } else {
            // Still there: leave it registered so Ctrl-C and `clean` can retry.
            self.token = Some(token);
        }
        result
    }
}

/// What undoes a cgroup of ours: remove it (members killed), then `learn-containers/`
/// above it if that is left empty. For cgroups made by others on our behalf too (runc's,
/// see the chapter 5 lesson).
pub fn removal(path: &Path, version: Version) -> impl FnOnce() + Send + 'static {
    let path: PathBuf = path.to_path_buf();
    move || match Cgroup::open(&path, version).remove() {
        Ok(()) => remove_base_if_empty(&path),
        Err(e) => undo::fell_short(format_args!("cgroup {} ({e})", path.display())),
    }
}

impl std::ops::Deref for OwnedCgroup {
    type Target = Cgroup;
    fn deref(&self) -> &Cgroup {
        &self.cgroup
    }
}

impl Drop for OwnedCgroup {
    fn drop(&mut self) {
        if let Err(e) = self.release() {
            eprintln!("warning: {e}");
        }
    }
}
