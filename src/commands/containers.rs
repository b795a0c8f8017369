//! Detached containers (`run -d --name NAME`, chapter 10): what is written down about
//! each, and its status, which is read from the kernel every time, never written down.
//!
//! `<state dir>/containers/NAME/` holds:
//! - `keeper`: the pid and start time of the keeper, the `learn-containers` process that
//!   started the container and waits for it (as containerd's shim or conmon do): the
//!   container's processes die with it, and it removes the container's cgroups and
//!   mounts when CMD ends;
//! - `container.json`: what the keeper started (PID 1's host pid, the cgroup the freezer
//!   pauses), written once CMD runs;
//! - `ended`: CMD's exit status, written by the keeper once everything is removed;
//! - `log`: what the keeper and CMD printed.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{CliError, Result};
use lessons::kernel::cgroup::{Cgroup, FreezerState, Version};
use lessons::kernel::procfs;

/// What the keeper writes once CMD runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Started {
    pub name: String,
    pub command: Vec<String>,
    /// Seconds since the epoch.
    pub created: u64,
    /// PID 1 of the container, as the host numbers it.
    pub pid: i32,
    /// The cgroup the freezer pauses (under learn-containers/), and whether it is v2.
    pub freezer: PathBuf,
    pub freezer_v2: bool,
}

/// A container's status, as the kernel has it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running,
    Paused,
    /// CMD has ended; its exit status when the keeper wrote it down.
    Stopped(Option<i32>),
    /// The keeper is gone without writing an end: killed. `clean` removes the rest.
    Lost,
}

impl Status {
    pub fn word(&self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped(_) => "stopped",
            Status::Lost => "lost",
        }
    }
}

/// One detached container's directory.
pub struct Record {
    pub name: String,
    pub dir: PathBuf,
}

/// Where the records are.
pub fn records_dir() -> Result<PathBuf> {
    Ok(crate::workspace::state_dir()?.join("containers"))
}

/// A name that can be a directory and a word on a command line.
pub fn check_name(name: &str) -> Result<()> {
    let ok = name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "--name {name:?}: use letters, digits, `_`, `.` and `-`, starting with a letter or digit, at most 64"
        )))
    }
}

impl Record {
    /// The record of the container `name`, or a usage error that says how to list them.
    pub fn find(name: &str) -> Result<Record> {
        check_name(name)?;
        let dir = records_dir()?.join(name);
        if !dir.is_dir() {
            return Err(CliError::Usage(format!(
                "there is no container named {name:?}: `learn-containers ps` lists them, `learn-containers run -d --name {name} -- CMD` starts one"
            )));
        }
        Ok(Record {
            name: name.to_owned(),
            dir,
        })
    }

