//! Can this host run the workshop? Each finding says what was seen and, for a problem,
//! how to fix it. The CLI renders the report.

use std::time::Duration;

use nix::sched::{CloneFlags, unshare};
use nix::unistd::{Gid, Uid, geteuid, setgid, setgroups, setuid};

use crate::catalogue::{Need, Rootless};
use crate::chapters::chapters;
use crate::kernel::cgroup::{CgroupFs, Mode};
use crate::kernel::child::{self, Exit, emit, failed};
use crate::kernel::mountinfo;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    /// Worth knowing; nothing breaks.
    Note,
    /// Some chapters cannot run until it is fixed.
    Problem,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub level: Level,
    pub text: String,
    pub fix: Option<String>,
}

#[derive(Debug)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Chapter numbers that can run here.
    pub runnable: Vec<u32>,
}

impl Report {
    pub fn can_run(&self) -> bool {
        self.runnable.len() == chapters().len()
    }
}

fn ok(text: impl Into<String>) -> Finding {
    Finding {
        level: Level::Ok,
        text: text.into(),
        fix: None,
    }
}
fn note(text: impl Into<String>, fix: Option<String>) -> Finding {
    Finding {
        level: Level::Note,
        text: text.into(),
        fix,
    }
}
fn problem(text: impl Into<String>, fix: impl Into<String>) -> Finding {
    Finding {
        level: Level::Problem,
        text: text.into(),
        fix: Some(fix.into()),
    }
}

pub fn examine() -> Report {
    let mut f = Vec::new();
    let uts = nix::sys::utsname::uname().ok();
    if let Some(u) = &uts {
        f.push(ok(format!(
            "kernel {}, {}",
            u.release().to_string_lossy(),
            u.machine().to_string_lossy()
        )));
    }
    let root = geteuid().is_root();
    f.push(if root {
        ok("running as root")
    } else {
        note(
            "not running as root: some chapters need it (see rootless below)",
            Some("run it with sudo: `sudo ./target/debug/learn-containers doctor`".into()),
        )
    });
    let (finding, userns) = userns_probe();
    f.push(finding);
    let cpu = cgroup_findings(&mut f);
    let timens = crate::kernel::timens::supported();
    f.push(if timens {
        ok("time namespaces: available (/proc/self/ns/time)")
    } else {
        problem(
            "time namespaces: this kernel has none (/proc/self/ns/time is missing): chapter 8 needs them",
            "boot Linux 5.6 or later built with CONFIG_TIME_NS (every mainstream distribution's is)",
        )
    });
    f.push(propagation());
    tools(&mut f);

    let bash_ok = which::which("bash").is_ok();
    // Without root, chapters that need only namespaces run in a user namespace that maps
    // the user to root; cgroups need real root, or a v2 subtree delegated to the user.
    let delegated = crate::kernel::cgroup::delegation::base();
    let runs = |c: &crate::Chapter| {
        let cgroups = c.needs.contains(&Need::CpuController)
            || c.needs.contains(&Need::MemoryAndPids)
            || c.needs.contains(&Need::Freezer);
        let unprivileged = match c.rootless() {
            Rootless::UserNamespace => userns,
            Rootless::DelegatedCgroup => delegated.is_some(),
            Rootless::No => false,
            Rootless::AsTheUser => userns,
        };
        // A chapter that makes user namespaces as a user needs them even as root.
        let allowed = match c.rootless() {
            Rootless::AsTheUser => userns,
            _ => root || unprivileged,
        };
        let time = !c.needs.contains(&Need::TimeNamespaces) || timens;
        bash_ok && (!cgroups || cpu) && allowed && time
    };
    let runnable: Vec<u32> = chapters()
        .iter()
        .filter(|c| runs(c))
        .map(|c| c.number)
        .collect();
    if !root {
        // "chapter 4" or "chapters 4, 5", and whether that is one or several.
        let numbers = |keep: bool| -> (String, bool) {
            let v: Vec<String> = chapters()
                .iter()
                .filter(|c| runs(c) == keep)
                .map(|c| c.number.to_string())
                .collect();
            let word = if v.len() == 1 { "chapter" } else { "chapters" };
            if v.is_empty() {
                (String::new(), false)
            } else {
                (format!("{word} {}", v.join(", ")), v.len() > 1)
            }
        };
        let ((yes, _), (no, several)) = (numbers(true), numbers(false));
        if !yes.is_empty() {
            let how = match delegated {
                Some(d) => format!(
                    "in a user namespace that maps you to root, or (cgroups) in the cgroup delegated to you, {}",
                    d.display()
                ),
                None => "in a user namespace that maps you to root".to_owned(),
            };
            // Chapters that make their own user namespaces run as the user, as they are.
            let own: Vec<String> = chapters()
                .iter()
                .filter(|c| runs(c) && c.rootless() == Rootless::AsTheUser)
                .map(|c| c.number.to_string())
                .collect();
            let also = if own.is_empty() {
                String::new()
            } else {
                format!(" (chapter {}: as you, making its own)", own.join(", "))
            };
            f.push(ok(format!("rootless: {yes} can run here {how}{also}")));
        }
        if !no.is_empty() {
            // The cgroup chapter alone can also run in a v2 subtree delegated to the user.
            let cgroups_only = chapters()
                .iter()
                .any(|c| !runs(c) && c.rootless() == Rootless::DelegatedCgroup);
            let (them, need) = if several {
                ("them", "need")
            } else {
                ("it", "needs")
            };
            let fix = if cgroups_only && delegated.is_none() {
                format!(
                    "run {them} with sudo; on a cgroup v2 host, chapter 4 also runs in a subtree delegated to you: `systemd-run --user --scope -p Delegate=yes learn-containers lesson 4`"
                )
            } else {
                format!("run {them} with sudo")
            };
            f.push(note(
                format!("rootless: {no} {need} root here (namespaces together with cgroups, cgroups without a delegated subtree, or no user namespaces)"),
                Some(fix),
            ));
        }
        f.push(run_rootless(userns, delegated));
    }
    Report {
        findings: f,
        runnable,
    }
}

