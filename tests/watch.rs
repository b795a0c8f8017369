//! Tier 2: `learn-containers watch` as a learner uses it. It verifies the current exercise
//! at once, again when its file is saved, records a pass and moves on to the next
//! chapter; it ends on Ctrl-C or SIGTERM (even in the middle of a verification), on `q`,
//! and at the end of a piped input, and leaves nothing behind on the host.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Host, privileged, serial, state_dir, working_copy, workspace};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A build of the working copy may start cold (nix and libc compiled first).
const FIRST_VERDICT: Duration = Duration::from_secs(300);
const VERDICT: Duration = Duration::from_secs(120);

struct Watch {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Arc<Mutex<String>>,
    seen: usize,
}

impl Watch {
    /// `watch ARGS` on the working copy `work`, with its state in `state`, stdin a pipe.
    fn start(args: &[&str], state: &Path, work: &Path) -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_learn-containers"))
            .arg("watch")
            .args(args)
            .env("LEARN_CONTAINERS_STATE", state)
            .env("LEARN_CONTAINERS_EXERCISES", work)
            .env_remove("NO_COLOR")
            .env_remove("LEARN_CONTAINERS_BIN_DIR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run learn-containers watch");
        let out = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let sink = out.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut o = sink.lock().unwrap();
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        Watch {
            stdin: child.stdin.take(),
            child,
            out,
            seen: 0,
        }
    }

    fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Waits until `what` is printed after what earlier calls found.
    fn expect(&mut self, what: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let out = self.output();
            if let Some(i) = out.get(self.seen..).and_then(|rest| rest.find(what)) {
                self.seen += i + what.len();
                return;
            }
            if Instant::now() > deadline || self.child.try_wait().unwrap().is_some() {
                let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGINT);
                let _ = self.child.wait();
                panic!("watch did not print {what:?}; it printed:\n{out}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    fn signal(&self, sig: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }

    /// The exit code, once it has exited (within 30 s).
    fn exit(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return (status.code(), self.output());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("watch did not end; it printed:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

fn progress(state: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(state.join("progress.json")).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_default()
}

#[test]
fn a_save_that_passes_is_recorded_and_ctrl_c_leaves_nothing() {
    if !privileged("a_save_that_passes_is_recorded_and_ctrl_c_leaves_nothing") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let state = state_dir();
    let (_keep, work) = working_copy();
    let mut w = Watch::start(&[], state.path(), work.path());
    // No pass yet: chapter 1 is the current exercise, verified at once.
    w.expect("Chapter 1 · chroot", Duration::from_secs(10));
    w.expect("Not passing yet", FIRST_VERDICT);
    w.expect("Watching for your next save", Duration::from_secs(5));
    assert!(progress(state.path())["passed"]["ch01_chroot"].is_null());

    // The learner saves a file that works.
    let (_, e) = lessons::find_exercise("ch01_chroot").unwrap();
    std::fs::copy(workspace().join("solutions").join(e.file()), work.file(e)).unwrap();
    w.expect("Chapter 1 · chroot", Duration::from_secs(10));
    w.expect("Passed ✔ — recorded. Next: chapter 2", VERDICT);
    w.expect("Now watching", Duration::from_secs(5));
    // Chapter 2's learner works in a module of the exercises' library.
    w.expect("src/pid_namespace.rs", Duration::from_secs(5));
    let pass = &progress(state.path())["passed"]["ch01_chroot"];
    assert_eq!(
        pass["sha256"].as_str().map(str::len),
        Some(64),
        "the pass is recorded with the file's hash: {pass}"
    );
    // The next chapter's file is elsewhere (a module in src/, not src/bin/): its saves
    // are seen too.
    let (_, e) = lessons::find_exercise("ch02_pid_namespace").unwrap();
    std::fs::copy(workspace().join("solutions").join(e.file()), work.file(e)).unwrap();
    w.expect("Passed ✔ — recorded. Next: chapter 3", VERDICT);

    w.signal(Signal::SIGINT);
    let (code, out) = w.exit();
    assert_eq!(code, Some(130), "Ctrl-C ends it as 128+SIGINT: {out}");
    assert!(!out.contains("panicked"), "{out}");
    before.assert_same(&Host::snapshot(), "watch, ended by Ctrl-C");
}

#[test]
fn sigterm_in_the_middle_of_a_verification_undoes_it() {
    if !privileged("sigterm_in_the_middle_of_a_verification_undoes_it") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let state = state_dir();
    let (_keep, work) = working_copy();
    let mut w = Watch::start(&["2"], state.path(), work.path());
    w.expect("Not passing yet", FIRST_VERDICT);
    w.send("h");
    w.expect("Hint 1 of", Duration::from_secs(10));
    // Verify again, and stop it once the program under test is running.
    let (_, e) = lessons::find_exercise("ch02_pid_namespace").unwrap();
    std::fs::copy(workspace().join("solutions").join(e.file()), work.file(e)).unwrap();
    w.expect("building … ok", VERDICT);
    w.signal(Signal::SIGTERM);
    let (code, out) = w.exit();
    assert_eq!(code, Some(143), "{out}");
    before.assert_same(&Host::snapshot(), "watch, ended by SIGTERM while verifying");
}

#[test]
fn q_or_the_end_of_its_input_stops_the_watch() {
    if !privileged("q_or_the_end_of_its_input_stops_the_watch") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let state = state_dir();
    let (_keep, work) = working_copy();

    let mut w = Watch::start(&["1"], state.path(), work.path());
    w.expect("Not passing yet", FIRST_VERDICT);
    w.send("q");
    let (code, out) = w.exit();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("Stopped watching."), "{out}");

    let mut w = Watch::start(&["1"], state.path(), work.path());
    w.expect("Not passing yet", FIRST_VERDICT);
    drop(w.stdin.take());
    let (code, out) = w.exit();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("the input was closed"), "{out}");
    before.assert_same(
        &Host::snapshot(),
        "watch, stopped by q and by its input's end",
    );
}
