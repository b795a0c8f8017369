//! The one place that owns cgroups: mode detection, where each controller lives, and
//! creating, limiting, joining, reading and removing the cgroups this tool makes.
//!
//! Three host layouts must work (see DESIGN.md, "Hosts"):
//! - **cgroup v2**: /sys/fs/cgroup is a cgroup2 mount, one tree for every controller;
//! - **cgroup v1**: /sys/fs/cgroup is a tmpfs holding one cgroup mount per hierarchy
//!   (`cpu`, `memory`, `pids`, ... sometimes co-mounted as `cpu,cpuacct`);
//! - **hybrid**: v1 as above plus a cgroup2 mount at /sys/fs/cgroup/unified, which
//!   usually holds no controllers.
//!
//! Host safety: cgroups are only ever created under `<hierarchy>/learn-containers/`, and
//! [`Cgroup::remove`] refuses any path without a `learn-containers` component. The only
//! write outside `learn-containers/` is enabling a missing controller in the v2 root's
//! `cgroup.subtree_control`, which v2 requires before any child can use it.
//!
//! Without root, on a v2 host, a subtree delegated to the user stands in for the root
//! (see [`delegation`]).

pub mod delegation;

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Serialize;

use super::cleanup::{self, Resource};
use super::mountinfo::{self, Mount, MountinfoError};

/// Where cgroup filesystems are mounted on every mainstream distribution.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// The directory, in each hierarchy, that holds every cgroup this tool creates.
pub const OURS: &str = "learn-containers";

/// How long [`Cgroup::remove`] keeps killing members and retrying rmdir before giving up.
const REMOVE_DEADLINE: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(10);

/// Which cgroup interface a hierarchy speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Version {
    V1,
    V2,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V1 => "cgroup v1",
            Version::V2 => "cgroup v2",
        })
    }
}

/// How the host lays out its cgroup filesystems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    V1,
    Hybrid,
    V2,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::V1 => "cgroup v1",
            Mode::Hybrid => "hybrid",
            Mode::V2 => "cgroup v2",
        })
    }
}

/// The filesystem type statfs(2) reports for a path, as far as detection cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FsKind {
    Cgroup2,
    Cgroup1,
    Tmpfs,
    Other,
}

impl fmt::Display for FsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FsKind::Cgroup2 => "cgroup2",
            FsKind::Cgroup1 => "cgroup (v1)",
            FsKind::Tmpfs => "tmpfs",
            FsKind::Other => "neither cgroup nor tmpfs",
        })
    }
}

/// The detected mode and the evidence for it, worded for `doctor` and for learners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    pub mode: Mode,
    /// e.g. "statfs: /sys/fs/cgroup is tmpfs, /sys/fs/cgroup/unified is cgroup2".
    pub how: String,
}

/// Decides the mode from the filesystem types of `/sys/fs/cgroup` and of
/// `/sys/fs/cgroup/unified` (`None`: the path does not exist).
pub fn classify(root: Option<FsKind>, unified: Option<FsKind>) -> Option<Mode> {
    match (root, unified) {
        (Some(FsKind::Cgroup2), _) => Some(Mode::V2),
        (_, Some(FsKind::Cgroup2)) => Some(Mode::Hybrid),
        (Some(FsKind::Tmpfs | FsKind::Cgroup1), _) => Some(Mode::V1),
        _ => None,
    }
}

/// The real filesystem probe: statfs(2) and the magic numbers from statfs(2)'s man page.
pub fn statfs_kind(path: &Path) -> Option<FsKind> {
    use nix::sys::statfs::{CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, TMPFS_MAGIC, statfs};
    let t = statfs(path).ok()?.filesystem_type();
    Some(if t == CGROUP2_SUPER_MAGIC {
        FsKind::Cgroup2
    } else if t == CGROUP_SUPER_MAGIC {
        FsKind::Cgroup1
    } else if t == TMPFS_MAGIC {
        FsKind::Tmpfs
    } else {
        FsKind::Other
    })
}

