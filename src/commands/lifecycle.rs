//! `ps`, `pause`, `resume`, `stop`, `rm` and `logs`: what can be done to a detached
//! container (`run -d`, chapter 10). Each reads the status from the kernel first (see
//! [`super::containers`]); one that cannot act now says why and exits 1.

use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::containers::{self, Record, Status};
use crate::Outcome;
use crate::cli::Format;
use crate::error::{CliError, Result};
use crate::say;
use lessons::kernel::cgroup::FreezerState;

/// How long the freezer has to report frozen or thawed.
const FREEZER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the keeper has to clean up after CMD has died.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Says why the container cannot do that now: exit 1, as runc does.
fn refuse(message: String) -> Result<Outcome> {
    eprintln!("learn-containers: {message}");
    Ok(Outcome::NotPassing)
}

pub fn ps(format: Format) -> Result<Outcome> {
    let records = Record::all()?;
    let rows: Vec<(String, Status, Option<i32>, String, String)> = records
        .iter()
        .map(|r| {
            let started = r.started();
            let status = r.status();
            let pid = started
                .as_ref()
                .map(|s| s.pid)
                .filter(|_| matches!(status, Status::Running | Status::Paused));
            let command = started
                .as_ref()
                .map(|s| s.command.join(" "))
                .unwrap_or_default();
            let age = started.as_ref().map(|s| ago(s.created)).unwrap_or_default();
            (r.name.clone(), status, pid, command, age)
        })
        .collect();
    if format == Format::Json {
        let list: Vec<serde_json::Value> = rows
            .iter()
            .map(|(name, status, pid, command, _)| {
                serde_json::json!({
                    "name": name,
                    "status": status.word(),
                    "pid": pid,
                    "exit_code": match status { Status::Stopped(c) => *c, _ => None },
                    "command": command,
                })
            })
            .collect();
        say!("{}", serde_json::to_string_pretty(&list)?)?;
        return Ok(Outcome::Done);
    }
    if rows.is_empty() {
        say!("no containers: `learn-containers run -d --name NAME -- CMD` starts one")?;
        return Ok(Outcome::Done);
    }
    say!(
        "{:<16} {:<22} {:>8}  {:<12} COMMAND",
        "NAME",
        "STATUS",
        "PID",
        "CREATED"
    )?;
    for (name, status, pid, command, age) in &rows {
        let status = match status {
            Status::Stopped(Some(code)) => format!("stopped (exit {code})"),
            Status::Lost => "lost (clean removes it)".to_owned(),
            s => s.word().to_owned(),
        };
        let pid = pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
        let command: String = command.chars().take(40).collect();
        say!("{name:<16} {status:<22} {pid:>8}  {age:<12} {command}")?;
    }
    Ok(Outcome::Done)
}

/// "5 s ago", "3 min ago", "2 h ago".
fn ago(created: u64) -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(created);
    let s = now.saturating_sub(created);
    match s {
        0..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        _ => format!("{} h ago", s / 3600),
    }
}

pub fn pause(name: &str) -> Result<Outcome> {
    let r = Record::find(name)?;
    match r.status() {
        Status::Running => {}
        s => {
            return refuse(format!(
                "{name} is {}, not running: nothing to pause",
                s.word()
            ));
        }
    }
    let cg = r.freezer().ok_or_else(|| broken(&r))?;
    cg.freeze().map_err(lessons::Error::from)?;
    // The kernel freezes each process as it next leaves the kernel or is scheduled: the
    // pause is done when it says frozen, not when the file is written.
    let state = cg
        .wait_freezer(FreezerState::Frozen, FREEZER_TIMEOUT)
        .map_err(lessons::Error::from)?;
    if state != FreezerState::Frozen {
        return refuse(format!(
            "{name}: the kernel still says {state:?} after {} s",
            FREEZER_TIMEOUT.as_secs()
        ));
    }
    say!("{name}: paused (the kernel reports its cgroup frozen)")?;
    Ok(Outcome::Done)
}

