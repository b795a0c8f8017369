//! Where the host's cgroup hierarchies are, which controller each holds, and making
//! cgroups in them. Host safety: cgroups are only ever created under
//! `<hierarchy>/learn-containers/`. The only write outside it is enabling a missing
//! controller in the v2 root's `cgroup.subtree_control`, which v2 requires before any
//! child can use it. Without root, on a v2 host, a subtree delegated to the user stands
//! in for the root (see [`super::delegation`]).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::delegation;
use super::error::{CgroupError, io_err};
use super::files::{check_name, enable_controller, mkdir_ours, read_file};
use super::group::Cgroup;
use super::membership;
use super::mode::{
    CGROUP_ROOT, Detection, Mode, NotMounted, OURS, Version, detect_mode, statfs_kind,
};
use super::owned::OwnedCgroup;
use crate::kernel::mountinfo::{self, Mount};
use crate::kernel::undo;

/// Where one controller lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Controller {
    pub name: String,
    pub version: Version,
    /// The root of the hierarchy the controller is bound to.
    pub dir: PathBuf,
}

/// The host's cgroup filesystems: the mode and where each controller is.
#[derive(Debug, Clone)]
pub struct CgroupFs {
    pub root: PathBuf,
    pub mode: Mode,
    detection: Detection,
    /// v1 controller name -> mount point of its hierarchy.
    v1: BTreeMap<String, PathBuf>,
    /// The cgroup2 tree: `root` on v2, `root/unified` on hybrid.
    v2: Option<PathBuf>,
    /// v1 hierarchies with no controller (`name=systemd`): runc makes cgroups there too.
    named: Vec<PathBuf>,
}

impl CgroupFs {
    /// Detects the real host: statfs on /sys/fs/cgroup (and unified/), v1 hierarchies from
    /// /proc/self/mountinfo.
    pub fn detect() -> Result<CgroupFs, CgroupError> {
        let root = Path::new(CGROUP_ROOT);
        let detection = detect_mode(root, statfs_kind)?;
        let mode = detection.mode;
        let (v1, named) = match mode {
            Mode::V2 => (BTreeMap::new(), Vec::new()),
            Mode::V1 | Mode::Hybrid => {
                let mounts = mountinfo::read(None)?;
                (
                    v1_controller_dirs(&mounts, root),
                    v1_named_dirs(&mounts, root),
                )
            }
        };
        // Rootless on v2: the subtree delegated to this user is where cgroups go.
        let mut detection = detection;
        let v2 = match (mode, delegation::base()) {
            (Mode::V2, Some(base)) => {
                detection.how.push_str(&format!(
                    "; not root: cgroups go in the one delegated to you, {}",
                    base.display()
                ));
                Some(base.to_path_buf())
            }
            _ => v2_dir(root, mode),
        };
        Ok(CgroupFs {
            root: root.to_path_buf(),
            mode,
            detection,
            v1,
            v2,
            named,
        })
    }

    /// Builds the view of a cgroup tree laid out at `root` in the given mode, without
    /// statfs or mountinfo: for tests against fake trees in temporary directories.
    /// v1 hierarchies are the subdirectories of `root` whose name, split on `,`, lists
    /// controllers (`cpu,cpuacct`), or symlinks to them (`cpu -> cpu,cpuacct`); the v2
    /// tree (`root`, or `root/unified` on hybrid) must have a `cgroup.controllers` file.
    pub fn from_tree(root: &Path, mode: Mode) -> Result<CgroupFs, CgroupError> {
        let v2 = v2_dir(root, mode);
        if let Some(dir) = &v2 {
            let file = dir.join("cgroup.controllers");
            if !file.is_file() {
                return Err(NotMounted {
                    how: format!("{} does not exist", file.display()),
                }
                .into());
            }
        }
        let v1 = match mode {
            Mode::V2 => BTreeMap::new(),
            Mode::V1 | Mode::Hybrid => v1_dirs_in_tree(root)?,
        };
        Ok(CgroupFs {
            root: root.to_path_buf(),
            mode,
            detection: Detection {
                mode,
                how: format!("given: a {mode} tree at {}", root.display()),
            },
            v1,
            v2,
            named: Vec::new(),
        })
    }

