//! Helpers shared by the integration tests.
//!
//! Privileged tests (tier 2) call `privileged()` first: as root they run; with CI=true and
//! no root they fail; otherwise they are reported as skipped.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// True when this test may do real kernel work. Tests that get false return at once.
pub fn privileged(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test} needs root, and CI=true: a privileged test that cannot run is a failure");
    }
    eprintln!("skipped: {test} needs root (run the tests with sudo)");
    false
}

/// Tier-2 tests compare the whole host (its processes too) before and after, so every
/// test that starts a process takes a turn, the whole test long. Taken again by the same
/// thread (a helper that builds with cargo, called by a test that holds its turn), it is
/// the same turn.
pub fn serial() -> Turn {
    static LOCK: Mutex<()> = Mutex::new(());
    let held = DEPTH.with(|d| {
        d.set(d.get() + 1);
        d.get() > 1
    });
    if held {
        return Turn(None);
    }
    Turn(Some(LOCK.lock().unwrap_or_else(|e| e.into_inner())))
}

thread_local! {
    static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A test's turn (see [`serial`]).
pub struct Turn(#[allow(dead_code)] Option<MutexGuard<'static, ()>>);

impl Drop for Turn {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get() - 1));
    }
}

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A private state dir, so tests never touch a learner's progress file.
pub fn state_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("learn-containers-test-state-")
        .tempdir()
        .unwrap()
}

/// A private state dir outside the temp dir, so `clean` has nothing of the test's own
/// to consider there.
pub fn state_outside_tmp() -> tempfile::TempDir {
    let target = workspace().join("target");
    std::fs::create_dir_all(&target).unwrap();
    tempfile::Builder::new()
        .prefix("learn-containers-test-state-")
        .tempdir_in(target)
        .unwrap()
}

/// Runs the CLI with closed stdin and a private state dir.
pub fn cli(args: &[&str], state: &Path) -> Output {
    cli_env(args, state, &[])
}

/// Runs the CLI with closed stdin, a private state dir, and a working copy of the
/// exercises of its own in it (as shipped), plus `env`.
pub fn cli_env(args: &[&str], state: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_learn-containers"));
    cmd.args(args)
        .env("LEARN_CONTAINERS_STATE", state)
        .env("LEARN_CONTAINERS_EXERCISES", state.join("exercises"))
        // run's default rootfs in the test's state dir, never the host's cache.
        .env("LEARN_CONTAINERS_CACHE", state.join("rootfs-cache"))
        .env_remove("NO_COLOR")
        .env_remove("LEARN_CONTAINERS_BIN_DIR")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run learn-containers")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A working copy of the exercises, as shipped, in a temp dir of its own.
pub fn working_copy() -> (tempfile::TempDir, lessons::workdir::WorkDir) {
    let dir = tempfile::Builder::new()
        .prefix("learn-containers-test-work-")
        .tempdir()
        .unwrap();
    let work = lessons::workdir::WorkDir::at(&dir.path().join("exercises"));
    work.ensure(Some(&workspace().join("Cargo.lock"))).unwrap();
    (dir, work)
}

/// Builds the wrong-solution fixtures once and returns the path of one of them.
pub fn fixture(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        // cargo is a child of this test process while it builds: not during another
        // test's host snapshots.
        let _turn = serial();
        let out = Command::new(env!("CARGO"))
            .current_dir(workspace())
            .args(["build", "--quiet", "-p", "fixtures", "--bins"])
            .status()
            .expect("cargo build fixtures");
        assert!(out.success(), "the fixtures must compile");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join("target"));
        target.join("debug")
    });
    let p = dir.join(name);
    assert!(p.is_file(), "no fixture binary {}", p.display());
    p
}

/// Builds the reference solutions once and returns the binary of exercise `id`.
pub fn solution(id: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let ok = Command::new(env!("CARGO"))
            .current_dir(workspace())
            .args(["build", "--quiet", "-p", "solutions", "--bins"])
            .status()
            .expect("cargo build solutions")
            .success();
        assert!(ok, "the solutions must compile");
    });
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    target.join("debug").join(format!("{id}_solution"))
}

/// A temp dir anyone may write in (mode 0777), for commands run as nobody.
pub fn open_dir(prefix: &str) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    d
}