/// Whether `learn-containers run` works without root here: in a user namespace of its
/// own, and with `--cpus` only in a cgroup v2 subtree delegated to the user.
fn run_rootless(userns: bool, delegated: Option<&std::path::Path>) -> Finding {
    if !userns {
        return note(
            "rootless: `learn-containers run` needs root here (no user namespaces)",
            Some("run it with sudo, or allow unprivileged user namespaces (above)".into()),
        );
    }
    match delegated {
        Some(d) => ok(format!(
            "rootless: `learn-containers run` works here, in a user namespace of its own; --cpus in the cgroup delegated to you, {}",
            d.display()
        )),
        None => note(
            "rootless: `learn-containers run` works here, in a user namespace of its own; --cpus needs a cgroup v2 subtree delegated to you",
            Some("on a cgroup v2 host: `systemd-run --user --scope -p Delegate=yes learn-containers run --cpus 0.5 -- sh`; or sudo".into()),
        ),
    }
}

/// Creates a user namespace as an unprivileged user (as root: as uid 65534), in a forked
/// child, and maps the user to root there. The sysctls alone do not tell (AppArmor can
/// refuse the map). Err: why not, as the kernel said it.
pub fn unprivileged_user_namespaces() -> std::result::Result<(), String> {
    let root = geteuid().is_root();
    let probe = child::run_captured(Duration::from_secs(5), || {
        if root {
            let nobody = 65534;
            if let Err(e) = setgroups(&[])
                .and_then(|_| setgid(Gid::from_raw(nobody)))
                .and_then(|_| setuid(Uid::from_raw(nobody)))
            {
                emit(&failed("dropping to uid 65534", e));
                return 2;
            }
            // Changing credentials makes a process non-dumpable, which leaves its /proc
            // files owned by root: uid_map would then refuse the unprivileged writer.
            let _ = nix::sys::prctl::set_dumpable(true);
        }
        let uid = geteuid().as_raw();
        if let Err(e) = unshare(CloneFlags::CLONE_NEWUSER) {
            emit(&failed("unshare(CLONE_NEWUSER)", e));
            return 1;
        }
        if let Err(e) = std::fs::write("/proc/self/uid_map", format!("0 {uid} 1")) {
            emit(&format!("writing uid_map failed: {e}"));
            return 1;
        }
        0
    });
    match probe {
        Ok(c) if c.exit == Exit::Code(0) => Ok(()),
        Ok(c) => Err(c.output.trim().to_owned()),
        Err(e) => Err(format!("could not probe: {e}")),
    }
}

