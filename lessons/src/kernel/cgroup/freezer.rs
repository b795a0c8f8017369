//! The freezer: stopping every process of a cgroup where it stands, unseen by them and by
//! their parents, and letting them go again (`docker pause`, `runc pause`).
//!
//! - **cgroup v2**: part of every cgroup but the root, no controller to enable: write `1`
//!   to `cgroup.freeze` (`0` thaws); the kernel says the work is done with `frozen 1` in
//!   `cgroup.events` (`frozen 0` once thawed).
//! - **cgroup v1**: the `freezer` controller, in a hierarchy of its own: write `FROZEN`
//!   to `freezer.state` (`THAWED` thaws); reading it says `FREEZING` until every task
//!   is frozen, then `FROZEN`.
//!
//! On hybrid hosts the v1 freezer hierarchy is the one used (as runc does), since every
//! controller there is bound to v1.

use std::fs;
use std::io;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::error::{CgroupError, io_err};
use super::files::{check_name, mkdir_ours, read_file, write_file};
use super::group::Cgroup;
use super::hierarchy::{CgroupFs, Controller};
use super::mode::{OURS, Version};
use super::owned::OwnedCgroup;
use crate::kernel::undo;

/// What the kernel says of a cgroup's freezer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FreezerState {
    /// Running freely (`THAWED`, `frozen 0` with `cgroup.freeze` 0).
    Thawed,
    /// Asked to freeze, not every task frozen yet (v1 `FREEZING`; v2 `cgroup.freeze` 1
    /// while `cgroup.events` still says `frozen 0`).
    Freezing,
    /// Every task frozen (v1 `FROZEN`, v2 `frozen 1`).
    Frozen,
}

/// The freezer's files on one version, for the book's table and the demos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FreezerFiles {
    /// Where the wish is written.
    pub control: &'static str,
    pub freeze: &'static str,
    pub thaw: &'static str,
    /// Where the kernel reports what is done.
    pub report: &'static str,
}

/// The freezer's files on `version`.
pub fn freezer_files(version: Version) -> FreezerFiles {
    match version {
        Version::V1 => FreezerFiles {
            control: "freezer.state",
            freeze: "FROZEN",
            thaw: "THAWED",
            report: "freezer.state",
        },
        Version::V2 => FreezerFiles {
            control: "cgroup.freeze",
            freeze: "1",
            thaw: "0",
            report: "cgroup.events",
        },
    }
}

/// The state in a v1 `freezer.state` text.
pub fn parse_freezer_state(text: &str) -> Option<FreezerState> {
    match text.trim() {
        "THAWED" => Some(FreezerState::Thawed),
        "FREEZING" => Some(FreezerState::Freezing),
        "FROZEN" => Some(FreezerState::Frozen),
        _ => None,
    }
}

/// The `frozen` line of a v2 `cgroup.events` text (`populated 1\nfrozen 0\n`).
pub fn parse_events_frozen(text: &str) -> Option<bool> {
    text.lines()
        .find_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            ["frozen", "1"] => Some(true),
            ["frozen", "0"] => Some(false),
            _ => None,
        })
}

/// The v2 state from what `cgroup.freeze` asks and `cgroup.events` reports.
pub fn v2_state(asked: &str, events: &str) -> Option<FreezerState> {
    let frozen = parse_events_frozen(events)?;
    Some(match (asked.trim(), frozen) {
        (_, true) => FreezerState::Frozen,
        ("1", false) => FreezerState::Freezing,
        _ => FreezerState::Thawed,
    })
}

/// How often [`Cgroup::wait_freezer`] looks again.
const POLL: Duration = Duration::from_millis(2);

impl CgroupFs {
    /// Where the freezer lives: the v1 `freezer` hierarchy when there is one (v1 and
    /// hybrid hosts), else the cgroup2 tree, where every cgroup but the root has
    /// `cgroup.freeze`.
    pub fn freezer(&self) -> Result<Controller, CgroupError> {
        if let Some(c) = self.controller("freezer") {
            return Ok(c);
        }
        match self.v2_root() {
            Some(dir) => Ok(Controller {
                name: "freezer".into(),
                version: Version::V2,
                dir: dir.to_path_buf(),
            }),
            None => Err(CgroupError::MissingController {
                controller: "freezer".into(),
                mode: self.mode,
            }),
        }
    }