/// `learn-containers ARGS` as nobody (uid and gid 65534), with `state` as its state dir,
/// home and exercises' parent.
pub fn as_nobody(args: &[&str], state: &Path) -> Output {
    use std::os::unix::process::CommandExt;
    Command::new(env!("CARGO_BIN_EXE_learn-containers"))
        .args(args)
        .env("LEARN_CONTAINERS_STATE", state)
        .env("LEARN_CONTAINERS_EXERCISES", state.join("exercises"))
        .env("HOME", state)
        .stdin(Stdio::null())
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap()
}

/// Runs an exercise's verifier on a binary, as `verify` does after building.
pub fn verify_binary(exercise: &str, binary: &Path) -> Vec<lessons::verify::Check> {
    let (_, e) = lessons::find_exercise(exercise).expect("known exercise");
    let c = lessons::verify::Candidate {
        binary: binary.to_owned(),
        source: format!("fixture {}", binary.display()),
    };
    let cx = lessons::verify::Context::new(&c, None).expect("a scratch dir");
    (e.verify)(&cx).expect("the verifier itself must not error")
}

/// The check named `name` (by prefix), which must exist.
pub fn check<'a>(checks: &'a [lessons::verify::Check], name: &str) -> &'a lessons::verify::Check {
    checks
        .iter()
        .find(|c| c.name.starts_with(name))
        .unwrap_or_else(|| panic!("no check named {name:?} in {checks:#?}"))
}

/// Everything on the host this project could leave behind.
#[derive(Debug, PartialEq, Eq)]
pub struct Host {
    mounts: BTreeSet<String>,
    cgroups: BTreeSet<PathBuf>,
    temp_dirs: BTreeSet<PathBuf>,
    processes: BTreeSet<String>,
    hostname: String,
    /// The host's System V IPC objects: /proc/sysvipc/{msg,sem,shm}, as listed.
    sysvipc: Vec<String>,
}

impl Host {
    pub fn snapshot() -> Host {
        let mounts = lessons::kernel::mountinfo::read(None)
            .unwrap()
            .iter()
            .map(|m| {
                format!(
                    "{} {} {} {}",
                    m.mount_point.display(),
                    m.fstype,
                    m.source,
                    m.optional.join(",")
                )
            })
            .collect();
        let mut cgroups = BTreeSet::new();
        find_named(Path::new("/sys/fs/cgroup"), 4, &mut cgroups);
        let temp_dirs = std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                n.starts_with("learn-containers") && !n.starts_with("learn-containers-test-")
            })
            .collect();
        let me = std::process::id().to_string();
        let session = nix::unistd::getsid(None).unwrap().as_raw().to_string();
        let processes = lessons::kernel::procfs::pids()
            .into_iter()
            .filter_map(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                // state ppid pgrp session tty tpgid flags ...
                let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
                // Already exiting (PF_EXITING): SIGKILLed, nothing of it runs any more; a
                // PID 1 stays so while the kernel tears its namespace down.
                let flags: u64 = fields.get(6)?.parse().ok()?;
                if flags & 0x4 != 0 {
                    return None;
                }
                let (state, ppid, sid) = (
                    *fields.first()?,
                    fields.get(1)?.to_string(),
                    *fields.get(3)?,
                );
                // An orphan of this session (its parent gone, adopted by init) is
                // something a run started and did not end, whatever it runs.
                let orphan = ppid == "1" && sid == session && state != "Z";
                let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
                // Ours: the test's children, the project's binaries, and anything run
                // from a rootfs in one of the project's temp dirs (an orphan whose
                // parent was killed, even once the dir is gone).
                let ours = ppid == me
                    || orphan
                    || exe.is_some_and(|e| {
                        (e.starts_with(workspace().join("target"))
                            && pid != std::process::id() as i32)
                            || e.strip_prefix(std::env::temp_dir()).is_ok_and(|rel| {
                                rel.to_string_lossy().starts_with("learn-containers-")
                            })
                    });
                ours.then(|| {
                    format!(
                        "{pid} {}",
                        lessons::kernel::procfs::comm(pid).unwrap_or_default()
                    )
                })
            })
            .collect();
        let hostname = nix::unistd::gethostname()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let sysvipc = ["msg", "sem", "shm"]
            .iter()
            .map(|f| std::fs::read_to_string(format!("/proc/sysvipc/{f}")).unwrap_or_default())
            .collect();
        Host {
            sysvipc,
            hostname,
            mounts,
            cgroups,
            temp_dirs,
            processes,
        }
    }

    /// Whether `now` holds mounts, cgroups or temp dirs that `self` did not (processes
    /// aside: a running lesson is one).
    pub fn holds_more(&self, now: &Host) -> bool {
        !now.mounts.is_subset(&self.mounts)
            || !now.cgroups.is_subset(&self.cgroups)
            || !now.temp_dirs.is_subset(&self.temp_dirs)
    }

    /// Panics with the difference when the host changed.
    pub fn assert_same(&self, after: &Host, what: &str) {
        assert_eq!(
            self.mounts, after.mounts,
            "{what} changed the host's mounts"
        );
        assert_eq!(self.cgroups, after.cgroups, "{what} left cgroups behind");
        assert_eq!(
            self.temp_dirs, after.temp_dirs,
            "{what} left temp dirs behind"
        );
        assert_eq!(
            self.hostname, after.hostname,
            "{what} changed the host's hostname"
        );
        assert_eq!(
            self.sysvipc, after.sysvipc,
            "{what} changed the host's System V IPC objects (/proc/sysvipc)"
        );
        if self.processes != after.processes {
            // Who they are, for the diagnosis: parent, group, namespace pids, command.
            let details: Vec<String> = after
                .processes
                .difference(&self.processes)
                .filter_map(|p| p.split_whitespace().next()?.parse::<i32>().ok())
                .map(|pid| {
                    let status =
                        std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                    let keep: Vec<&str> = status
                        .lines()
                        .filter(|l| {
                            ["State", "PPid", "NSpid", "NSpgid"]
                                .iter()
                                .any(|k| l.starts_with(k))
                        })
                        .collect();
                    let cmd = lessons::kernel::procfs::cmdline(pid)
                        .unwrap_or_default()
                        .join(" ");
                    format!("{pid}: {} | {cmd}", keep.join(", "))
                })
                .collect();
            assert_eq!(
                self.processes,
                after.processes,
                "{what} left processes behind:\n{}",
                details.join("\n")
            );
        }
    }
}