/// Detects the mode of the cgroup tree at `root`, asking `fs_kind` for filesystem types
/// ([`statfs_kind`] on a real host, a table in tests). A tmpfs root only counts as v1 when
/// at least one of its subdirectories is a v1 cgroup mount.
pub fn detect_mode(
    root: &Path,
    fs_kind: impl Fn(&Path) -> Option<FsKind>,
) -> Result<Detection, CgroupError> {
    let unified = root.join("unified");
    let root_kind = fs_kind(root);
    let unified_kind = fs_kind(&unified);
    let describe = |p: &Path, k: Option<FsKind>| match k {
        Some(k) => format!("{} is {k}", p.display()),
        None => format!("{} does not exist", p.display()),
    };
    let mut how = format!("statfs: {}", describe(root, root_kind));
    if root_kind != Some(FsKind::Cgroup2) {
        how.push_str(&format!(", {}", describe(&unified, unified_kind)));
    }
    let Some(mode) = classify(root_kind, unified_kind) else {
        return Err(CgroupError::NotMounted { how });
    };
    if mode != Mode::V2 && root_kind != Some(FsKind::Cgroup1) {
        let mut v1: Vec<String> = fs::read_dir(root)
            .map(|rd| {
                rd.flatten()
                    // Symlinks such as cpu -> cpu,cpuacct name the same mount twice.
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .filter(|e| fs_kind(&e.path()) == Some(FsKind::Cgroup1))
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v1.sort();
        if v1.is_empty() {
            how.push_str(", and no cgroup v1 hierarchy is mounted under it");
            if mode == Mode::V1 {
                return Err(CgroupError::NotMounted { how });
            }
        } else {
            how.push_str(&format!("; v1 hierarchies: {}", v1.join(" ")));
        }
    }
    Ok(Detection { mode, how })
}

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
                return Err(CgroupError::NotMounted {
                    how: format!("{} does not exist", file.display()),
                });
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
        check_name(name)?;
        let ctrl = self
            .controller(controller)
            .ok_or_else(|| CgroupError::MissingController {
                controller: controller.to_string(),
                mode: self.mode,
            })?;
        let base = ctrl.dir.join(OURS);
        if ctrl.version == Version::V2 {
            if delegation::base() == Some(ctrl.dir.as_path()) {
                delegation::step_aside(&ctrl.dir)?;
                enable_controller(&ctrl.dir, controller).map_err(delegation::explain)?;
            } else {
                enable_controller(&ctrl.dir, controller)?;
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
                enable_controller(&base, controller)?;
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
        let name = format!("{purpose}-{}", std::process::id());
        // Made and registered in one step (see cleanup::making).
        cleanup::making(|| {
            let cgroup = self.create(controller, &name)?;
            let token = cleanup::register(Resource::Cgroup(cgroup.path.clone(), cgroup.version));
            Ok(OwnedCgroup {
                cgroup,
                token: Some(token),
            })
        })
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
        let lines = parse_proc_self_cgroup(text);
        let path = match ctrl.version {
            Version::V1 => lines
                .into_iter()
                .find(|(id, names, _)| *id != 0 && names.iter().any(|n| n == controller))?,
            Version::V2 => lines
                .into_iter()
                .find(|(id, names, _)| *id == 0 && names.is_empty())?,
        }
        .2;
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

/// A cgroup this process created and owns: registered with the cleanup registry (so
/// Ctrl-C removes it) and removed when dropped, along with `learn-containers/` if that
/// is then empty. Derefs to [`Cgroup`].
#[derive(Debug)]
pub struct OwnedCgroup {
    cgroup: Cgroup,
    token: Option<cleanup::Token>,
}

impl OwnedCgroup {
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
            cleanup::unregister(token);
            remove_base_if_empty(&self.cgroup.path);
        } else {
            // Still there: leave it registered so Ctrl-C and `clean` can retry.
            self.token = Some(token);
        }
        result
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

/// After removing `cgroup`, removes its parent too when that is a `learn-containers/`
/// directory left empty. rmdir itself is the test: the kernel refuses (EBUSY) while
/// another run still has cgroups in it, and nothing is ever killed for it.
pub fn remove_base_if_empty(cgroup: &Path) {
    if let Some(base) = cgroup.parent()
        && base.file_name().is_some_and(|n| n == OURS)
        && !cgroup.components().any(|c| c == Component::ParentDir)
    {
        let _ = fs::remove_dir(base);
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

fn check_name(name: &str) -> Result<(), CgroupError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name == "." || name == ".." {
        "it names a directory that already exists"
    } else if name.contains('/') || name.contains('\0') {
        "it contains `/` or a NUL byte"
    } else if name.starts_with("cgroup.") || name.contains(' ') {
        "cgroupfs reserves `cgroup.` names and names must not contain spaces"
    } else {
        return Ok(());
    };
    Err(CgroupError::InvalidName {
        name: name.to_string(),
        reason,
    })
}

fn mkdir_ours(dir: &Path) -> Result<(), CgroupError> {
    match fs::create_dir(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err("create", dir, e)),
    }
    // Never follow a symlink out of the hierarchy.
    match fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        _ => Err(CgroupError::Refused {
            path: dir.to_path_buf(),
            reason: "it exists and is not a directory (a symlink?)",
        }),
    }
}

/// Writes `+<controller>` to `dir/cgroup.subtree_control` unless it is already enabled.
fn enable_controller(dir: &Path, controller: &str) -> Result<(), CgroupError> {
    let file = dir.join("cgroup.subtree_control");
    let enabled = read_file(&file)?;
    if enabled.split_whitespace().any(|c| c == controller) {
        return Ok(());
    }
    write_file(&file, &format!("+{controller}"))?;
    delegation::enabled(dir, controller);
    Ok(())
}

/// One cgroup directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    pub path: PathBuf,
    pub version: Version,
}

/// A CPU bandwidth limit: at most `quota_us` of CPU time every `period_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CpuLimit {
    /// `None`: no limit ("max" on v2, -1 on v1).
    pub quota_us: Option<u64>,
    pub period_us: u64,
}

impl CpuLimit {
    /// The kernel's default period, the one docker uses for `--cpus`.
    pub const PERIOD_US: u64 = 100_000;
    /// The kernel refuses quotas below 1ms.
    pub const MIN_QUOTA_US: u64 = 1_000;
    /// Far beyond any machine; keeps quota * period arithmetic in range.
    const MAX_CPUS: f64 = 1_000_000.0;

    /// No limit, default period.
    pub fn unlimited() -> CpuLimit {
        CpuLimit {
            quota_us: None,
            period_us: Self::PERIOD_US,
        }
    }

    /// `--cpus` as docker means it: 0.5 is 50000us of CPU time every 100000us.
    pub fn from_cpus(cpus: f64) -> Result<CpuLimit, CgroupError> {
        let invalid = |reason: &str| CgroupError::InvalidCpus {
            cpus,
            reason: reason.to_string(),
        };
        if !cpus.is_finite() {
            return Err(invalid("it is not a finite number"));
        }
        if cpus <= 0.0 {
            return Err(invalid("it must be more than 0"));
        }
        if cpus > Self::MAX_CPUS {
            return Err(invalid("that is more CPUs than any machine has"));
        }
        let quota = (cpus * Self::PERIOD_US as f64).round() as u64;
        if quota < Self::MIN_QUOTA_US {
            return Err(invalid(&format!(
                "the quota would be {quota}us per {}us period, and the kernel's smallest \
                 quota is {}us (0.01 CPUs)",
                Self::PERIOD_US,
                Self::MIN_QUOTA_US
            )));
        }
        Ok(CpuLimit {
            quota_us: Some(quota),
            period_us: Self::PERIOD_US,
        })
    }

    /// [`CpuLimit::from_cpus`], and refused when it asks for more CPUs than the host has
    /// (`cores`): such a quota can never be used up, so it would limit nothing.
    pub fn for_host(cpus: f64, cores: usize) -> Result<CpuLimit, CgroupError> {
        let limit = CpuLimit::from_cpus(cpus)?;
        if cpus > cores as f64 {
            return Err(CgroupError::InvalidCpus {
                cpus,
                reason: format!(
                    "this machine has {cores} CPU{}. A quota of {}us per {}us period could \
                     never be used up, so it would not limit anything",
                    if cores == 1 { "" } else { "s" },
                    limit.quota_us.unwrap_or(0),
                    limit.period_us
                ),
            });
        }
        Ok(limit)
    }

    /// The limit in CPUs (`None`: unlimited).
    pub fn cpus(&self) -> Option<f64> {
        self.quota_us
            .map(|q| q as f64 / self.period_us.max(1) as f64)
    }

    /// The v2 `cpu.max` line: "50000 100000" or "max 100000".
    pub fn v2_line(&self) -> String {
        match self.quota_us {
            Some(q) => format!("{q} {}", self.period_us),
            None => format!("max {}", self.period_us),
        }
    }

    /// The v1 files and their values, in the order to write them: period first, so the
    /// quota is checked against the new period.
    pub fn v1_files(&self) -> [(&'static str, String); 2] {
        [
            ("cpu.cfs_period_us", self.period_us.to_string()),
            (
                "cpu.cfs_quota_us",
                self.quota_us.map_or("-1".to_string(), |q| q.to_string()),
            ),
        ]
    }

    /// Parses a v2 `cpu.max` line ("50000 100000", "max 100000"; a lone quota keeps the
    /// default period, as the kernel does on write).
    pub fn parse_v2(line: &str) -> Result<CpuLimit, CgroupError> {
        let bad = |reason: &str| CgroupError::Parse {
            what: "cpu.max".to_string(),
            text: line.to_string(),
            reason: reason.to_string(),
        };
        let mut fields = line.split_whitespace();
        let quota = fields.next().ok_or_else(|| bad("it is empty"))?;
        let period = match fields.next() {
            Some(p) => p.parse().map_err(|_| bad("the period is not a number"))?,
            None => Self::PERIOD_US,
        };
        if fields.next().is_some() {
            return Err(bad("expected `<quota|max> <period>`"));
        }
        let quota_us = match quota {
            "max" => None,
            q => Some(
                q.parse()
                    .map_err(|_| bad("the quota is not a number or `max`"))?,
            ),
        };
        Ok(CpuLimit {
            quota_us,
            period_us: period,
        })
    }

    /// Parses the contents of v1 `cpu.cfs_period_us` and `cpu.cfs_quota_us` (-1: no limit).
    pub fn parse_v1(period: &str, quota: &str) -> Result<CpuLimit, CgroupError> {
        let bad = |file: &str, text: &str| CgroupError::Parse {
            what: file.to_string(),
            text: text.to_string(),
            reason: "not a number".to_string(),
        };
        let period_us = period
            .trim()
            .parse()
            .map_err(|_| bad("cpu.cfs_period_us", period))?;
        let q: i64 = quota
            .trim()
            .parse()
            .map_err(|_| bad("cpu.cfs_quota_us", quota))?;
        Ok(CpuLimit {
            quota_us: u64::try_from(q).ok(),
            period_us,
        })
    }
}

/// How many CPUs this process may run on (its affinity mask), for [`CpuLimit::for_host`].
pub fn host_cpus() -> usize {
    nix::sched::sched_getaffinity(Pid::from_raw(0))
        .map(|set| {
            (0..nix::sched::CpuSet::count())
                .filter(|&i| set.is_set(i).unwrap_or(false))
                .count()
        })
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or(1)
}

/// CPU counters of a cgroup, in v2's units (microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CpuStat {
    /// Enforcement periods that have elapsed while the cgroup was runnable.
    pub nr_periods: u64,
    /// Periods in which the cgroup used up its quota and was throttled.
    pub nr_throttled: u64,
    /// Total time the cgroup spent throttled.
    pub throttled_usec: u64,
    /// Total CPU time used (v2 `usage_usec`; v1 `cpuacct.usage` when co-mounted).
    pub usage_usec: Option<u64>,
}

/// Parses `cpu.stat`. v2 counts in microseconds (`throttled_usec`, `usage_usec`); v1 has
/// `throttled_time` in nanoseconds and no usage. Missing keys read as 0.
pub fn parse_cpu_stat(text: &str, version: Version) -> CpuStat {
    let kv: BTreeMap<&str, u64> = text
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?, it.next()?.parse().ok()?))
        })
        .collect();
    let get = |k: &str| kv.get(k).copied().unwrap_or(0);
    match version {
        Version::V2 => CpuStat {
            nr_periods: get("nr_periods"),
            nr_throttled: get("nr_throttled"),
            throttled_usec: get("throttled_usec"),
            usage_usec: kv.get("usage_usec").copied(),
        },
        Version::V1 => CpuStat {
            nr_periods: get("nr_periods"),
            nr_throttled: get("nr_throttled"),
            throttled_usec: get("throttled_time") / 1000,
            usage_usec: None,
        },
    }
}

