//! `learn-containers watch [N]`: verifies the current exercise (the first whose exercise
//! has not passed, or chapter N's) now and every time its file is saved, redrawing the
//! screen with the verdict, and moves on to the next chapter after a pass. It judges
//! through `verify`'s own code ([`super::verify::judge`]), so a verdict reads the same.
//!
//! It ends with `q` (stdin a terminal), a line `q` or the end of the input (stdin a
//! pipe), or Ctrl-C / SIGTERM, which, as for every command, undo whatever the running
//! verification had created (src/signals.rs) and exit with 128+signal.

mod input;

use std::path::Path;
use std::time::SystemTime;

use colored::Colorize;
use dialoguer::console::Term;
use lessons::catalogue::Rootless;
use lessons::verify::build::Flavor;
use lessons::verify::limits::{MAX_PIDS, PidsLimit};
use lessons::workdir::WorkDir;
use lessons::{Chapter, Exercise};

use self::input::{Event, Inputs};
use super::verify;
use crate::Outcome;
use crate::error::{CliError, Result};
use crate::progress::Progress;
use crate::say;
use crate::ui;
use crate::workspace;

pub fn run(key: Option<&str>) -> Result<Outcome> {
    let root = workspace::root()?;
    let work = workspace::exercises()?;
    let progress = Progress::load(&workspace::state_dir()?)?;
    let mut chapter = match key {
        Some(key) => super::chapter(key)?,
        None => match next_unpassed(&progress, None) {
            Some(c) => c,
            None => {
                say!(
                    "Every exercise passes. `learn-containers watch N` watches chapter N's again."
                )?;
                return Ok(Outcome::Done);
            }
        },
    };
    ready(chapter)?;
    let exercise = |c: &'static Chapter| -> Result<&'static Exercise> {
        c.exercises.first().ok_or_else(|| {
            CliError::Usage(format!("chapter {} has no exercise to watch", c.number))
        })
    };
    // Every chapter's file is under src/ (a module, or a program in src/bin/): watching
    // it covers the next chapter's too.
    let dir = work.path().join("src");
    let inputs = Inputs::start(&dir).map_err(|why| {
        CliError::Usage(format!(
            "{why}; `learn-containers verify {}` checks your exercise without watching",
            chapter.number
        ))
    })?;
    let (mut stamp, _) = round(&root, &work, chapter, exercise(chapter)?, &inputs)?;
    while let Some(event) = inputs.next() {
        let e = exercise(chapter)?;
        let again = match event {
            // A save during a round arrives after it and, the file's stamp having changed
            // since the round began, is verified next; repeated events of one save are not.
            Event::Saved(path) => {
                same_file(&path, &work.file(e))
                    && Stamp::of(&work.file(e)).is_some_and(|now| Some(&now) != stamp.as_ref())
            }
            Event::Key('r' | 'R' | '\n') => true,
            Event::Key('h' | 'H') => {
                say!()?;
                super::hint::show(chapter, "Press h again for the next hint.")?;
                false
            }
            Event::Key('q' | 'Q') => {
                say!("Stopped watching.")?;
                return Ok(Outcome::Done);
            }
            Event::Key(_) => false,
            Event::InputClosed => {
                say!("Stopped watching: the input was closed.")?;
                return Ok(Outcome::Done);
            }
            Event::Failed(why) => {
                return Err(CliError::Usage(format!(
                    "watching {} failed: {why}; `learn-containers verify {}` still works",
                    dir.display(),
                    chapter.number
                )));
            }
        };
        if !again {
            continue;
        }
        let verdict;
        (stamp, verdict) = round(&root, &work, chapter, e, &inputs)?;
        match verdict {
            Verdict::Failing => {}
            Verdict::Passed(None) => {
                say!("Stopped watching.")?;
                return Ok(Outcome::Done);
            }
            Verdict::Passed(Some(next)) => {
                ready(next)?;
                chapter = next;
                let e = exercise(chapter)?;
                say!(
                    "Now watching {}: save it to verify it.",
                    workspace::shown(&work, e)
                )?;
                say!("{}", keys_help(&inputs).dimmed())?;
                stamp = Stamp::of(&work.file(e));
            }
        }
    }
    Ok(Outcome::Done)
}

/// How a round ended.
enum Verdict {
    Failing,
    /// Passed, and the chapter to watch next (`None`: every exercise passes).
    Passed(Option<&'static Chapter>),
}

/// The first chapter after `after` (from the start when `None`, wrapping around) whose
/// exercise has no recorded pass.
pub fn next_unpassed(progress: &Progress, after: Option<&Chapter>) -> Option<&'static Chapter> {
    let all = lessons::chapters();
    let start = after.map_or(0, |a| {
        all.iter()
            .position(|c| c.number == a.number)
            .map_or(0, |i| i + 1)
    });
    (0..all.len())
        .map(|k| all[(start + k) % all.len()])
        .find(|c| {
            !c.exercises.is_empty()
                && c.exercises
                    .iter()
                    .any(|e| !progress.passed.contains_key(e.id))
        })
}