pub fn resume(name: &str) -> Result<Outcome> {
    let r = Record::find(name)?;
    match r.status() {
        Status::Paused => {}
        s => {
            return refuse(format!(
                "{name} is {}, not paused: nothing to resume",
                s.word()
            ));
        }
    }
    let cg = r.freezer().ok_or_else(|| broken(&r))?;
    cg.thaw().map_err(lessons::Error::from)?;
    cg.wait_freezer(FreezerState::Thawed, FREEZER_TIMEOUT)
        .map_err(lessons::Error::from)?;
    say!("{name}: running again (the kernel reports its cgroup thawed)")?;
    Ok(Outcome::Done)
}

pub fn stop(name: &str, grace: u64) -> Result<Outcome> {
    let r = Record::find(name)?;
    let pid = match (r.status(), r.started()) {
        (Status::Running | Status::Paused, Some(s)) => s.pid,
        (s, _) => return refuse(format!("{name} is {}: nothing to stop", s.word())),
    };
    signal(&r, pid, Signal::SIGTERM)?;
    let deadline = Instant::now() + Duration::from_secs(grace);
    while r.keeper_alive() && r.ended().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if r.ended().is_none() && r.keeper_alive() {
        // A PID 1 gets only the signals it has a handler for: without one, SIGTERM
        // is dropped, and only SIGKILL ends it.
        say!("{name}: still running {grace} s after SIGTERM: SIGKILL")?;
        signal(&r, pid, Signal::SIGKILL)?;
    }
    let code = wait_cleaned(&r)?;
    say!("{name}: stopped (exit status {code})")?;
    Ok(Outcome::Done)
}

pub fn rm(name: &str, force: bool) -> Result<Outcome> {
    let r = Record::find(name)?;
    match (r.status(), r.started()) {
        (Status::Running | Status::Paused, Some(s)) if force => {
            signal(&r, s.pid, Signal::SIGKILL)?;
            wait_cleaned(&r)?;
        }
        (s @ (Status::Running | Status::Paused), _) => {
            return refuse(format!(
                "{name} is {}: `learn-containers stop {name}` first, or `rm --force {name}`",
                s.word()
            ));
        }
        (Status::Stopped(None), _) if r.keeper_alive() => {
            return refuse(format!(
                "{name} is starting or being cleaned up: try again in a moment"
            ));
        }
        _ => {}
    }
    containers::remove(&r)?;
    say!("{name}: removed")?;
    Ok(Outcome::Done)
}

pub fn logs(name: &str) -> Result<Outcome> {
    let r = Record::find(name)?;
    let text = std::fs::read_to_string(r.log()).unwrap_or_default();
    if !text.is_empty() {
        say!("{}", text.trim_end_matches('\n'))?;
    }
    Ok(Outcome::Done)
}

/// Sends `sig` to PID 1. A frozen process keeps a signal pending until it is thawed (on
/// v1 even SIGKILL), so a paused container is thawed right after.
fn signal(r: &Record, pid: i32, sig: Signal) -> Result<()> {
    match kill(Pid::from_raw(pid), sig) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(e) => return Err(CliError::Usage(format!("kill {pid}: {e}"))),
    }
    if let Some(cg) = r.freezer()
        && cg.freezer_state().is_ok_and(|s| s != FreezerState::Thawed)
    {
        cg.thaw().map_err(lessons::Error::from)?;
    }
    Ok(())
}

/// Waits until the keeper has removed everything and written how CMD ended.
fn wait_cleaned(r: &Record) -> Result<i32> {
    let deadline = Instant::now() + CLEANUP_TIMEOUT;
    loop {
        if let Some(code) = r.ended() {
            return Ok(code);
        }
        if !r.keeper_alive() {
            return r.ended().ok_or_else(|| {
                CliError::Usage(format!(
                    "{}'s keeper ended without saying how CMD ended: `learn-containers clean` removes what is left",
                    r.name
                ))
            });
        }
        if Instant::now() > deadline {
            return Err(CliError::Usage(format!(
                "{} was killed, but its keeper has not finished cleaning up after {} s; see `learn-containers logs {}`",
                r.name,
                CLEANUP_TIMEOUT.as_secs(),
                r.name
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn broken(r: &Record) -> CliError {
    CliError::Usage(format!(
        "{}'s record names no cgroup of ours to freeze ({}): `learn-containers rm --force {}`",
        r.name,
        r.dir.join("container.json").display(),
        r.name
    ))
}