    pub fn detection(&self) -> &Detection {
        &self.detection
    }

    /// Where a controller ("cpu", "memory", "pids", ...) lives and which interface it
    /// speaks. On hybrid hosts controllers are bound to v1; only a controller that no v1
    /// hierarchy has can be found in the unified tree.
    pub fn controller(&self, name: &str) -> Option<Controller> {
        if let Some(dir) = self.v1.get(name) {
            return Some(Controller {
                name: name.to_string(),
                version: Version::V1,
                dir: dir.clone(),
            });
        }
        let v2 = self.v2.as_ref()?;
        v2_controllers(v2)
            .iter()
            .any(|c| c == name)
            .then(|| Controller {
                name: name.to_string(),
                version: Version::V2,
                dir: v2.clone(),
            })
    }

    /// Every controller available, v1 ones first; for `doctor`.
    pub fn controllers(&self) -> Vec<Controller> {
        let mut out: Vec<Controller> = self
            .v1
            .iter()
            .map(|(name, dir)| Controller {
                name: name.clone(),
                version: Version::V1,
                dir: dir.clone(),
            })
            .collect();
        if let Some(v2) = &self.v2 {
            for name in v2_controllers(v2) {
                if !self.v1.contains_key(&name) {
                    out.push(Controller {
                        name,
                        version: Version::V2,
                        dir: v2.clone(),
                    });
                }
            }
        }
        out
    }

    /// The cgroup2 tree, if the host has one (its root on v2, `unified/` on hybrid).
    pub fn v2_root(&self) -> Option<&Path> {
        self.v2.as_deref()
    }

    /// Creates `<controller's hierarchy>/learn-containers/<name>`.
    ///
    /// On v2 a child can only use a controller its parent lists in
    /// `cgroup.subtree_control`, so `+<controller>` is written to the root's (only when
    /// missing) and to `learn-containers/`'s. No process is ever put in
    /// `learn-containers/` itself: v2 forbids processes in a cgroup that hands
    /// controllers to its children (the no-internal-processes rule).
    pub fn create(&self, controller: &str, name: &str) -> Result<Cgroup, CgroupError> {
        self.create_for(&[controller], name)
    }

