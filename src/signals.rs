//! Ctrl-C, SIGTERM and SIGHUP end the run cleanly: whatever this run created (children,
//! cgroups, temp dirs) is undone before exiting with 128+signal. While `run` has a container, they are
//! forwarded to its PID 1 instead ([`hold`], [`forward_to`]), and `run` exits with CMD's
//! status.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

static RECEIVED: std::sync::OnceLock<Arc<AtomicUsize>> = std::sync::OnceLock::new();
/// The pid signals are forwarded to: 0, none (the signals end the run); [`HOLD`], a
/// container is starting (the signal waits in [`PENDING`] for its PID 1).
static FORWARD: AtomicI32 = AtomicI32::new(0);
const HOLD: i32 = -1;
/// The command has ended and main is deciding the exit code: a signal now is too late
/// to interrupt anything, and is ignored.
const FINISHING: i32 = -2;
/// A signal that came while the container was starting (0: none).
static PENDING: AtomicI32 = AtomicI32::new(0);

/// A container is starting: a signal that comes now is kept for its PID 1, which may
/// already be running CMD before the start returns (CMD can print, and be signalled,
/// before this process has heard that the exec succeeded).
pub fn hold() {
    FORWARD.store(HOLD, Ordering::SeqCst);
}

/// From now on, SIGINT, SIGTERM and SIGHUP are passed on to `pid` (a container's PID 1)
/// rather than ending this run, starting with one held since [`hold`]; `None` goes back
/// to ending it (a held signal is then dropped: the start failed and says why).
pub fn forward_to(pid: Option<i32>) {
    FORWARD.store(pid.unwrap_or(0), Ordering::SeqCst);
    let held = PENDING.swap(0, Ordering::SeqCst);
    if let (Some(pid), true) = (pid, held != 0) {
        send(pid, held);
    }
}

/// The command has returned: from now on signals are ignored, and [`interrupted`] says
/// whether one came before. Without this, a signal in the last instant would print
/// "interrupted" over a finished run while main exits 0.
pub fn finish() {
    FORWARD.store(FINISHING, Ordering::SeqCst);
}

fn send(pid: i32, sig: i32) {
    if let Ok(s) = nix::sys::signal::Signal::try_from(sig) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), s);
    }
}

/// Blocks SIGINT, SIGTERM and SIGHUP until [`install`] has put the handlers in place.
pub fn hold_until_installed() {
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_BLOCK,
        Some(&job_signals()),
        None,
    );
}

fn job_signals() -> nix::sys::signal::SigSet {
    use nix::sys::signal::Signal;
    [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP]
        .into_iter()
        .collect()
}

pub fn install() {
    // Recorded in the handler itself, before any interrupted read returns EINTR to the
    // main thread: then main cannot mistake the interruption for a normal end.
    let received = RECEIVED.get_or_init(|| Arc::new(AtomicUsize::new(0)));
    // Only the first signal counts: the terminal library raises SIGINT on itself when a
    // key read is interrupted, which would turn a SIGTERM into a SIGINT.
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        let first = received.clone();
        // SAFETY: the handler only does an atomic compare-exchange (async-signal-safe).
        let _ = unsafe {
            signal_hook::low_level::register(sig, move || {
                if FORWARD.load(Ordering::SeqCst) == 0 {
                    let _ =
                        first.compare_exchange(0, sig as usize, Ordering::SeqCst, Ordering::SeqCst);
                }
            })
        };
    }
    if let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        std::thread::spawn(move || {
            for sig in signals.forever() {
                let mut pid = FORWARD.load(Ordering::SeqCst);
                if pid == FINISHING {
                    continue;
                }
                if pid == HOLD {
                    if PENDING.swap(sig, Ordering::SeqCst) != 0 {
                        // A second signal while the start still hangs: give up on it.
                        pid = 0;
                    } else {
                        // forward_to may have run in between and found nothing held:
                        // whichever side takes the signal out of PENDING delivers it.
                        pid = FORWARD.load(Ordering::SeqCst);
                        if pid == HOLD || PENDING.swap(0, Ordering::SeqCst) == 0 {
                            continue;
                        }
                    }
                }
                if pid > 0 {
                    send(pid, sig);
                    continue;
                }
                let all = lessons::kernel::undo::release_all();
                crate::ui::restore_terminal();
                if all {
                    eprintln!("\ninterrupted: everything this run created has been removed");
                } else {
                    eprintln!(
                        "\ninterrupted: what is named above is left; `learn-containers clean` removes it"
                    );
                }
                // The first signal decides the exit code: pending ones come out in number order.
                std::process::exit(interrupted().map_or(128 + sig, i32::from));
            }
        });
    }
    // Now a held signal is handled like any other.
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_UNBLOCK,
        Some(&job_signals()),
        None,
    );
}

/// The exit code for a signal that arrived while the command ran, if one did.
pub fn interrupted() -> Option<u8> {
    let sig = RECEIVED.get()?.load(Ordering::SeqCst);
    (sig != 0).then(|| 128 + sig as u8)
}
