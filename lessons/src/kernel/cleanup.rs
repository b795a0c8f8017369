//! Cleanup, in one place: a registry of what this run created (so Ctrl-C and SIGTERM can
//! undo it), and the scan behind `learn-containers clean` that finds what a killed run left.
//!
//! Nothing is ever touched unless it carries the `learn-containers` name or lives under a
//! `learn-containers-*` scratch dir whose owner is gone.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use anyhow::{Context, Result};
use nix::mount::{MntFlags, umount2};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::cgroup::{Cgroup, CgroupFs, Version};
use super::{mountinfo, procfs, scratch};

/// Something this run created and must undo.
#[derive(Debug, Clone)]
pub enum Resource {
    ProcessGroup(i32),
    Cgroup(PathBuf, Version),
    Dir(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token(u64);

static NEXT: AtomicU64 = AtomicU64::new(1);
static REGISTRY: Mutex<Vec<(Token, Resource)>> = Mutex::new(Vec::new());
/// Held while something is made and registered, and taken for good by [`release_all`].
static MAKING: Mutex<()> = Mutex::new(());
/// The process the lock above belongs to: a forked child has a copy of it, maybe locked.
static MAKER: OnceLock<u32> = OnceLock::new();

/// Runs `make`, which creates something on the host and registers it (or writes into
/// something registered), so that an interrupt's cleanup runs wholly before it or wholly
/// after it, never in between: a dir made but not yet registered, or a rootfs still being
/// written into a dir being removed, would outlive the run. Once the run is ending, the
/// calling thread waits here until the process exits. `make` must be short and must not
/// call `making` itself.
pub fn making<T>(make: impl FnOnce() -> T) -> T {
    let me = *MAKER.get_or_init(std::process::id);
    if me != std::process::id() {
        // A forked child: its copy of the lock may be held by a thread it does not have,
        // and the interrupt cleanup is the parent's business, not its own.
        return make();
    }
    let _turn = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    make()
}

pub fn register(r: Resource) -> Token {
    let t = Token(NEXT.fetch_add(1, Ordering::Relaxed));
    if let Ok(mut reg) = REGISTRY.lock() {
        reg.push((t, r));
    }
    t
}

pub fn unregister(t: Token) {
    if let Ok(mut reg) = REGISTRY.lock() {
        reg.retain(|(x, _)| *x != t);
    }
}

/// A registration undone when dropped, for what has no guard of its own.
#[derive(Debug)]
pub struct Registered(Token);

impl Registered {
    pub fn new(r: Resource) -> Registered {
        Registered(register(r))
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        unregister(self.0);
    }
}

/// Undoes everything still registered, newest first: processes, then cgroups, then dirs.
/// Called when the CLI is interrupted, right before it exits (a second call waits for the
/// process to end); guards do the same on the normal path.
pub fn release_all() {
    MAKER.get_or_init(std::process::id);
    // Kept until the process exits: whatever another thread was making is finished and
    // registered first, and nothing new is made after.
    std::mem::forget(MAKING.lock().unwrap_or_else(|e| e.into_inner()));
    let items: Vec<Resource> = match REGISTRY.lock() {
        Ok(mut reg) => reg.drain(..).rev().map(|(_, r)| r).collect(),
        Err(_) => return,
    };
    for r in &items {
        if let Resource::ProcessGroup(pgid) = r {
            super::child::kill_group(Pid::from_raw(*pgid));
            let _ = nix::sys::wait::waitpid(Pid::from_raw(*pgid), None);
        }
    }
    for r in &items {
        if let Resource::Cgroup(path, version) = r
            && Cgroup::open(path, *version).remove().is_ok()
        {
            super::cgroup::remove_base_if_empty(path);
        }
    }
    // Rootless: leave the delegated cgroup as it was found.
    super::cgroup::delegation::step_back();
    for r in &items {
        if let Resource::Dir(path) = r {
            // The thread that was interrupted may still write a file into the tree while
            // it is being removed (an rmdir then finds it not empty): go again.
            for _ in 0..10 {
                if scratch::remove_stamped(path).is_ok() && !path.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
    }
}

/// Something an interrupted run left on the host.
#[derive(Debug, Clone)]
pub enum Leftover {
    Process { pid: i32, why: String },
    Mount(PathBuf),
    Cgroup(PathBuf, Version),
    TempDir(PathBuf),
}

impl std::fmt::Display for Leftover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Leftover::Process { pid, why } => write!(f, "process {pid} ({why})"),
            Leftover::Mount(p) => write!(f, "mount {}", p.display()),
            Leftover::Cgroup(p, _) => write!(f, "cgroup {}", p.display()),
            Leftover::TempDir(p) => write!(f, "temp dir {}", p.display()),
        }
    }
}

/// Scratch dirs whose maker is gone, in every temp dir this tool may have used.
fn stale_dirs() -> Vec<PathBuf> {
    let mut bases = vec![
        std::env::temp_dir(),
        PathBuf::from("/tmp"),
        PathBuf::from("/var/tmp"),
    ];
    bases.dedup();
    let me = nix::unistd::geteuid().as_raw();
    let mut out = Vec::new();
    for base in bases {
        let Ok(rd) = std::fs::read_dir(&base) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            if !name.to_string_lossy().starts_with(scratch::PREFIX) {
                continue;
            }
            let Ok(md) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            use std::os::unix::fs::MetadataExt;
            // Only real dirs we own: a planted symlink or someone else's dir is not ours.
            if !md.is_dir() || md.uid() != me {
                continue;
            }
            let p = e.path();
            if scratch::abandoned(&p) && !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

fn under_any(p: &Path, dirs: &[PathBuf]) -> bool {
    dirs.iter().any(|d| p.starts_with(d))
}

/// Finds everything interrupted runs left behind, in the order it must be removed.
pub fn find_leftovers() -> Vec<Leftover> {
    let dirs = stale_dirs();
    let mut out = Vec::new();
    let me = std::process::id() as i32;
    // Processes whose root, cwd or executable lies in a stale scratch dir.
    for pid in procfs::pids() {
        if pid == me {
            continue;
        }
        let root = procfs::root(pid).ok();
        let cwd = procfs::cwd(pid).ok();
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        let hit = [("root", root), ("cwd", cwd), ("exe", exe)]
            .into_iter()
            .find_map(|(what, p)| p.filter(|p| under_any(p, &dirs)).map(|p| (what, p)));
        if let Some((what, p)) = hit {
            let comm = procfs::comm(pid).unwrap_or_default();
            out.push(Leftover::Process {
                pid,
                why: format!("{comm}, {what} in {}", p.display()),
            });
        }
    }
    // Mounts in this mount namespace named for the project or inside a stale dir.
    if let Ok(mounts) = mountinfo::read(None) {
        let mut ms: Vec<PathBuf> = mounts
            .iter()
            .filter(|m| {
                m.source == "learn-containers"
                    || under_any(&m.mount_point, &dirs)
                    || m.mount_point
                        .to_string_lossy()
                        .contains("/learn-containers-")
            })
            .map(|m| m.mount_point.clone())
            .collect();
        ms.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        ms.dedup();
        out.extend(ms.into_iter().map(Leftover::Mount));
    }
    // cgroups under every hierarchy's learn-containers/, children before parents.
    if let Ok(fs) = CgroupFs::detect() {
        for top in fs.learn_containers_dirs() {
            let version = if fs.v2_root().is_some_and(|r| top.starts_with(r)) {
                Version::V2
            } else {
                Version::V1
            };
            let mut found = Vec::new();
            collect_cgroups(&top, &mut found);
            found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
            for p in found {
                // A learner's program may name its own cgroups anything: what lies under
                // a live run's cgroup belongs to that run.
                let in_use = if p == top {
                    cgroup_in_use(&top)
                } else {
                    p.ancestors().take_while(|a| *a != top).any(cgroup_in_use)
                };
                if !in_use {
                    out.push(Leftover::Cgroup(p, version));
                }
            }
        }
    }
    out.extend(dirs.into_iter().map(Leftover::TempDir));
    out
}

fn collect_cgroups(dir: &Path, out: &mut Vec<PathBuf>) {
    out.push(dir.to_owned());
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                collect_cgroups(&e.path(), out);
            }
        }
    }
}

