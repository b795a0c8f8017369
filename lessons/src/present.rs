//! How a demo reports what it does. The CLI renders it to the terminal (colour, pauses,
//! live meters); tests record it. Demos never print directly.

/// Why a demo stops at a step: the learner chose to at a pause, or its output can no
/// longer be written (a closed pipe, a full disk). Demos return it with `?` so their
/// guards clean up.
#[derive(Debug, thiserror::Error)]
pub enum Stop {
    #[error("stopped by the learner")]
    Quit,
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
}

pub trait Presenter {
    /// Begins the next step. May pause first (interactive terminals only) and return
    /// `Err(Stop::Quit)` when the learner quits there, or `Err(Stop::Output)` when what
    /// was shown since the last step could not be written.
    fn step(&mut self, title: &str, explain: &str) -> Result<(), Stop>;
    /// The equivalent shell command, shown dimmed: `$ chroot rootfs /bin/bash`.
    fn shell(&mut self, command: &str);
    /// What the kernel reported, printed as it is (an errno, a mountinfo line, cpu.stat).
    fn kernel(&mut self, observation: &str);
    /// Output of a program run inside the container, verbatim.
    fn output(&mut self, text: &str);
    /// An explanation between observations.
    fn say(&mut self, text: &str);
    /// A live gauge: `share` of one CPU (0.0..), with a short label and extra detail.
    fn meter(&mut self, label: &str, share: f64, detail: &str);
    /// Ends the current live gauge, leaving its last value on screen.
    fn meter_done(&mut self);
}

/// A presenter that keeps everything as plain lines: used by tests, and by the CLI when
/// writing a transcript.
#[derive(Debug, Default)]
pub struct Recorder {
    pub lines: Vec<String>,
    pub steps: usize,
}

impl Presenter for Recorder {
    fn step(&mut self, title: &str, explain: &str) -> Result<(), Stop> {
        self.steps += 1;
        self.lines.push(format!("## {title}"));
        self.lines.push(explain.to_owned());
        Ok(())
    }
    fn shell(&mut self, command: &str) {
        self.lines.push(format!("$ {command}"));
    }
    fn kernel(&mut self, observation: &str) {
        self.lines.push(format!("kernel: {observation}"));
    }
    fn output(&mut self, text: &str) {
        self.lines.push(text.to_owned());
    }
    fn say(&mut self, text: &str) {
        self.lines.push(text.to_owned());
    }
    fn meter(&mut self, label: &str, share: f64, detail: &str) {
        self.lines
            .push(format!("meter: {label} {:.0}% {detail}", share * 100.0));
    }
    fn meter_done(&mut self) {}
}