/// Parses /proc/PID/cgroup: `hierarchy-id:controllers:path` per line (`0::/path` is the
/// v2 tree). Lines that do not have that shape are skipped.
pub fn parse_proc_self_cgroup(text: &str) -> Vec<(u32, Vec<String>, PathBuf)> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let id = it.next()?.parse().ok()?;
            let controllers = it.next()?;
            let path = it.next()?;
            let controllers = controllers
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            Some((id, controllers, PathBuf::from(path)))
        })
        .collect()
}

impl Cgroup {
    /// Adopts an existing cgroup directory (for `clean`, or one a verifier prepared).
    pub fn open(path: &Path, version: Version) -> Cgroup {
        Cgroup {
            path: path.to_path_buf(),
            version,
        }
    }

    /// The path of one interface file, e.g. `cpu.max`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// v1: `cpu.cfs_period_us` then `cpu.cfs_quota_us`; v2: `cpu.max`.
    pub fn set_cpu_limit(&self, limit: &CpuLimit) -> Result<(), CgroupError> {
        match self.version {
            Version::V1 => {
                for (file, value) in limit.v1_files() {
                    write_file(&self.file(file), &value)?;
                }
                Ok(())
            }
            Version::V2 => write_file(&self.file("cpu.max"), &limit.v2_line()),
        }
    }