    /// Like [`CgroupFs::create`], for several controllers that share one hierarchy (all of
    /// them on v2; on v1 only those mounted together, as `cpu,cpuacct`): each is enabled
    /// on the way down on v2. Controllers in different hierarchies are refused
    /// ([`CgroupError::NotTogether`]): make one cgroup in each ([`super::joint`]).
    pub fn create_for(&self, controllers: &[&str], name: &str) -> Result<Cgroup, CgroupError> {
        check_name(name)?;
        let found: Vec<Controller> = controllers
            .iter()
            .map(|c| self.require(c))
            .collect::<Result<_, _>>()?;
        let Some(ctrl) = found.first() else {
            return Err(CgroupError::InvalidName {
                name: name.to_string(),
                reason: "no controller was named for it",
            });
        };
        if found.iter().any(|c| c.dir != ctrl.dir) {
            return Err(CgroupError::NotTogether {
                controllers: controllers.iter().map(|c| c.to_string()).collect(),
                mode: self.mode,
            });
        }
        let base = ctrl.dir.join(OURS);
        if ctrl.version == Version::V2 {
            for controller in controllers {
                if delegation::base() == Some(ctrl.dir.as_path()) {
                    delegation::step_aside(&ctrl.dir)?;
                    if enable_controller(&ctrl.dir, controller).map_err(delegation::explain)? {
                        delegation::enabled(&ctrl.dir, controller);
                    }
                } else {
                    enable_controller(&ctrl.dir, controller)?;
                }
            }
        }
        let path = base.join(name);
        // Another run removes learn-containers/ when it leaves it empty; if that happens
        // between our mkdir of it and of `name`, make it again.
        let mut attempts = 0;
        loop {
            attempts += 1;
            mkdir_ours(&base)?;
            if ctrl.version == Version::V2 {
                for controller in controllers {
                    enable_controller(&base, controller)?;
                }
            }
            match fs::create_dir(&path) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(CgroupError::Exists { path });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound && attempts < 3 => {}
                Err(e) => return Err(io_err("create", &path, e)),
            }
        }
        Ok(Cgroup {
            path,
            version: ctrl.version,
        })
    }

    /// Every hierarchy's mount point, once each, with its version: the v1 ones (named
    /// ones like `name=systemd` included) and the cgroup2 tree.
    pub fn hierarchies(&self) -> Vec<(PathBuf, Version)> {
        let mut v1: Vec<PathBuf> = self.v1.values().chain(&self.named).cloned().collect();
        v1.sort();
        v1.dedup();
        let mut out: Vec<(PathBuf, Version)> = v1.into_iter().map(|h| (h, Version::V1)).collect();
        out.extend(self.v2.iter().map(|h| (h.clone(), Version::V2)));
        out
    }

    /// Every `<hierarchy>/learn-containers` that exists, for `clean`.
    pub fn learn_containers_dirs(&self) -> Vec<PathBuf> {
        self.hierarchies()
            .into_iter()
            .map(|(h, _)| h.join(OURS))
            .filter(|d| fs::symlink_metadata(d).is_ok_and(|m| m.is_dir()))
            .collect()
    }

    /// Like [`CgroupFs::controller`], but a missing controller is an error that names
    /// `learn-containers doctor`.
    pub fn require(&self, controller: &str) -> Result<Controller, CgroupError> {
        self.controller(controller)
            .ok_or_else(|| CgroupError::MissingController {
                controller: controller.to_string(),
                mode: self.mode,
            })
    }

    /// Creates `learn-containers/<purpose>-<this pid>` in the controller's hierarchy, as
    /// an [`OwnedCgroup`]: registered for Ctrl-C cleanup while it exists, and removed
    /// (members killed first) when dropped. `clean` treats the cgroup as in use for as
    /// long as this process lives, because of the pid in its name.
    pub fn create_owned(
        &self,
        controller: &str,
        purpose: &str,
    ) -> Result<OwnedCgroup, CgroupError> {
        self.create_owned_for(&[controller], purpose)
    }

    /// [`CgroupFs::create_owned`] for controllers that share a hierarchy (see
    /// [`CgroupFs::create_for`]).
    pub fn create_owned_for(
        &self,
        controllers: &[&str],
        purpose: &str,
    ) -> Result<OwnedCgroup, CgroupError> {
        let name = format!("{purpose}-{}", std::process::id());
        // Made and registered in one step (see undo::making).
        undo::making(|| Ok(OwnedCgroup::register(self.create_for(controllers, &name)?)))
    }

    /// The directory of the cgroup `pid` belongs to in `controller`'s hierarchy, read
    /// from /proc/PID/cgroup.
    pub fn cgroup_of(&self, pid: i32, controller: &str) -> Result<PathBuf, CgroupError> {
        let file = PathBuf::from(format!("/proc/{pid}/cgroup"));
        let text = read_file(&file)?;
        self.dir_in_proc_cgroup(&text, controller)
            .ok_or_else(|| CgroupError::Parse {
                what: file.display().to_string(),
                text,
                reason: format!("no line for the {controller} controller"),
            })
    }

    /// Finds `controller`'s line in the text of /proc/PID/cgroup (`1:cpu:/a/b` on v1,
    /// `0::/a/b` on v2) and joins its path onto the hierarchy's mount point.
    pub fn dir_in_proc_cgroup(&self, text: &str, controller: &str) -> Option<PathBuf> {
        let ctrl = self.controller(controller)?;
        let path = membership::parse(text)
            .into_iter()
            .find(|m| match ctrl.version {
                Version::V1 => m.binds(controller),
                Version::V2 => m.is_unified(),
            })?
            .path;
        let relative = path.strip_prefix("/").unwrap_or(&path);
        // The path is relative to the hierarchy's mount, which a delegated subtree is not.
        let mount = match ctrl.version {
            Version::V1 => ctrl.dir,
            Version::V2 => v2_dir(&self.root, self.mode)?,
        };
        Some(if relative.as_os_str().is_empty() {
            mount
        } else {
            mount.join(relative)
        })
    }
}