/// Whether unprivileged user namespaces work here: the finding, and the answer.
fn userns_probe() -> (Finding, bool) {
    let probe = unprivileged_user_namespaces();
    let apparmor =
        std::fs::read_to_string("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
            .map(|s| s.trim() == "1")
            .unwrap_or(false);
    let finding = match probe {
        Ok(()) => {
            return (
                ok("user namespaces: unprivileged creation works (probed in a child)"),
                true,
            );
        }
        Err(why) => {
            let fix = if apparmor {
                "Ubuntu's AppArmor restricts unprivileged user namespaces: `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0` (chapter 6 needs it even as root)"
            } else {
                "`sudo sysctl kernel.unprivileged_userns_clone=1` or `sudo sysctl user.max_user_namespaces=15000` (chapter 6 needs it even as root)"
            };
            note(
                format!("user namespaces: unprivileged creation fails: {why}"),
                Some(fix.into()),
            )
        }
    };
    (finding, false)
}

/// Reports the cgroup mode and the controllers; returns whether the cpu controller is usable.
fn cgroup_findings(f: &mut Vec<Finding>) -> bool {
    let fs = match CgroupFs::detect() {
        Ok(fs) => fs,
        Err(e) => {
            f.push(problem(
                format!("cgroups: {e}"),
                "mount cgroup2 at /sys/fs/cgroup (most distros do this at boot)",
            ));
            return false;
        }
    };
    let d = fs.detection();
    let mode = match d.mode {
        Mode::V2 => "cgroup v2 (unified)".to_owned(),
        Mode::V1 => "cgroup v1: one hierarchy per controller".to_owned(),
        Mode::Hybrid => {
            // What the unified tree really holds: usually no controller, sometimes one
            // that no v1 hierarchy claimed (hugetlb, misc).
            let unified: Vec<String> = fs
                .controllers()
                .into_iter()
                .filter(|c| c.version == crate::kernel::cgroup::Version::V2)
                .map(|c| c.name)
                .collect();
            format!(
                "hybrid: v1 hierarchies hold the controllers, and the cgroup2 tree at {} holds {}",
                fs.v2_root()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                if unified.is_empty() {
                    "none".to_owned()
                } else {
                    unified.join(" ")
                }
            )
        }
    };
    f.push(ok(format!("cgroups: {mode}\n({})", d.how)));
    let mut cpu = false;
    for name in ["cpu", "memory", "pids"] {
        match fs.controller(name) {
            Some(c) => {
                let file = match (name, c.version) {
                    ("cpu", crate::kernel::cgroup::Version::V1) => " (cpu.cfs_quota_us)",
                    ("cpu", crate::kernel::cgroup::Version::V2) => " (cpu.max)",
                    _ => "",
                };
                let read_only = nix::sys::statvfs::statvfs(&c.dir)
                    .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY));
                if read_only {
                    f.push(problem(
                        format!(
                            "{name} controller: {} is mounted read-only: no cgroup can be made there",
                            c.dir.display()
                        ),
                        "inside a container the cgroup filesystem is often read-only: run on the host or in a VM",
                    ));
                    continue;
                }
                cpu |= name == "cpu";
                f.push(ok(format!("{name} controller: {}{file}", c.dir.display())));
            }
            None if name == "cpu" => f.push(problem(
                "no cpu controller is available: the cgroups chapter cannot cap CPU",
                "on cgroup v2, enable it: `echo +cpu | sudo tee /sys/fs/cgroup/cgroup.subtree_control`",
            )),
            None => f.push(note(format!("no {name} controller (not needed by the current chapters)"), None)),
        }
    }
    match fs.freezer() {
        Ok(c) => f.push(ok(format!(
            "freezer: {} ({})",
            c.dir.display(),
            crate::kernel::cgroup::freezer_files(c.version).control
        ))),
        Err(_) => f.push(note(
            "no freezer (neither a v1 freezer hierarchy nor a cgroup v2 tree): chapter 10 cannot pause",
            None,
        )),
    }
    cpu
}

fn propagation() -> Finding {
    let mounts = mountinfo::read(None).unwrap_or_default();
    match mountinfo::mount_at(&mounts, std::path::Path::new("/")) {
        Some(m) if m.is_shared() => note(
            format!(
                "/ is a shared mount ({}). The lessons make it private inside their own namespaces; nothing to do, chapter 3 explains why it matters.",
                m.optional.join(" ")
            ),
            None,
        ),
        Some(m) => ok(format!("/ is a {} mount", m.propagation())),
        None => note("could not find / in /proc/self/mountinfo", None),
    }
}

fn tools(f: &mut Vec<Finding>) {
    let found = |name: &str| which::which(name).ok().map(|p| p.display().to_string());
    match found("bash") {
        Some(p) => f.push(ok(format!("bash {p}"))),
        None => f.push(problem(
            "bash not found: every chapter copies it into a rootfs",
            "apt install bash",
        )),
    }
    match found("ldd") {
        Some(p) => f.push(ok(format!("ldd {p} (exercise 1 uses it)"))),
        None => f.push(note(
            "ldd not found: exercise 1's reference approach uses it",
            Some("apt install libc-bin".into()),
        )),
    }
    for (tool, pkg, why) in [
        (
            "unshare",
            "util-linux",
            "the shell equivalents of chapters 2 and 3",
        ),
        (
            "cgcreate",
            "cgroup-tools",
            "the shell equivalents of chapter 4",
        ),
        ("busybox", "busybox-static", "`ps` inside containers"),
    ] {
        match found(tool) {
            Some(p) => f.push(ok(format!("{tool} {p}"))),
            None => f.push(note(
                format!("{tool} not found (optional, for {why})"),
                Some(format!("apt install {pkg}")),
            )),
        }
    }
}