    /// On v2, lets this cgroup's children use `controller` (`+cpu` in its
    /// `cgroup.subtree_control`); from then on no process may live in this cgroup itself.
    /// v1 needs nothing: every cgroup of a hierarchy has its controllers.
    pub fn enable_for_children(&self, controller: &str) -> Result<(), CgroupError> {
        match self.version {
            Version::V1 => Ok(()),
            Version::V2 => enable_controller(&self.path, controller),
        }
    }

    /// The CPU limit files present in this directory, by name, with their raw contents:
    /// `cpu.max` on v2, `cpu.cfs_period_us` and `cpu.cfs_quota_us` on v1. Both sets are
    /// looked for, so a v1 name written into a v2 tree (possible only in a fake tree: the
    /// kernel has no such file to write) shows up too.
    pub fn cpu_limit_files(&self) -> BTreeMap<&'static str, String> {
        ["cpu.max", "cpu.cfs_period_us", "cpu.cfs_quota_us"]
            .into_iter()
            .filter_map(|name| {
                let text = fs::read_to_string(self.file(name)).ok()?;
                Some((name, text.trim().to_string()))
            })
            .collect()
    }

    /// The shell commands that write `limit` here, as the book and the demo show them.
    pub fn shell_writes(&self, limit: &CpuLimit) -> Vec<String> {
        match self.version {
            Version::V1 => limit
                .v1_files()
                .iter()
                .map(|(file, value)| format!("echo {value} > {}", self.file(file).display()))
                .collect(),
            Version::V2 => vec![format!(
                "echo \"{}\" > {}",
                limit.v2_line(),
                self.file("cpu.max").display()
            )],
        }
    }

    /// The subdirectories of this cgroup, which are its child cgroups.
    pub fn children(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = fs::read_dir(&self.path)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Reads the limit back from the kernel.
    pub fn cpu_limit(&self) -> Result<CpuLimit, CgroupError> {
        match self.version {
            Version::V1 => CpuLimit::parse_v1(
                &read_file(&self.file("cpu.cfs_period_us"))?,
                &read_file(&self.file("cpu.cfs_quota_us"))?,
            ),
            Version::V2 => CpuLimit::parse_v2(&read_file(&self.file("cpu.max"))?),
        }
    }

    /// The file a single-threaded process writes "0" to in order to move itself in (for
    /// example a container's PID 1, just before it execs): `tasks` on v1, which moves only
    /// the writing thread and so skips the global lock that moving a whole process takes
    /// (a write of cgroup.procs waits for an RCU grace period, milliseconds on a busy
    /// machine); `cgroup.procs` on v2, where ordinary cgroups have no per-thread file.
    pub fn self_join_file(&self) -> PathBuf {
        match self.version {
            Version::V1 => self.file("tasks"),
            Version::V2 => self.file("cgroup.procs"),
        }
    }

    /// Moves a process (all its threads) into this cgroup.
    pub fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        // Writing 0 would move the writer itself.
        if pid <= 0 {
            return Err(CgroupError::InvalidPid { pid });
        }
        write_file(&self.file("cgroup.procs"), &pid.to_string())
    }

    /// The processes in this cgroup (not in its children), as the caller's pid namespace
    /// numbers them; 0 stands for a process outside it.
    pub fn procs(&self) -> Result<Vec<i32>, CgroupError> {
        let file = self.file("cgroup.procs");
        let text = read_file(&file)?;
        parse_pids(&text).map_err(|reason| CgroupError::Parse {
            what: file.display().to_string(),
            text,
            reason,
        })
    }

    /// CPU counters; on v1, usage comes from `cpuacct.usage` when cpuacct is co-mounted.
    pub fn cpu_stat(&self) -> Result<CpuStat, CgroupError> {
        let mut stat = parse_cpu_stat(&read_file(&self.file("cpu.stat"))?, self.version);
        if self.version == Version::V1 {
            let usage = self.file("cpuacct.usage");
            if usage.exists() {
                let text = read_file(&usage)?;
                let ns: u64 = text.trim().parse().map_err(|_| CgroupError::Parse {
                    what: usage.display().to_string(),
                    text: text.clone(),
                    reason: "not a number".to_string(),
                })?;
                stat.usage_usec = Some(ns / 1000);
            }
        }
        Ok(stat)
    }

    /// Kills every process in the cgroup and its children, removes the children depth
    /// first, then the cgroup itself. Refuses any path without a `learn-containers`
    /// component, or with `..`. A cgroup that is already gone is fine.
    ///
    /// Processes are only signalled when the directory is on a cgroup filesystem: a pid
    /// listed in some other directory's `cgroup.procs` file is nothing this tool started.
    pub fn remove(&self) -> Result<(), CgroupError> {
        check_removable(&self.path)?;
        match fs::symlink_metadata(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("inspect", &self.path, e)),
            Ok(m) if !m.is_dir() => {
                return Err(CgroupError::Refused {
                    path: self.path.clone(),
                    reason: "it is not a directory (a symlink?)",
                });
            }
            Ok(_) => {}
        }
        self.kill_members()?;
        let children = fs::read_dir(&self.path).map_err(|e| io_err("list", &self.path, e))?;
        for child in children {
            let child = child.map_err(|e| io_err("list", &self.path, e))?;
            // file_type() does not follow symlinks, so a link never leads out of the tree.
            if child.file_type().is_ok_and(|t| t.is_dir()) {
                Cgroup::open(&child.path(), self.version).remove()?;
            }
        }
        // A killed process can keep its cgroup busy for a moment while it exits.
        let deadline = Instant::now() + REMOVE_DEADLINE;
        loop {
            match fs::remove_dir(&self.path) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                    std::thread::sleep(POLL);
                }
                Err(e) => return Err(io_err("remove", &self.path, e)),
            }
        }
    }

    fn kill_members(&self) -> Result<(), CgroupError> {
        let procs = self.file("cgroup.procs");
        let on_cgroupfs = matches!(
            statfs_kind(&self.path),
            Some(FsKind::Cgroup1 | FsKind::Cgroup2)
        );
        if !on_cgroupfs {
            let listed = read_pids(&procs).unwrap_or_default();
            return if listed.is_empty() {
                Ok(())
            } else {
                Err(CgroupError::Refused {
                    path: self.path.clone(),
                    reason: "it is not on a cgroup filesystem, so the processes its \
                             cgroup.procs lists are not signalled",
                })
            };
        }
        let kill_file = self.file("cgroup.kill");
        if self.version == Version::V2 && kill_file.exists() {
            // cgroup.kill (Linux 5.14+) kills the whole subtree at once, with no race
            // against forks; the loop below then only waits for the members to go.
            write_file(&kill_file, "1")?;
        }
        empty_by_sigkill(
            &self.path,
            || read_pids(&procs),
            |pid| kill(Pid::from_raw(pid), Signal::SIGKILL),
            REMOVE_DEADLINE,
        )
    }
}

