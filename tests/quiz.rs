//! Tier 1: `learn-containers quiz`, as a learner meets it: in a terminal (a pseudo-terminal
//! the test types into, arrow keys and Enter), without one (exit 2 and what to do), and
//! `--print` for a pipe. The best score lands in the progress file, and `list` shows it.

mod common;

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{cli, state_dir, text};

/// The CLI on a pseudo-terminal: what it writes, and a way to type.
struct Pty {
    child: Child,
    master: std::fs::File,
    screen: Arc<Mutex<Vec<u8>>>,
    /// Where the next `expect` starts looking.
    seen: usize,
}

impl Pty {
    fn spawn(args: &[&str], state: &std::path::Path) -> Pty {
        let size = nix::pty::Winsize {
            ws_row: 40,
            ws_col: 100,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&size), None).expect("openpty");
        let slave = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
        let child = Command::new(env!("CARGO_BIN_EXE_learn-containers"))
            .args(args)
            .env("LEARN_CONTAINERS_STATE", state)
            .env("LEARN_CONTAINERS_EXERCISES", state.join("exercises"))
            .env("TERM", "xterm")
            .env_remove("NO_COLOR")
            .stdin(slave(&pty.slave))
            .stdout(slave(&pty.slave))
            .stderr(slave(&pty.slave))
            .spawn()
            .expect("run learn-containers");
        // Only the child holds the terminal now: its end is the end of the output.
        drop(pty.slave);
        let master = std::fs::File::from(pty.master);
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once the child has closed the terminal.
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            child,
            master,
            screen,
            seen: 0,
        }
    }

    /// What the terminal shows, without the escape codes (colour, cursor).
    fn output(&self) -> String {
        let raw = String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned();
        let mut out = String::new();
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c != '\u{1b}' {
                out.push(c);
                continue;
            }
            // CSI: ESC [ parameters, ended by a byte from @ to ~.
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        }
        out
    }

    /// Waits until `what` appears after what earlier calls found.
    fn expect(&mut self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self.output();
            if let Some(i) = out.get(self.seen..).and_then(|rest| rest.find(what)) {
                self.seen += i + what.len();
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no {what:?} on the terminal; it shows:\n{out}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types keys, one at a time, as a person would.
    fn keys(&mut self, keys: &[&str]) {
        for k in keys {
            self.master.write_all(k.as_bytes()).unwrap();
            self.master.flush().unwrap();
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn wait(&mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the quiz did not end; it shows:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(100));
        (status.code(), self.output())
    }
}

impl Drop for Pty {
    /// A test that failed half-way leaves no quiz waiting for keys.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

const DOWN: &str = "\x1b[B";
const ENTER: &str = "\r";

/// Answers every question of chapter `n`'s quiz, the right option unless `wrong` names
/// the question (0-based) to get wrong, and returns the exit code and the screen.
fn take_quiz(n: u32, state: &std::path::Path, wrong: Option<usize>) -> (Option<i32>, String) {
    let chapter = lessons::find_chapter(&n.to_string()).unwrap();
    let questions = lessons::quiz::parse(chapter.quiz).unwrap();
    let mut pty = Pty::spawn(&["quiz", &n.to_string()], state);
    for (i, q) in questions.iter().enumerate() {
        pty.expect(&format!("question {} of {}", i + 1, questions.len()));
        // The options are drawn, the first one chosen: move down to the one we want.
        pty.expect(&format!("> {}", plain_start(&q.options[0])));
        let pick = match wrong {
            Some(w) if w == i => (q.answer + 1) % q.options.len(),
            _ => q.answer,
        };
        let mut keys = vec![DOWN; pick];
        keys.push(ENTER);
        pty.keys(&keys);
        pty.expect(if Some(i) == wrong {
            "Not quite"
        } else {
            "Right."
        });
    }
    pty.wait()
}

/// An option as a coloured terminal shows it: code spans without their backticks.
fn plain_start(option: &str) -> String {
    option.replace('`', "")
}

fn progress(state: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(state.join("progress.json")).unwrap()).unwrap()
}

#[test]
fn a_quiz_in_a_terminal_is_scored_and_the_best_score_kept() {
    let state = state_dir();
    let chapter = lessons::find_chapter("2").unwrap();
    let total = lessons::quiz::parse(chapter.quiz).unwrap().len();

    let (code, screen) = take_quiz(2, state.path(), Some(1));
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains(&format!("Score: {} of {total}", total - 1)),
        "{screen}"
    );
    assert!(screen.contains('✘') && screen.contains('✔'), "{screen}");
    assert!(screen.contains("reread"), "a next step: {screen}");
    let p = progress(state.path());
    assert_eq!(p["quiz"]["pid-namespace"]["best"], total - 1, "{p:#}");
    assert_eq!(p["quiz"]["pid-namespace"]["of"], total, "{p:#}");

    let (code, screen) = take_quiz(2, state.path(), None);
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains(&format!("Score: {total} of {total}")),
        "{screen}"
    );
    assert_eq!(
        progress(state.path())["quiz"]["pid-namespace"]["best"],
        total
    );

    // A worse try later does not lower the best.
    let (_, screen) = take_quiz(2, state.path(), Some(0));
    assert!(
        screen.contains(&format!("your best: {total} of {total}")),
        "{screen}"
    );
    assert_eq!(
        progress(state.path())["quiz"]["pid-namespace"]["best"],
        total
    );

    let list = text(&cli(&["list"], state.path()));
    assert!(list.contains(&format!("quiz {total} of {total}")), "{list}");
}

#[test]
fn quitting_a_quiz_records_nothing() {
    let state = state_dir();
    let mut pty = Pty::spawn(&["quiz", "1"], state.path());
    pty.expect("question 1 of");
    pty.expect("> ");
    pty.keys(&["q"]);
    let (code, screen) = pty.wait();
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("nothing recorded"), "{screen}");
    assert!(!state.path().join("progress.json").exists());
}

#[test]
fn without_a_terminal_the_quiz_says_how_to_take_it() {
    let state = state_dir();
    let out = cli(&["quiz", "2"], state.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("terminal") && err.contains("--print"),
        "what to do: {err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn print_gives_every_question_with_its_answer_as_plain_text() {
    let state = state_dir();
    for c in lessons::chapters() {
        let out = cli(&["quiz", c.slug, "--print"], state.path());
        let said = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(!said.contains('\u{1b}'), "no escape codes in a pipe");
        let questions = lessons::quiz::parse(c.quiz).unwrap();
        assert!(!questions.is_empty(), "chapter {} has a quiz", c.number);
        let flat = said.split_whitespace().collect::<Vec<_>>().join(" ");
        for (i, q) in questions.iter().enumerate() {
            assert!(flat.contains(&format!("Question {}", i + 1)), "{said}");
            let answer = format!("Answer: {}.", q.answer + 1);
            assert!(flat.contains(&answer), "{said}");
            for o in &q.options {
                assert!(flat.contains(o.as_str()), "{o:?} missing: {said}");
            }
        }
    }
}