    /// Creates `<freezer's hierarchy>/learn-containers/<name>`. On v2 the freezer needs
    /// no controller enabled, so nothing is written above it.
    pub fn create_freezable(&self, name: &str) -> Result<Cgroup, CgroupError> {
        let ctrl = self.freezer()?;
        if ctrl.version == Version::V1 {
            return self.create("freezer", name);
        }
        check_name(name)?;
        let base = ctrl.dir.join(OURS);
        let path = base.join(name);
        // Another run may remove an empty learn-containers/ between the two mkdirs.
        for attempt in 1.. {
            mkdir_ours(&base)?;
            match fs::create_dir(&path) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(CgroupError::Exists { path });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound && attempt < 3 => {}
                Err(e) => return Err(io_err("create", &path, e)),
            }
        }
        Ok(Cgroup::open(&path, Version::V2))
    }

    /// [`CgroupFs::create_freezable`] as an [`OwnedCgroup`] named
    /// `<purpose>-<this pid>`: removed (thawed, members killed) when dropped.
    pub fn create_owned_freezable(&self, purpose: &str) -> Result<OwnedCgroup, CgroupError> {
        let name = format!("{purpose}-{}", std::process::id());
        undo::making(|| Ok(OwnedCgroup::register(self.create_freezable(&name)?)))
    }
}

impl Cgroup {
    /// Asks the kernel to freeze every process in this cgroup and below; returns at once
    /// (see [`Cgroup::wait_freezer`]).
    pub fn freeze(&self) -> Result<(), CgroupError> {
        let f = freezer_files(self.version);
        write_file(&self.file(f.control), f.freeze)
    }