/// SIGKILLs every pid `read_procs` lists, until it lists none or `limit` runs out.
/// Never signals pid 0 (a process outside our pid namespace: kill(0) would hit our own
/// process group) or this process.
fn empty_by_sigkill(
    path: &Path,
    mut read_procs: impl FnMut() -> io::Result<Vec<i32>>,
    mut signal: impl FnMut(i32) -> nix::Result<()>,
    limit: Duration,
) -> Result<(), CgroupError> {
    let me = std::process::id() as i32;
    let deadline = Instant::now() + limit;
    loop {
        let pids = match read_procs() {
            Ok(p) => p,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("read", &path.join("cgroup.procs"), e)),
        };
        if pids.is_empty() {
            return Ok(());
        }
        if pids.contains(&me) {
            return Err(CgroupError::Refused {
                path: path.to_path_buf(),
                reason: "this process is itself a member and will not kill itself",
            });
        }
        if Instant::now() >= deadline {
            return Err(CgroupError::NotEmpty {
                path: path.to_path_buf(),
                pids,
            });
        }
        for &pid in pids.iter().filter(|&&p| p > 0) {
            match signal(pid) {
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(errno) => return Err(CgroupError::Signal { pid, errno }),
            }
        }
        std::thread::sleep(POLL);
    }
}

