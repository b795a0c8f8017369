//! The undo registry: what this run created and must undo if it is interrupted (Ctrl-C,
//! SIGTERM). It knows nothing of what it undoes: whoever creates something registers an
//! action that removes it, with the [`Phase`] it belongs to, and unregisters it once its
//! own guard has cleaned up on the normal path.
//!
//! [`release_all`] runs what is left, phase by phase and newest first within a phase:
//! processes die before the mounts and cgroups they hold, cgroups go before the
//! delegated cgroup is handed back, and directories go last. docs/architecture.md lists
//! the phases with what registers in each.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// When an undo action runs, relative to the others. Declared in teardown order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Children and their process groups: nothing may still run in what follows.
    Processes,
    /// cgroups, once their members are gone.
    Cgroups,
    /// The delegated cgroup (rootless chapter 4) goes back to how it was found, once
    /// every cgroup made in it is gone.
    CgroupParents,
    /// Scratch dirs and half-built rootfs trees, once nothing runs from them.
    Dirs,
}

/// Names one registered action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token(u64);

type Action = Box<dyn FnOnce() + Send>;

static NEXT: AtomicU64 = AtomicU64::new(1);
/// What is registered now, oldest first.
static REGISTRY: Mutex<Vec<(Token, Phase, Action)>> = Mutex::new(Vec::new());
/// Held while something is made and registered (see [`making`]).
static MAKING: Mutex<()> = Mutex::new(());
/// Set by [`release_all`]: the run is ending, and nothing new may be made.
static CLOSED: AtomicBool = AtomicBool::new(false);
/// The process the statics above belong to: a forked child has copies of them.
static OWNER: OnceLock<u32> = OnceLock::new();
/// Set by [`fell_short`]: some action could not undo what it was registered for.
static SHORT: AtomicBool = AtomicBool::new(false);

/// Called by an undo action that could not undo its thing: says what is left, so the
/// interrupted run does not claim it removed everything (`clean` retries it).
pub fn fell_short(what: impl std::fmt::Display) {
    SHORT.store(true, Ordering::SeqCst);
    eprintln!("warning: could not remove {what}");
}

/// Registers `action` to run if the run is interrupted before [`unregister`] is called.
pub fn register(phase: Phase, action: impl FnOnce() + Send + 'static) -> Token {
    let t = Token(NEXT.fetch_add(1, Ordering::Relaxed));
    REGISTRY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((t, phase, Box::new(action)));
    t
}

/// Forgets a registration: its owner has undone the thing itself (or handed it on).
pub fn unregister(t: Token) {
    REGISTRY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(x, _, _)| *x != t);
}

/// A registration undone when dropped, for what has no guard of its own.
#[derive(Debug)]
pub struct Registered(Token);

impl Registered {
    pub fn new(phase: Phase, action: impl FnOnce() + Send + 'static) -> Registered {
        Registered(register(phase, action))
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        unregister(self.0);
    }
}

/// Runs `make`, which creates something on the host and registers it (or writes into
/// something registered), so that an interrupt's cleanup runs wholly before it or wholly
/// after it, never in between: a dir made but not yet registered, or a rootfs still being
/// written into a dir being removed, would outlive the run. Once the run is ending, the
/// calling thread waits here until the process exits. `make` must be short and must not
/// call `making` itself (it would wait for itself).
pub fn making<T>(make: impl FnOnce() -> T) -> T {
    let owner = *OWNER.get_or_init(std::process::id);
    if owner != std::process::id() {
        // A forked child: its copy of the lock may be held by a thread it does not have,
        // and the interrupt cleanup is the parent's business, not its own.
        return make();
    }
    let turn = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    if CLOSED.load(Ordering::SeqCst) {
        drop(turn);
        park_forever();
    }
    make()
}

/// Undoes everything still registered: by phase, newest first within a phase. Called
/// when the CLI is interrupted, right before it exits. Whatever another thread was making
/// is finished and registered first, and from then on nothing new is made: [`making`]
/// parks its caller, and so does a second call of this function, until the process exits.
/// Returns false if an action [`fell_short`].
pub fn release_all() -> bool {
    OWNER.get_or_init(std::process::id);
    {
        let _turn = MAKING.lock().unwrap_or_else(|e| e.into_inner());
        if CLOSED.swap(true, Ordering::SeqCst) {
            drop(_turn);
            park_forever();
        }
    }
    let items = std::mem::take(&mut *REGISTRY.lock().unwrap_or_else(|e| e.into_inner()));
    for action in teardown_order(items) {
        action();
    }
    !SHORT.load(Ordering::SeqCst)
}

/// By phase, and newest first within a phase (the registry holds them oldest first).
fn teardown_order(mut items: Vec<(Token, Phase, Action)>) -> Vec<Action> {
    items.reverse();
    // A stable sort keeps newest-first within each phase.
    items.sort_by_key(|(_, phase, _)| *phase);
    items.into_iter().map(|(_, _, action)| action).collect()
}

/// Waits until the process exits: the thread running [`release_all`] ends it.
fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn phases_run_in_order_and_newest_first_within_one() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut items: Vec<(Token, Phase, Action)> = Vec::new();
        for (n, (phase, name)) in [
            (Phase::Dirs, "dir a"),
            (Phase::Processes, "process a"),
            (Phase::Cgroups, "cgroup a"),
            (Phase::Cgroups, "cgroup b"),
            (Phase::Processes, "process b"),
            (Phase::CgroupParents, "delegation"),
        ]
        .into_iter()
        .enumerate()
        {
            let log = log.clone();
            items.push((
                Token(n as u64),
                phase,
                Box::new(move || log.lock().unwrap().push(name)),
            ));
        }
        for action in teardown_order(items) {
            action();
        }
        assert_eq!(
            *log.lock().unwrap(),
            vec![
                "process b",
                "process a",
                "cgroup b",
                "cgroup a",
                "delegation",
                "dir a"
            ]
        );
    }

    #[test]
    fn unregistered_actions_never_run() {
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let t = register(Phase::Dirs, move || flag.store(true, Ordering::SeqCst));
        unregister(t);
        assert!(!REGISTRY.lock().unwrap().iter().any(|(x, _, _)| *x == t));
        assert!(!ran.load(Ordering::SeqCst));
    }
}