    /// Every record, by name.
    pub fn all() -> Result<Vec<Record>> {
        let dir = records_dir()?;
        let mut out: Vec<Record> = match std::fs::read_dir(&dir) {
            Ok(rd) => rd
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| Record {
                    name: e.file_name().to_string_lossy().into_owned(),
                    dir: e.path(),
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("log")
    }

    /// Writes `file` whole or not at all (a reader never sees half of it).
    pub fn write(&self, file: &str, text: &str) -> std::io::Result<()> {
        let tmp = self.dir.join(format!(".{file}.tmp"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, self.dir.join(file))
    }

    /// Records `pid` as the keeper.
    pub fn set_keeper(&self, pid: i32) -> std::io::Result<()> {
        let start = procfs::start_time(pid).unwrap_or(0);
        self.write("keeper", &format!("{pid} {start}\n"))
    }

    /// Is the keeper alive: its pid holds the process it held when it was written down
    /// (the same start time), not a later one that got the number.
    pub fn keeper_alive(&self) -> bool {
        let Ok(text) = std::fs::read_to_string(self.dir.join("keeper")) else {
            return false;
        };
        let mut words = text.split_whitespace().map(|w| w.parse::<u64>().ok());
        match (words.next().flatten(), words.next().flatten()) {
            (Some(pid), Some(start)) => {
                let pid = pid as i32;
                procfs::alive(pid) && procfs::start_time(pid) == Some(start)
            }
            _ => false,
        }
    }

    pub fn started(&self) -> Option<Started> {
        let text = std::fs::read_to_string(self.dir.join("container.json")).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn ended(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.dir.join("ended")).ok()?;
        text.trim().parse().ok()
    }

    /// The cgroup that pauses it, once it has started, if it names one of ours.
    pub fn freezer(&self) -> Option<Cgroup> {
        freezer_of(&self.started()?)
    }

    /// The status now, from the kernel: is the keeper alive, is PID 1 in its cgroup,
    /// what does the freezer report.
    pub fn status(&self) -> Status {
        if let Some(code) = self.ended() {
            return Status::Stopped(Some(code));
        }
        if !self.keeper_alive() {
            // It may have written `ended` between the two reads.
            return match self.ended() {
                Some(code) => Status::Stopped(Some(code)),
                None => Status::Lost,
            };
        }
        let Some(s) = self.started() else {
            // The keeper is still starting it.
            return Status::Stopped(None);
        };
        let Some(cg) = freezer_of(&s) else {
            // A record naming no cgroup of ours: nothing here can be judged running.
            return Status::Stopped(None);
        };
        let member = cg.procs().is_ok_and(|p| p.contains(&s.pid));
        if !member || !procfs::alive(s.pid) {
            return Status::Stopped(None);
        }
        judge(cg.freezer_state().ok())
    }
}

/// The cgroup `s` names for the freezer, if it is one of ours.
fn freezer_of(s: &Started) -> Option<Cgroup> {
    // The record is a file anyone with the state dir may edit: never write into a
    // cgroup this tool did not make.
    let ours = s
        .freezer
        .components()
        .any(|c| c.as_os_str() == "learn-containers")
        && !s
            .freezer
            .components()
            .any(|c| c == std::path::Component::ParentDir);
    let version = if s.freezer_v2 {
        Version::V2
    } else {
        Version::V1
    };
    ours.then(|| Cgroup::open(&s.freezer, version))
}

/// Running or paused, from what the freezer reports. Freezing counts as paused: `pause`
/// returns only once the kernel says frozen, so freezing is a pause on its way.
fn judge(freezer: Option<FreezerState>) -> Status {
    match freezer {
        Some(FreezerState::Frozen | FreezerState::Freezing) => Status::Paused,
        _ => Status::Running,
    }
}

/// Removes a record whole.
pub fn remove(r: &Record) -> Result<()> {
    std::fs::remove_dir_all(&r.dir).map_err(|e| {
        CliError::Usage(format!(
            "cannot remove {}: {e}; remove it by hand",
            r.dir.display()
        ))
    })
}

/// Records whose keeper was killed before it could write an end: what `clean` removes
/// besides what [`lessons::kernel::leftovers`] finds.
pub fn lost() -> Vec<Record> {
    Record::all()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.status() == Status::Lost)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_cannot_be_a_directory_are_refused() {
        for good in ["web", "web-1", "a.b_c", "9"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-web",
            "../x",
            "a/b",
            "we b",
            ".hidden",
            &"x".repeat(65),
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn freezing_is_a_pause_on_its_way() {
        assert_eq!(judge(Some(FreezerState::Frozen)), Status::Paused);
        assert_eq!(judge(Some(FreezerState::Freezing)), Status::Paused);
        assert_eq!(judge(Some(FreezerState::Thawed)), Status::Running);
        assert_eq!(judge(None), Status::Running);
    }

    #[test]
    fn a_record_whose_keeper_is_gone_is_lost_unless_it_ended() {
        let dir = tempfile::tempdir().unwrap();
        let r = Record {
            name: "web".into(),
            dir: dir.path().to_path_buf(),
        };
        // A pid no process has: the number of a process that has exited, reaped.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id() as i32;
        child.wait().unwrap();
        r.write("keeper", &format!("{gone} 1\n")).unwrap();
        assert_eq!(r.status(), Status::Lost);
        r.write("ended", "3\n").unwrap();
        assert_eq!(r.status(), Status::Stopped(Some(3)));
    }

    #[test]
    fn a_keeper_pid_taken_by_another_process_is_not_the_keeper() {
        let dir = tempfile::tempdir().unwrap();
        let r = Record {
            name: "web".into(),
            dir: dir.path().to_path_buf(),
        };
        let me = std::process::id() as i32;
        r.set_keeper(me).unwrap();
        assert!(r.keeper_alive());
        let start = procfs::start_time(me).unwrap();
        r.write("keeper", &format!("{me} {}\n", start + 1)).unwrap();
        assert!(!r.keeper_alive());
    }

    #[test]
    fn a_record_never_points_the_freezer_outside_our_cgroups() {
        let dir = tempfile::tempdir().unwrap();
        let r = Record {
            name: "web".into(),
            dir: dir.path().to_path_buf(),
        };
        let started = |freezer: &str| Started {
            name: "web".into(),
            command: vec!["sh".into()],
            created: 0,
            pid: 1,
            freezer: freezer.into(),
            freezer_v2: true,
        };
        for (path, ours) in [
            ("/sys/fs/cgroup/learn-containers/run-7", true),
            ("/sys/fs/cgroup/system.slice", false),
            ("/sys/fs/cgroup/learn-containers/../system.slice", false),
        ] {
            let json = serde_json::to_string(&started(path)).unwrap();
            r.write("container.json", &json).unwrap();
            assert_eq!(r.freezer().is_some(), ours, "{path}");
        }
    }
}