/// Can this run verify `chapter`? What `verify N` requires, and, in the user namespace
/// that a run without root enters for the namespace chapters, nothing more than that.
/// Whether a path the watcher reported is `file` (it may report it through a symlink
/// of the directory, or not canonical).
fn same_file(reported: &Path, file: &Path) -> bool {
    reported == file
        || reported
            .canonicalize()
            .ok()
            .zip(file.canonicalize().ok())
            .is_some_and(|(a, b)| a == b)
}

fn ready(chapter: &Chapter) -> Result<()> {
    let what = format!("watch {}", chapter.number);
    let inside = crate::rootless::in_user_namespace();
    if inside && chapter.rootless() == Rootless::AsTheUser {
        return Err(CliError::Usage(format!(
            "chapter {n} makes user namespaces of its own, as you, and this watch runs inside one made for an earlier chapter: stop it and run `learn-containers watch {n}`",
            n = chapter.number
        )));
    }
    if inside && chapter.rootless() != Rootless::UserNamespace {
        return Err(CliError::Usage(format!(
            "chapter {n} needs cgroups, which the user namespace this watch runs in cannot give: stop it and run `sudo learn-containers watch {n}`",
            n = chapter.number
        )));
    }
    super::require_privileges(&what, &[chapter])?;
    super::require_bash(&what)
}

/// What a round saw of the file, from its metadata alone: a save changes it, while an
/// editor, cargo or this check only reading the file does not (reading it would report
/// an open, and the watch would poll itself).
#[derive(PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    changed: (i64, i64),
    inode: u64,
    len: u64,
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(Stamp {
            modified: m.modified().ok(),
            changed: (m.ctime(), m.ctime_nsec()),
            inode: m.ino(),
            len: m.len(),
        })
    }
}

/// One verification, on a fresh screen: the header, `verify`'s own report, the verdict
/// and what comes next. A problem of the host is said and the watch goes on.
fn round(
    root: &Path,
    work: &WorkDir,
    chapter: &Chapter,
    exercise: &Exercise,
    inputs: &Inputs,
) -> Result<(Option<Stamp>, Verdict)> {
    let path = work.file(exercise);
    let stamp = Stamp::of(&path);
    if ui::escapes() {
        Term::stdout().clear_screen()?;
    } else {
        say!()?;
        say!("{}", ui::rule())?;
    }
    let saved = stamp
        .as_ref()
        .and_then(|s| s.modified)
        .map(|t| format!("   (saved {})", clock(t)))
        .unwrap_or_default();
    say!(
        "{}{}",
        format!(
            "Chapter {} · {} · {}",
            chapter.number,
            chapter.slug,
            workspace::shown(work, exercise)
        )
        .bold(),
        saved.dimmed()
    )?;
    let limit = PidsLimit::install(MAX_PIDS).ok();
    let judged = verify::judge(
        root,
        work,
        exercise,
        Flavor::Exercise,
        None,
        limit.as_ref(),
        true,
    );
    drop(limit);
    let waiting = || {
        say!(
            "Watching for your next save …   {}",
            keys_help(inputs).dimmed()
        )
    };
    let checks = match judged {
        Ok(checks) => checks,
        Err(e) if e.closed_pipe() => return Err(e),
        Err(e) => {
            ui::error(&e);
            waiting()?;
            return Ok((stamp, Verdict::Failing));
        }
    };
    let passed = checks.iter().filter(|c| c.passed()).count();
    if checks.is_empty() || passed < checks.len() {
        verify::summary(chapter, false, passed, checks.len(), None)?;
        waiting()?;
        return Ok((stamp, Verdict::Failing));
    }
    // judge has recorded the pass.
    let progress = Progress::load(&workspace::state_dir()?)?;
    let next = next_unpassed(&progress, Some(chapter));
    let then = match next {
        Some(c) => format!(
            "chapter {} (`learn-containers lesson {}` first)",
            c.number, c.number
        ),
        None => "nothing left: every exercise passes".to_owned(),
    };
    verify::summary(chapter, true, passed, checks.len(), Some(&then))?;
    Ok((stamp, Verdict::Passed(next)))
}

fn keys_help(inputs: &Inputs) -> &'static str {
    if inputs.keys {
        "[h] hint  [r] verify again  [q] quit"
    } else {
        "Ctrl-C to stop"
    }
}

/// The local time of day, as the learner's clock shows it: `14:02:11`.
fn clock(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as nix::libc::time_t;
    // SAFETY: libc's tm is plain data, for which all zeroes is a valid value;
    // localtime_r reads `secs` and writes only into the `tm` we own (no shared static,
    // unlike localtime), and both outlive the call.
    let mut tm: nix::libc::tm = unsafe { std::mem::zeroed() };
    let ok = !unsafe { nix::libc::localtime_r(&secs, &mut tm) }.is_null();
    if !ok {
        return humantime::format_rfc3339_seconds(t).to_string();
    }
    format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
}
