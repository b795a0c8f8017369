//! Ctrl-C, SIGTERM and SIGHUP end the run cleanly: whatever this run created (children,
//! cgroups, temp dirs) is undone before exiting with 128+signal. A closed stdout pipe
//! is not an error worth a panic message.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

static BROKEN_PIPE: AtomicBool = AtomicBool::new(false);
static RECEIVED: std::sync::OnceLock<Arc<AtomicUsize>> = std::sync::OnceLock::new();

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
                let _ = first.compare_exchange(0, sig as usize, Ordering::SeqCst, Ordering::SeqCst);
            })
        };
    }
    if let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                lessons::kernel::cleanup::release_all();
                crate::ui::restore_terminal();
                eprintln!("\ninterrupted: everything this run created has been removed");
                // The first signal decides the exit code: pending ones come out in number order.
                std::process::exit(interrupted().map_or(128 + sig, i32::from));
            }
        });
    }
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.contains("Broken pipe") {
            BROKEN_PIPE.store(true, Ordering::SeqCst);
        } else {
            default(info);
        }
    }));
}

pub fn broken_pipe() -> bool {
    BROKEN_PIPE.load(Ordering::SeqCst)
}

/// The exit code for a signal that arrived while the command ran, if one did.
pub fn interrupted() -> Option<u8> {
    let sig = RECEIVED.get()?.load(Ordering::SeqCst);
    (sig != 0).then(|| 128 + sig as u8)
}