fn find_named(dir: &Path, depth: usize, out: &mut BTreeSet<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        if !ft.is_dir() {
            continue;
        }
        if e.file_name()
            .to_string_lossy()
            .starts_with("learn-containers")
        {
            out.insert(e.path());
        }
        if depth > 0 {
            find_named(&e.path(), depth - 1, out);
        }
    }
}

/// Is this process still running (and not a zombie)?
pub fn alive(pid: i32) -> bool {
    lessons::kernel::procfs::alive(pid)
}

/// The names of the checks that failed.
pub fn failing(checks: &[lessons::verify::Check]) -> Vec<&str> {
    checks
        .iter()
        .filter(|c| !c.passed())
        .map(|c| c.name.as_str())
        .collect()
}

/// What a check saw, or "".
pub fn saw(c: &lessons::verify::Check) -> &str {
    c.saw.as_deref().unwrap_or_default()
}

/// A check's hint, or "".
pub fn hint(c: &lessons::verify::Check) -> &str {
    c.hint.as_deref().unwrap_or_default()
}

/// The host's network as `ip -j`, `nft -j` and ip_forward show it, minus what ticks on its own (an
/// address's remaining lifetime).
pub fn host_network() -> String {
    let mut out = String::new();
    for args in [
        &["-j", "link"][..],
        &["-j", "addr"][..],
        &["-j", "route"][..],
        &["-j", "-6", "route"][..],
    ] {
        let o = Command::new("ip").args(args).output().expect("ip");
        let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        if let Some(links) = v.as_array_mut() {
            for l in links {
                if let Some(infos) = l.get_mut("addr_info").and_then(|a| a.as_array_mut()) {
                    for i in infos {
                        if let Some(i) = i.as_object_mut() {
                            i.remove("valid_life_time");
                            i.remove("preferred_life_time");
                        }
                    }
                }
            }
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    if let Ok(o) = Command::new("nft").args(["-j", "list", "ruleset"]).output() {
        out.push_str(&String::from_utf8_lossy(&o.stdout));
    }
    out.push_str("ip_forward ");
    out.push_str(&std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap_or_default());
    out
}

/// A rootfs of bash and busybox, as `run` builds by default, in a temp dir of the test's.
pub fn built_rootfs() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("learn-containers-test-rootfs-")
        .tempdir()
        .unwrap();
    let plan = rootfs_builder::plan(&lessons::kernel::container::default_options()).unwrap();
    rootfs_builder::build(dir.path(), &plan, &mut |_| {}).unwrap();
    dir
}