fn check_removable(path: &Path) -> Result<(), CgroupError> {
    let refuse = |reason| {
        Err(CgroupError::Refused {
            path: path.to_path_buf(),
            reason,
        })
    };
    if path.components().any(|c| c == Component::ParentDir) {
        return refuse("it contains `..`");
    }
    if !path.components().any(|c| c.as_os_str() == OURS) {
        return refuse(
            "it is not under a learn-containers/ directory, so this tool did not create it",
        );
    }
    Ok(())
}

fn parse_pids(text: &str) -> Result<Vec<i32>, String> {
    text.split_whitespace()
        .map(|p| p.parse().map_err(|_| format!("`{p}` is not a pid")))
        .collect()
}

fn read_pids(file: &Path) -> io::Result<Vec<i32>> {
    let text = fs::read_to_string(file)?;
    parse_pids(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn read_file(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(|e| io_err("read", path, e))
}

/// Interface files take a whole value in one write, and are never created: a missing
/// file means a missing controller, not something to make up.
fn write_file(path: &Path, value: &str) -> Result<(), CgroupError> {
    fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|source| CgroupError::Write {
            path: path.to_path_buf(),
            value: value.to_string(),
            hint: hint_for(&source),
            source,
        })
}

fn io_err(action: &'static str, path: &Path, source: io::Error) -> CgroupError {
    CgroupError::Io {
        action,
        path: path.to_path_buf(),
        hint: hint_for(&source),
        source,
    }
}

/// The next step for the errors cgroupfs gives.
fn hint_for(e: &io::Error) -> &'static str {
    match e.raw_os_error().map(Errno::from_raw) {
        Some(Errno::EACCES | Errno::EPERM) => {
            "cgroups need root here: run it again with sudo (rootless needs a delegated cgroup v2)"
        }
        Some(Errno::EROFS) => {
            "the cgroup filesystem is read-only (inside a container?): run on the host or in a VM"
        }
        Some(Errno::EBUSY) => {
            "the cgroup is busy: v2 refuses to enable controllers below a cgroup that holds \
             processes, and a cgroup with members or children cannot be removed; \
             run `learn-containers clean`"
        }
        Some(Errno::ENOENT) => {
            "the file is missing: is the controller mounted here? run `learn-containers doctor`"
        }
        Some(Errno::EINVAL) => {
            "the kernel rejected the value: a v1 child's quota may not exceed its parent's, \
             and the cpu controller cannot be enabled while realtime processes run outside \
             the root cgroup"
        }
        Some(Errno::ESRCH) => "that process no longer exists",
        _ => "run `learn-containers doctor` to check this host",
    }
}