    /// Lets the processes of this cgroup run again; returns at once.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        let f = freezer_files(self.version);
        write_file(&self.file(f.control), f.thaw)
    }

    /// What the kernel says of this cgroup's freezer now.
    pub fn freezer_state(&self) -> Result<FreezerState, CgroupError> {
        let (text, state) = match self.version {
            Version::V1 => {
                let text = read_file(&self.file("freezer.state"))?;
                let state = parse_freezer_state(&text);
                (text, state)
            }
            Version::V2 => {
                let asked = read_file(&self.file("cgroup.freeze"))?;
                let events = read_file(&self.file("cgroup.events"))?;
                let state = v2_state(&asked, &events);
                (events, state)
            }
        };
        state.ok_or_else(|| CgroupError::Parse {
            what: self
                .file(freezer_files(self.version).report)
                .display()
                .to_string(),
            text,
            reason: "no freezer state in it".into(),
        })
    }

    /// Waits until the kernel reports `want` (Frozen or Thawed), up to `timeout`; returns
    /// the last state seen (which is not `want` when time ran out).
    pub fn wait_freezer(
        &self,
        want: FreezerState,
        timeout: Duration,
    ) -> Result<FreezerState, CgroupError> {
        let deadline = Instant::now() + timeout;
        loop {
            let now = self.freezer_state()?;
            if now == want || Instant::now() >= deadline {
                return Ok(now);
            }
            std::thread::sleep(POLL);
        }
    }

    /// Thaws this cgroup if it has a freezer that is not thawed: a v1 frozen task holds a
    /// SIGKILL pending until it is thawed, so removal thaws first. Errors are ignored
    /// (a cgroup with no freezer file has nothing to thaw).
    pub fn thaw_for_removal(&self) {
        let f = freezer_files(self.version);
        let control = self.file(f.control);
        let frozen = match self.version {
            Version::V1 => read_file(&control).is_ok_and(|t| t.trim() != "THAWED"),
            Version::V2 => read_file(&control).is_ok_and(|t| t.trim() == "1"),
        };
        if frozen {
            let _ = write_file(&control, f.thaw);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::cgroup::Mode;

    fn tree(mode: Mode) -> (tempfile::TempDir, CgroupFs) {
        let t = tempfile::tempdir().unwrap();
        match mode {
            Mode::V2 => fs::write(t.path().join("cgroup.controllers"), "cpu memory pids").unwrap(),
            Mode::Hybrid | Mode::V1 => {
                fs::create_dir(t.path().join("freezer")).unwrap();
                fs::create_dir(t.path().join("cpu,cpuacct")).unwrap();
                if mode == Mode::Hybrid {
                    fs::create_dir(t.path().join("unified")).unwrap();
                    fs::write(t.path().join("unified/cgroup.controllers"), "").unwrap();
                }
            }
        }
        let fs = CgroupFs::from_tree(t.path(), mode).unwrap();
        (t, fs)
    }

    #[test]
    fn the_freezer_is_v1_where_a_freezer_hierarchy_exists_and_the_v2_tree_elsewhere() {
        let (t, fs) = tree(Mode::V2);
        let c = fs.freezer().unwrap();
        assert_eq!((c.version, c.dir), (Version::V2, t.path().to_path_buf()));
        let (t, fs) = tree(Mode::Hybrid);
        let c = fs.freezer().unwrap();
        assert_eq!((c.version, c.dir), (Version::V1, t.path().join("freezer")));
        let (t, fs) = tree(Mode::V1);
        assert_eq!(fs.freezer().unwrap().dir, t.path().join("freezer"));
    }

    #[test]
    fn v1_without_a_freezer_hierarchy_has_no_freezer() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir(t.path().join("cpu")).unwrap();
        let fs = CgroupFs::from_tree(t.path(), Mode::V1).unwrap();
        assert!(matches!(
            fs.freezer(),
            Err(CgroupError::MissingController { .. })
        ));
    }

    #[test]
    fn v2_cgroups_are_made_without_enabling_any_controller() {
        let (t, fs) = tree(Mode::V2);
        let g = fs.create_freezable("box").unwrap();
        assert_eq!(g.path, t.path().join(OURS).join("box"));
        assert!(!t.path().join("cgroup.subtree_control").exists());
        assert!(matches!(
            fs.create_freezable("box"),
            Err(CgroupError::Exists { .. })
        ));
        assert!(fs.create_freezable("a/b").is_err());
        let (t, fs) = tree(Mode::Hybrid);
        let g = fs.create_freezable("box").unwrap();
        assert_eq!(g.path, t.path().join("freezer").join(OURS).join("box"));
        assert_eq!(g.version, Version::V1);
    }

    #[test]
    fn freezing_writes_the_versions_file_and_value() {
        for (mode, file, frozen, thawed) in [
            (Mode::V2, "cgroup.freeze", "1", "0"),
            (Mode::Hybrid, "freezer.state", "FROZEN", "THAWED"),
        ] {
            let (_t, fs) = tree(mode);
            let g = fs.create_freezable("box").unwrap();
            fs::write(g.file(file), "").unwrap();
            g.freeze().unwrap();
            assert_eq!(fs::read_to_string(g.file(file)).unwrap(), frozen);
            g.thaw().unwrap();
            assert_eq!(fs::read_to_string(g.file(file)).unwrap(), thawed);
        }
    }

    #[test]
    fn freezing_never_creates_the_file() {
        let (_t, fs) = tree(Mode::V2);
        let g = fs.create_freezable("box").unwrap();
        assert!(g.freeze().is_err());
        assert!(!g.file("cgroup.freeze").exists());
    }

    #[test]
    fn the_state_is_what_the_kernel_reports_not_what_was_asked() {
        let (_t, fs) = tree(Mode::V2);
        let g = fs.create_freezable("box").unwrap();
        let set = |asked: &str, events: &str| {
            fs::write(g.file("cgroup.freeze"), asked).unwrap();
            fs::write(g.file("cgroup.events"), events).unwrap();
            g.freezer_state().unwrap()
        };
        assert_eq!(set("0\n", "populated 1\nfrozen 0\n"), FreezerState::Thawed);
        assert_eq!(
            set("1\n", "populated 1\nfrozen 0\n"),
            FreezerState::Freezing
        );
        assert_eq!(set("1\n", "populated 1\nfrozen 1\n"), FreezerState::Frozen);
        // Frozen from above: this cgroup asked nothing, its parent did.
        assert_eq!(set("0\n", "populated 1\nfrozen 1\n"), FreezerState::Frozen);
        fs::write(g.file("cgroup.events"), "populated 1\n").unwrap();
        assert!(matches!(g.freezer_state(), Err(CgroupError::Parse { .. })));

        let (_t, fs) = tree(Mode::V1);
        let g = fs.create_freezable("box").unwrap();
        for (text, state) in [
            ("THAWED\n", FreezerState::Thawed),
            ("FREEZING\n", FreezerState::Freezing),
            ("FROZEN\n", FreezerState::Frozen),
        ] {
            fs::write(g.file("freezer.state"), text).unwrap();
            assert_eq!(g.freezer_state().unwrap(), state);
        }
    }

    #[test]
    fn waiting_gives_up_with_the_last_state_seen() {
        let (_t, fs) = tree(Mode::V1);
        let g = fs.create_freezable("box").unwrap();
        fs::write(g.file("freezer.state"), "FREEZING\n").unwrap();
        let got = g
            .wait_freezer(FreezerState::Frozen, Duration::from_millis(20))
            .unwrap();
        assert_eq!(got, FreezerState::Freezing);
        fs::write(g.file("freezer.state"), "FROZEN\n").unwrap();
        let got = g
            .wait_freezer(FreezerState::Frozen, Duration::from_secs(1))
            .unwrap();
        assert_eq!(got, FreezerState::Frozen);
    }

    #[test]
    fn removal_thaws_a_frozen_cgroup_first() {
        for (mode, file, frozen, thawed) in [
            (Mode::V2, "cgroup.freeze", "1", "0"),
            (Mode::V1, "freezer.state", "FREEZING", "THAWED"),
        ] {
            let (_t, fs) = tree(mode);
            let g = fs.create_freezable("box").unwrap();
            fs::write(g.file(file), frozen).unwrap();
            g.thaw_for_removal();
            assert_eq!(fs::read_to_string(g.file(file)).unwrap(), thawed);
        }
    }
}
