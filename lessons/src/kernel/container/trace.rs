//! Phase timings of a container's start, printed to stderr with
//! LEARN_CONTAINERS_TRACE=1 (docs/performance.md reads them).

use std::time::{Duration, Instant};

/// Phase timings, printed to stderr when LEARN_CONTAINERS_TRACE=1: each process notes
/// the time since the CLI started the run, and since its own previous phase.
#[derive(Debug, Clone)]
pub struct Trace {
    t0: Instant,
    last: Instant,
    who: &'static str,
    lines: String,
}

impl Trace {
    pub fn new(t0: Instant, who: &'static str) -> Trace {
        Trace {
            t0,
            last: t0,
            who,
            lines: String::new(),
        }
    }

    /// The same clock, for another process.
    pub(super) fn fork(&self, who: &'static str) -> Trace {
        Trace {
            t0: self.t0,
            last: Instant::now(),
            who,
            lines: String::new(),
        }
    }

    pub fn phase(&mut self, label: &str) {
        let now = Instant::now();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        self.lines.push_str(&format!(
            "[trace] {:<6} {:>9.3} ms {:>8.3} ms  {label}\n",
            self.who,
            ms(now - self.t0),
            ms(now - self.last)
        ));
        self.last = now;
    }

    /// Writes the phases noted so far to stderr, in one write, without Rust's stderr lock
    /// (this may be a forked child).
    pub fn flush(&mut self) {
        crate::kernel::child::write_all(std::io::stderr(), self.lines.as_bytes());
        self.lines.clear();
    }
}

/// Notes a phase when tracing.
pub(super) fn note(t: &mut Option<Trace>, label: &str) {
    if let Some(t) = t {
        t.phase(label);
    }
}