/// Everything that can go wrong with cgroups; each message ends with what to do.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error(
        "no usable cgroup filesystem ({how})\n  run `learn-containers doctor` for how to mount one"
    )]
    NotMounted { how: String },
    #[error(
        "no {controller} controller is mounted on this host ({mode}): run `learn-containers doctor`"
    )]
    MissingController { controller: String, mode: Mode },
    #[error("`{name}` cannot be a cgroup name: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error(
        "{cpus} is not a usable CPU limit: {reason}\n  give a number of CPUs such as 0.5 or 1.5"
    )]
    InvalidCpus { cpus: f64, reason: String },
    #[error("{pid} is not a process id that can be moved into a cgroup")]
    InvalidPid { pid: i32 },
    #[error("cannot understand {what} ({reason}): {text:?}")]
    Parse {
        what: String,
        text: String,
        reason: String,
    },
    #[error("cannot {action} {}: {source}\n  {hint}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
        hint: &'static str,
    },
    #[error("cannot write `{value}` to {}: {source}\n  {hint}", path.display())]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
        hint: &'static str,
    },
    #[error("cgroup {} already exists, left over from an interrupted run?\n  run `learn-containers clean`", path.display())]
    Exists { path: PathBuf },
    #[error("refusing to touch {}: {reason}", path.display())]
    Refused { path: PathBuf, reason: &'static str },
    #[error("{} still has processes {pids:?} after {}s of SIGKILL\n  they may be stuck in the kernel (D state) or outside this pid namespace; look at `ps -o pid,stat,cmd -p <pid>`, then run `learn-containers clean`", path.display(), REMOVE_DEADLINE.as_secs())]
    NotEmpty { path: PathBuf, pids: Vec<i32> },
    #[error(
        "cannot SIGKILL process {pid}: {errno}\n  run it as root, or run `learn-containers clean`"
    )]
    Signal { pid: i32, errno: Errno },
    #[error(transparent)]
    Mountinfo(#[from] MountinfoError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn sigkill_loop_kills_until_empty_and_skips_pid_zero() {
        let rounds = RefCell::new(vec![vec![], vec![42, 0], vec![42, 0, 43]]);
        let killed = RefCell::new(Vec::new());
        empty_by_sigkill(
            Path::new("/x/learn-containers/a"),
            || Ok(rounds.borrow_mut().pop().unwrap_or_default()),
            |pid| {
                killed.borrow_mut().push(pid);
                Ok(())
            },
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(*killed.borrow(), vec![42, 43, 42]);
    }

    #[test]
    fn sigkill_loop_is_bounded() {
        let start = Instant::now();
        let err = empty_by_sigkill(
            Path::new("/x/learn-containers/a"),
            || Ok(vec![7]),
            |_| Err(Errno::ESRCH),
            Duration::from_millis(100),
        )
        .unwrap_err();
        assert!(matches!(err, CgroupError::NotEmpty { ref pids, .. } if pids == &[7]));
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn sigkill_loop_never_kills_itself() {
        let me = std::process::id() as i32;
        let err = empty_by_sigkill(
            Path::new("/x/learn-containers/a"),
            || Ok(vec![me]),
            |pid| panic!("signalled {pid}"),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(matches!(err, CgroupError::Refused { .. }));
    }

    #[test]
    fn sigkill_loop_reports_permission_errors() {
        let err = empty_by_sigkill(
            Path::new("/x/learn-containers/a"),
            || Ok(vec![9]),
            |_| Err(Errno::EPERM),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(matches!(err, CgroupError::Signal { pid: 9, .. }));
    }
}