fn v2_dir(root: &Path, mode: Mode) -> Option<PathBuf> {
    match mode {
        Mode::V2 => Some(root.to_path_buf()),
        Mode::Hybrid => Some(root.join("unified")),
        Mode::V1 => None,
    }
}

fn v2_controllers(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join("cgroup.controllers"))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Super options of a v1 cgroup mount that are not controller names.
const V1_NON_CONTROLLERS: &[&str] = &[
    "rw",
    "ro",
    "noprefix",
    "clone_children",
    "xattr",
    "cpuset_v2_mode",
    "favordynmods",
    "nofavordynmods",
    "none",
    "all",
];

/// The controllers of each v1 cgroup mount (fstype `cgroup`, controllers in the super
/// options, e.g. `rw,cpu,cpuacct`), mapped to the mount point. Mounts under `root` win
/// over the same hierarchy bind-mounted elsewhere. Named hierarchies (`name=systemd`)
/// have no controller and are left out.
pub fn v1_controller_dirs(mounts: &[Mount], root: &Path) -> BTreeMap<String, PathBuf> {
    let mut v1: Vec<&Mount> = mounts.iter().filter(|m| m.fstype == "cgroup").collect();
    v1.sort_by_key(|m| !m.mount_point.starts_with(root));
    let mut out = BTreeMap::new();
    for m in v1 {
        for c in m.super_options.split(',') {
            if !c.is_empty() && !c.contains('=') && !V1_NON_CONTROLLERS.contains(&c) {
                out.entry(c.to_string())
                    .or_insert_with(|| m.mount_point.clone());
            }
        }
    }
    out
}

/// Mount points under `root` of v1 hierarchies that have no controller, only a name
/// (`name=systemd`).
pub fn v1_named_dirs(mounts: &[Mount], root: &Path) -> Vec<PathBuf> {
    mounts
        .iter()
        .filter(|m| m.fstype == "cgroup" && m.mount_point.starts_with(root))
        .filter(|m| {
            m.super_options.split(',').any(|o| o.starts_with("name="))
                && m.super_options
                    .split(',')
                    .all(|o| o.is_empty() || o.contains('=') || V1_NON_CONTROLLERS.contains(&o))
        })
        .map(|m| m.mount_point.clone())
        .collect()
}

fn v1_dirs_in_tree(root: &Path) -> Result<BTreeMap<String, PathBuf>, CgroupError> {
    let mut entries: Vec<(bool, String, PathBuf)> = Vec::new();
    for e in fs::read_dir(root).map_err(|e| io_err("list", root, e))? {
        let e = e.map_err(|e| io_err("list", root, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let is_link = e.file_type().is_ok_and(|t| t.is_symlink());
        if name != "unified" && e.path().is_dir() {
            entries.push((is_link, name, e.path()));
        }
    }
    // Real directories first, so `cpu -> cpu,cpuacct` resolves to where the mount is.
    entries.sort();
    let mut out = BTreeMap::new();
    for (_, name, path) in entries {
        for c in name.split(',').filter(|c| !c.is_empty()) {
            out.entry(c.to_string()).or_insert_with(|| path.clone());
        }
    }
    Ok(out)
}
