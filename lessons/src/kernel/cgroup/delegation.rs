//! Rootless cgroups: on a cgroup v2 host, a user may own a subtree (systemd's
//! `Delegate=yes`, as `systemd-run --user --scope -p Delegate=yes CMD` gives). Then the
//! cgroup chapter runs without root, with that subtree standing in for the root of the
//! hierarchy: `learn-containers/` is made inside it.
//!
//! v2's no-internal-processes rule decides the one extra step: the delegated cgroup can
//! hand controllers to children only once no process lives in it, and this process does.
//! So before enabling anything it moves itself into a leaf of its own,
//! `learn-containers/cli-<pid>` ([`step_aside`]), and at the end undoes all of it
//! ([`step_back`]): the controllers it enabled are disabled again, it moves back, and the
//! leaf is removed. A run killed before that leaves the leaf, which `clean` removes
//! (its pid is gone), and on a systemd host the scope goes with its last process anyway.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use nix::unistd::{AccessFlags, access};

use super::error::CgroupError;
use super::files::{mkdir_ours, read_file, write_file};
use super::mode::{CGROUP_ROOT, FsKind, OURS, statfs_kind};
use crate::kernel::undo::{self, Phase};

/// The delegated cgroup, found once: after [`step_aside`], /proc/self/cgroup names the leaf.
static BASE: OnceLock<Option<PathBuf>> = OnceLock::new();
/// What [`step_back`] must undo: controllers enabled on the base, and whether this
/// process moved.
static DONE: Mutex<Undo> = Mutex::new(Undo {
    enabled: Vec::new(),
    moved: false,
});

struct Undo {
    enabled: Vec<String>,
    moved: bool,
}

/// The cgroup delegated to this (non-root) user on a cgroup v2 host, if any: the one this
/// process was started in, when its directory, `cgroup.procs` and
/// `cgroup.subtree_control` are writable by us.
pub fn base() -> Option<&'static Path> {
    BASE.get_or_init(|| {
        // Root of the host needs no delegation; a user mapped to root in a user namespace
        // of its own (a rootless `run`) still does.
        if crate::kernel::procfs::host_root() {
            return None;
        }
        let root = Path::new(CGROUP_ROOT);
        // Pure v2 only: a hybrid host's controllers are all in v1 trees.
        if statfs_kind(root) != Some(FsKind::Cgroup2) {
            return None;
        }
        let dir = own_cgroup(root)?;
        let writable = |p: &Path| access(p, AccessFlags::W_OK).is_ok();
        (writable(&dir)
            && writable(&dir.join("cgroup.procs"))
            && writable(&dir.join("cgroup.subtree_control")))
        .then_some(dir)
    })
    .as_deref()
}

/// This process's cgroup, from the `0::` line of /proc/self/cgroup.
fn own_cgroup(root: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(root.join(rel.trim_start_matches('/')))
}

/// The leaf this process moves into.
fn leaf(base: &Path) -> PathBuf {
    base.join(OURS).join(format!("cli-{}", std::process::id()))
}

/// Moves this process out of `base` into its leaf, unless it already has, so that `base`
/// may enable controllers for its children.
pub fn step_aside(base: &Path) -> Result<(), CgroupError> {
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if done.moved {
        return Ok(());
    }
    let leaf = leaf(base);
    mkdir_ours(&base.join(OURS))?;
    mkdir_ours(&leaf)?;
    write_file(&leaf.join("cgroup.procs"), &std::process::id().to_string())?;
    done.moved = true;
    // Idempotent, so it may also run at the normal end of the run (main calls it).
    undo::register(Phase::CgroupParents, step_back);
    Ok(())
}

/// A delegated cgroup that still holds other processes (the shell that started this one)
/// cannot enable controllers: say how to give the run a cgroup of its own.
pub fn explain(e: CgroupError) -> CgroupError {
    match e {
        CgroupError::Write {
            path,
            value,
            source,
            ..
        } if source.raw_os_error() == Some(libc::EBUSY) => CgroupError::Write {
            path,
            value,
            source,
            hint: "other processes (your shell?) share this delegated cgroup, and v2 lets a \
                   cgroup with processes hand no controller to its children: give the run a \
                   scope of its own, `systemd-run --user --scope -p Delegate=yes learn-containers \
                   lesson 4`",
        },
        e => e,
    }
}

/// Notes that `controller` was enabled in `dir`'s subtree_control, to disable it again.
pub fn enabled(dir: &Path, controller: &str) {
    if base() == Some(dir) {
        let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
        done.enabled.push(controller.to_owned());
    }
}

/// Undoes [`step_aside`], once every cgroup of this run is gone: the controllers enabled
/// on `learn-containers/` and on the base are disabled, this process moves back into the
/// base, and the leaf (and `learn-containers/`, when empty) is removed. Best effort: a
/// step the kernel refuses (another run still uses the subtree) leaves the rest to `clean`.
pub fn step_back() {
    let Some(base) = base() else {
        return;
    };
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if !done.moved {
        return;
    }
    let ours = base.join(OURS);
    // Another run still has cgroups here: its controllers must stay on.
    let others = std::fs::read_dir(&ours).is_ok_and(|rd| {
        rd.flatten()
            .any(|e| e.file_type().is_ok_and(|t| t.is_dir()) && e.path() != leaf(base))
    });
    if others {
        return;
    }
    let disable = |dir: &Path, names: &[String]| -> bool {
        names.iter().all(|c| {
            let file = dir.join("cgroup.subtree_control");
            let on = read_file(&file).is_ok_and(|t| t.split_whitespace().any(|x| x == c));
            !on || write_file(&file, &format!("-{c}")).is_ok()
        })
    };
    // learn-containers/ enables what the base does (see CgroupFs::create).
    let names = done.enabled.clone();
    let ours_on: Vec<String> = read_file(&ours.join("cgroup.subtree_control"))
        .map(|t| t.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    if !disable(&ours, &ours_on) || !disable(base, &names) {
        return;
    }
    if write_file(&base.join("cgroup.procs"), &std::process::id().to_string()).is_err() {
        return;
    }
    done.moved = false;
    done.enabled.clear();
    let _ = std::fs::remove_dir(leaf(base));
    let _ = std::fs::remove_dir(&ours);
}