/// cgroups are named `<purpose>-<pid>` after the run that made them: a live run's cgroup
/// is not a leftover. The learn-containers/ parent itself is removed only when empty.
fn cgroup_in_use(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name == "learn-containers" {
        // Removable only if it has no child cgroups left that are in use.
        return std::fs::read_dir(p)
            .map(|rd| {
                rd.flatten().any(|e| {
                    e.file_type().map(|t| t.is_dir()).unwrap_or(false) && cgroup_in_use(&e.path())
                })
            })
            .unwrap_or(false);
    }
    name.rsplit('-')
        .next()
        .and_then(|pid| pid.parse::<i32>().ok())
        .map(|pid| pid != std::process::id() as i32 && procfs::alive(pid))
        .unwrap_or(false)
}

/// Removes one leftover.
pub fn remove(l: &Leftover) -> Result<()> {
    match l {
        Leftover::Process { pid, .. } => {
            match kill(Pid::from_raw(*pid), Signal::SIGKILL) {
                // Gone already: it died with a process killed before it (runc's children
                // go with runc), which is what clean wants.
                Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                Err(e) => return Err(e).with_context(|| format!("kill {pid}")),
            }
            // Gone before clean says so (a PID 1 takes a moment to tear its namespace down).
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
            while procfs::alive(*pid) && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Ok(())
        }
        Leftover::Mount(p) => {
            umount2(p, MntFlags::MNT_DETACH).with_context(|| format!("umount {}", p.display()))
        }
        Leftover::Cgroup(p, v) => Cgroup::open(p, *v).remove().map_err(Into::into),
        Leftover::TempDir(p) => scratch::remove_tree(p),
    }
}
