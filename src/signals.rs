//! Ctrl-C, SIGTERM and SIGHUP end the run cleanly: whatever this run created (children,
//! cgroups, temp dirs) is undone before exiting with 128+signal. A closed stdout pipe
//! is not an error worth a panic message.

use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

static BROKEN_PIPE: AtomicBool = AtomicBool::new(false);

pub fn install() {
    if let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                lessons::kernel::cleanup::release_all();
                crate::ui::restore_terminal();
                eprintln!("\ninterrupted: everything this run created has been removed");
                std::process::exit(128 + sig);
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
