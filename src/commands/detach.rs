//! `run -d --name NAME`: the container runs on after the command returns. The command
//! starts a keeper, itself again in a session of its own with [`KEEPER`] set, which
//! starts the container as `run` does, writes down what it started, waits for CMD and
//! cleans up after it; the command returns once CMD runs (see [`super::containers`]).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use super::containers::{self, Record, Started};
use crate::error::{CliError, Result};
use crate::{Outcome, say, signals};
use lessons::kernel::cgroup::Version;
use lessons::kernel::container::{Container, ContainerSpec, Io};
use lessons::kernel::undo::{self, Phase};

/// Set in the keeper's environment to its record directory.
pub const KEEPER: &str = "LEARN_CONTAINERS_KEEPER";

/// How long the keeper has to start CMD (the default rootfs is built before it starts).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The command's side: makes the record, starts the keeper, returns once CMD runs.
pub fn start(name: &str) -> Result<Outcome> {
    let base = containers::records_dir()?;
    std::fs::create_dir_all(&base)?;
    let record = Record {
        name: name.to_owned(),
        dir: base.join(name),
    };
    match std::fs::create_dir(&record.dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let status = Record::find(name)?.status();
            return Err(CliError::Usage(format!(
                "there is a container named {name} already ({}): `learn-containers stop {name}` stops it, `learn-containers rm {name}` removes a stopped one",
                status.word()
            )));
        }
        Err(e) => return Err(e.into()),
    }
    match spawn_keeper(&record) {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            let _ = containers::remove(&record);
            Err(e)
        }
    }
}

fn spawn_keeper(record: &Record) -> Result<Outcome> {
    let log = File::create(record.log())?;
    let mut keeper = Command::new("/proc/self/exe");
    keeper
        .args(std::env::args_os().skip(1))
        .env(KEEPER, &record.dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: setsid is async-signal-safe, and nothing else runs between fork and exec.
    // A session of its own: the terminal's Ctrl-C and hang-up never reach the keeper.
    unsafe {
        keeper.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    let mut child = keeper.spawn()?;
    let pid = child.id() as i32;
    // Interrupted before CMD runs: the keeper is asked to stop (SIGTERM: it removes what
    // it made, or has CMD end and cleans up after it), then the record goes.
    let dir = record.dir.clone();
    let cancel = undo::Registered::new(Phase::Processes, move || {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
        let _ = std::fs::remove_dir_all(&dir);
    });
    record.set_keeper(pid)?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(s) = record.started() {
            drop(cancel);
            let n = &record.name;
            say!("{n}: running, its PID 1 is {} on the host", s.pid)?;
            say!(
                "`learn-containers ps` lists it; `logs {n}`, `pause {n}`, `resume {n}`, `stop {n}`, `rm {n}`"
            )?;
            return Ok(Outcome::Done);
        }
        if let Some(status) = child.try_wait()? {
            drop(cancel);
            // The keeper said why in its log: say it here, and leave nothing behind.
            let said = std::fs::read_to_string(record.log()).unwrap_or_default();
            eprint!("{said}");
            containers::remove(record)?;
            std::process::exit(status.code().unwrap_or(1));
        }
        if Instant::now() > deadline {
            return Err(CliError::Usage(format!(
                "the container did not start within {} s; what it printed is in {}",
                START_TIMEOUT.as_secs(),
                record.log().display()
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The keeper's side: starts the container, writes down what it started, waits for CMD,
/// and writes down how it ended once its cgroups and mounts are gone.
pub fn keep(spec: &ContainerSpec, name: &str, dir: &Path) -> Result<Outcome> {
    let record = Record {
        name: name.to_owned(),
        dir: dir.to_path_buf(),
    };
    // The command writes this too, once it has spawned the keeper: whichever is first
    // closes the moment in which the record names no keeper.
    record.set_keeper(std::process::id() as i32)?;
    // CMD may run (and be sent a signal) before start returns: hold signals for it.
    signals::hold();
    let c = match Container::start(spec, Io::Inherit, None) {
        Ok(c) => c,
        Err(e) => {
            signals::forward_to(None);
            return Err(e.into());
        }
    };
    for note in c.notes() {
        eprintln!("note: {note}");
    }
    let freezer = c
        .freezer()
        .expect("a detached container is started freezable");
    let started = Started {
        name: name.to_owned(),
        command: spec.argv.clone(),
        created: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        pid: c.pid(),
        freezer: freezer.path.clone(),
        freezer_v2: freezer.version == Version::V2,
    };
    record.write("container.json", &serde_json::to_string_pretty(&started)?)?;
    // A SIGTERM to the keeper is one to CMD.
    signals::forward_to(Some(c.pid()));
    let ended = c.wait_ended();
    signals::forward_to(None);
    let ended = ended?;
    if ended.oom_killed {
        eprintln!("learn-containers: the OOM killer ended CMD: it reached its --memory limit");
    }
    record.write("ended", &format!("{}\n", ended.code))?;
    std::process::exit(ended.code)
}
