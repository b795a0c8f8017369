//! What `watch` waits for, as one stream of events: a save in the exercises' directory
//! (notify, debounced), a key (stdin a terminal), a command line or the end of the input
//! (stdin a pipe). Stdin that is neither, such as /dev/null, is not read: the watch then
//! ends on a signal, as every command does (src/signals.rs).

use std::io::{BufRead, IsTerminal, Read};
use std::path::Path;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use lessons::kernel::undo::{Phase, Registered};
use nix::sys::termios::{self, LocalFlags, SetArg, SpecialCharacterIndices, Termios};
use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};

/// How long a file must be quiet before its save counts: an editor's write, rename and
/// chmod come as one save.
const QUIET: Duration = Duration::from_millis(100);

pub enum Event {
    /// A file under the watched directory was written, created, moved or touched.
    Saved(PathBuf),
    /// A key pressed, or the first letter of a line read from a pipe.
    Key(char),
    /// The pipe on stdin was closed.
    InputClosed,
    /// The file watcher failed.
    Failed(String),
}

/// The running sources of events; they stop when this is dropped (the terminal, if it
/// was changed, goes back to how it was).
pub struct Inputs {
    rx: Receiver<Event>,
    _debouncer: Debouncer<RecommendedWatcher>,
    _keys: Option<KeyMode>,
    /// Whether keys can be read: stdin is a terminal.
    pub keys: bool,
}

impl Inputs {
    /// Starts watching `dir` and its subdirectories (an exercise is in src/ or src/bin/)
    /// and reading stdin.
    pub fn start(dir: &Path) -> Result<Inputs, String> {
        let (tx, rx) = channel();
        let saves = tx.clone();
        let mut debouncer = new_debouncer(QUIET, move |res: DebounceEventResult| {
            let events = match res {
                Ok(events) => events.into_iter().map(|e| Event::Saved(e.path)).collect(),
                Err(e) => vec![Event::Failed(e.to_string())],
            };
            for e in events {
                let _ = saves.send(e);
            }
        })
        .map_err(|e| format!("cannot watch files here: {e}"))?;
        debouncer
            .watcher()
            .watch(dir, RecursiveMode::Recursive)
            .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
        let stdin = std::io::stdin();
        let (keys, mode) = if stdin.is_terminal() {
            let mode = KeyMode::enter().ok();
            spawn_keys(tx);
            (true, mode)
        } else {
            if is_pipe() {
                spawn_lines(tx);
            }
            (false, None)
        };
        Ok(Inputs {
            rx,
            _debouncer: debouncer,
            _keys: mode,
            keys,
        })
    }

    /// The next event; `None` when every source has stopped.
    pub fn next(&self) -> Option<Event> {
        self.rx.recv().ok()
    }
}

/// Stdin is a pipe or a socket: something that can send commands and then close.
fn is_pipe() -> bool {
    use nix::sys::stat::{SFlag, fstat};
    fstat(std::io::stdin()).is_ok_and(|st| {
        let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
        kind == SFlag::S_IFIFO || kind == SFlag::S_IFSOCK
    })
}

fn spawn_keys(tx: Sender<Event>) {
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut byte = [0u8; 1];
        while let Ok(1) = stdin.read(&mut byte) {
            if tx.send(Event::Key(byte[0] as char)).is_err() {
                return;
            }
        }
        // A terminal that went away (hangup) also sends SIGHUP, which ends the run.
    });
}

fn spawn_lines(tx: Sender<Event>) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if let Some(c) = line.trim().chars().next()
                && tx.send(Event::Key(c)).is_err()
            {
                return;
            }
        }
        let _ = tx.send(Event::InputClosed);
    });
}

/// The terminal reads keys one at a time and does not echo them, while Ctrl-C still
/// sends SIGINT and output still starts each line at the left margin. Put back when
/// dropped, and by the undo registry if a signal ends the run first.
struct KeyMode {
    saved: Termios,
    _undo: Registered,
}

impl KeyMode {
    fn enter() -> nix::Result<KeyMode> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(&stdin)?;
        let mut keys = saved.clone();
        keys.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO);
        keys.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        keys.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        let back = saved.clone();
        // Registered first: a signal between the two calls still puts the terminal back.
        let undo = Registered::new(Phase::Dirs, move || {
            let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, &back);
        });
        termios::tcsetattr(&stdin, SetArg::TCSANOW, &keys)?;
        Ok(KeyMode { saved, _undo: undo })
    }
}

impl Drop for KeyMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, &self.saved);
    }
}
