//! Tier 2: signals at unplanned moments. Every lesson (with --yes, so it never pauses) and
//! every verification of a reference solution is sent SIGINT, SIGTERM or SIGKILL at
//! moments spread over its whole run, a learner's Ctrl-C or `kill` in the middle of a
//! step rather than at a pause (tests/faults.rs covers the pauses). Afterwards the host
//! must be as it was: at once for SIGINT and SIGTERM (exit 130 / 143), after one
//! `learn-containers clean` for SIGKILL.
//!
//! The moments are random within evenly spaced slices of the run; the seed is printed
//! with every failure, and LEARN_CONTAINERS_SEED=N replays it.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Host, cli, privileged, serial, text};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The signals each run gets, one each, in a random order over three equal slices of it.
const SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGKILL];

/// xorshift64: enough to spread moments, and replayable from the seed.
struct Moments(u64);

impl Moments {
    fn new() -> (Moments, u64) {
        let seed = std::env::var("LEARN_CONTAINERS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            })
            .max(1);
        (Moments(seed), seed)
    }

    /// A fraction in [0, 1).
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Starts the CLI with `args`, its output going to a file in `state` (read afterwards).
fn start(args: &[&str], state: &Path) -> Child {
    let log = std::fs::File::create(state.join("output.log")).unwrap();
    Command::new(env!("CARGO_BIN_EXE_learn-containers"))
        .args(args)
        .env("LEARN_CONTAINERS_STATE", state)
        .env("LEARN_CONTAINERS_EXERCISES", state.join("exercises"))
        .env_remove("LEARN_CONTAINERS_BIN_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap()
}

fn output(state: &Path) -> String {
    std::fs::read_to_string(state.join("output.log")).unwrap_or_default()
}

/// The last line a run printed.
/// The last line printed, with each run's own state dir name (in the "Next:" line)
/// made the same: a run that finished must compare equal to the reference run.
fn last_line(said: &str) -> String {
    let line = said
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let marker = "learn-containers-test-state-";
    match line.find(marker) {
        Some(i) => {
            let rest = &line[i + marker.len()..];
            let name_end = rest.find('/').unwrap_or(rest.len());
            format!("{}{marker}STATE{}", &line[..i], &rest[name_end..])
        }
        None => line.to_owned(),
    }
}

/// Runs `args` once to the end (it must succeed and leave nothing) and returns how long
/// it took, the span the moments are spread over, and its last line.
fn full_run(args: &[&str]) -> (Duration, String) {
    let state = common::state_outside_tmp();
    let before = Host::snapshot();
    let t0 = Instant::now();
    let status = start(args, state.path()).wait().unwrap();
    let took = t0.elapsed();
    assert_eq!(
        status.code(),
        Some(0),
        "{args:?} must pass when left alone:\n{}",
        output(state.path())
    );
    before.assert_same(&Host::snapshot(), &format!("{args:?}"));
    (took, last_line(&output(state.path())))
}

/// Sends `signal` to a run of `args` at `at` after its start, and checks the host.
/// `end` is the last line of a full run.
fn interrupt(args: &[&str], signal: Signal, at: Duration, end: &str, seed: u64) {
    let what = format!("{signal} {} ms into {args:?} (seed {seed})", at.as_millis());
    let state = common::state_outside_tmp();
    let before = Host::snapshot();
    let mut child = start(args, state.path());
    // Moments count from the exec: before it, the signal meets the test's own fork.
    let exe = Path::new(env!("CARGO_BIN_EXE_learn-containers"));
    let pid = child.id();
    while std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e != exe) {
        std::thread::yield_now();
    }
    std::thread::sleep(at);
    if let Some(status) = child.try_wait().unwrap() {
        // It finished first: nothing to interrupt, but it must still have passed.
        assert_eq!(status.code(), Some(0), "{what}: {}", output(state.path()));
    } else {
        kill(Pid::from_raw(child.id() as i32), signal).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "{what}: still running 30 s later:\n{}",
                    output(state.path())
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let said = output(state.path());
        match signal {
            Signal::SIGKILL => {
                let out = cli(&["clean"], state.path());
                assert_eq!(out.status.code(), Some(0), "{what}: clean: {}", text(&out));
                let again = cli(&["clean"], state.path());
                assert_eq!(
                    text(&again).trim(),
                    "nothing to clean",
                    "{what}: a second clean found more after the first said:\n{}",
                    text(&out)
                );
            }
            // In the first instants, while the loader runs and before main has blocked
            // the signal, it kills the process, which has done nothing yet: a shell
            // reports that as 128+N too.
            _ if status.signal() == Some(signal as i32) => {
                assert_eq!(
                    said, "",
                    "{what}: killed by the signal after it started work"
                );
            }
            // It had done all its work: the signal met it on its way out, after its last
            // check for one (a signal in the middle makes it stop, so the end is not
            // printed).
            _ if status.code() == Some(0) => {
                assert_eq!(last_line(&said), end, "{what}: exit 0 without finishing");
            }
            _ => {
                assert_eq!(
                    status.code(),
                    Some(128 + signal as i32),
                    "{what}: the exit code:\n{said}"
                );
                assert!(!said.contains("panicked"), "{what}:\n{said}");
            }
        }
    }
    before.assert_same(&Host::snapshot(), &what);
}

/// For each run: SIGINT, SIGTERM and SIGKILL once each, one in each third of the time a
/// full run takes, at a random moment of it, the signal for each third rotated at random.
/// A sample, not every signal everywhere: ten chapters' lessons and verifications must
/// fit CI's time, and each CI run draws other moments (the seed replays a failure).
fn interrupt_everywhere(runs: &[Vec<String>]) {
    let (mut moments, seed) = Moments::new();
    eprintln!("moments from seed {seed} (LEARN_CONTAINERS_SEED={seed} replays them)");
    let slices = SIGNALS.len();
    for args in runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (span, end) = full_run(&args);
        let rotate = (moments.next() * slices as f64) as usize;
        for slice in 0..slices {
            let f = (slice as f64 + moments.next()) / slices as f64;
            let signal = SIGNALS[(slice + rotate) % slices];
            interrupt(&args, signal, span.mul_f64(f), &end, seed);
        }
    }
}

#[test]
fn a_signal_at_any_moment_of_a_lesson_leaves_nothing() {
    if !privileged("a_signal_at_any_moment_of_a_lesson_leaves_nothing") {
        return;
    }
    let _turn = serial();
    let runs: Vec<Vec<String>> = lessons::chapters()
        .iter()
        .map(|c| vec!["lesson".into(), c.number.to_string(), "--yes".into()])
        .collect();
    interrupt_everywhere(&runs);
}

#[test]
fn a_signal_at_any_moment_of_a_verification_leaves_nothing() {
    if !privileged("a_signal_at_any_moment_of_a_verification_leaves_nothing") {
        return;
    }
    let _turn = serial();
    let runs: Vec<Vec<String>> = lessons::chapters()
        .iter()
        .map(|c| vec!["verify".into(), c.number.to_string(), "--solution".into()])
        .collect();
    interrupt_everywhere(&runs);
}
