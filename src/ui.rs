//! Terminal presentation: calm colour (green ✔, red ✘, yellow !, dim shell commands), no
//! escape codes at all when stdout is not a terminal or NO_COLOR is set, and never a
//! prompt when stdin is not a terminal.

use std::io::{IsTerminal, Write};

use colored::Colorize;
use dialoguer::console::{Key, Term};
use indicatif::{ProgressBar, ProgressStyle};
use lessons::present::{Presenter, Stop};

use crate::error::OutputError;

pub const WIDTH: usize = 78;

/// Writes one line to stdout. A stdout that cannot be written (a closed pipe, a full disk)
/// is an error the caller passes up with `?`, never a panic.
pub fn line(args: std::fmt::Arguments) -> Result<(), OutputError> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(OutputError)
}

/// `println!` for the CLI: `say!("...")?`, see [`line`].
#[macro_export]
macro_rules! say {
    () => {
        $crate::ui::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::ui::line(format_args!($($arg)*))
    };
}

pub fn init_colors() {
    let plain = !std::io::stdout().is_terminal()
        || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || std::env::var("TERM").is_ok_and(|t| t == "dumb");
    colored::control::set_override(!plain);
}

/// Can we ask the learner something?
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

pub fn restore_terminal() {
    if std::io::stdout().is_terminal() {
        let _ = Term::stdout().show_cursor();
    }
}

pub fn tick() -> String {
    "✔".green().to_string()
}
pub fn cross() -> String {
    "✘".red().to_string()
}
pub fn bang() -> String {
    "!".yellow().to_string()
}

/// The last line of every error: what is wrong and what to do.
pub fn error(e: &dyn std::error::Error) {
    let mut text = e.to_string();
    let causes = std::iter::successors(e.source(), |c| c.source());
    for cause in causes {
        // Many messages already quote their cause (`cannot create X: Read-only file system`).
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(&format!(": {cause}"));
        }
    }
    eprintln!("{} {text}", "error:".red().bold());
}

/// Wraps text to the terminal width, indented.
pub fn wrap(text: &str, indent: usize) -> String {
    let mut out = String::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && indent + line.len() + 1 + word.chars().count() > WIDTH {
                out.push_str(&format!("{}{line}\n", " ".repeat(indent)));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push_str(&format!("{}{line}\n", " ".repeat(indent)));
    }
    out.trim_end_matches('\n').to_owned()
}

/// Markdown code spans (`unshare --pid`) in a calm colour, without their backticks, when
/// colour is on; as they are otherwise. A span broken over lines by [`wrap`] is coloured
/// line by line.
pub fn code_spans(text: &str) -> String {
    if !colored::control::SHOULD_COLORIZE.should_colorize()
        || !text.matches('`').count().is_multiple_of(2)
    {
        return text.to_owned();
    }
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i.is_multiple_of(2) {
                return part.to_owned();
            }
            part.split('\n')
                .map(|l| l.cyan().to_string())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect()
}

/// May this run write escape codes other than colour (clearing the screen)? The same
/// rule as colour: stdout a terminal, NO_COLOR unset, TERM not dumb.
pub fn escapes() -> bool {
    colored::control::SHOULD_COLORIZE.should_colorize()
}

pub fn rule() -> String {
    "─".repeat(WIDTH).dimmed().to_string()
}

/// Renders a demo on the terminal. A write that fails is remembered, and the next step
/// stops the demo with it (the demo's guards then clean up).
pub struct TermPresenter {
    pub total: usize,
    pub current: usize,
    pub pause: bool,
    bar: Option<ProgressBar>,
    last_meter: Option<String>,
    failed: Option<std::io::Error>,
}

impl TermPresenter {
    pub fn new(total: usize, pause: bool) -> TermPresenter {
        TermPresenter {
            total,
            current: 0,
            pause,
            bar: None,
            last_meter: None,
            failed: None,
        }
    }

    /// After the demo: whether everything it showed could be written.
    pub fn finish(&mut self) -> Result<(), OutputError> {
        self.meter_done();
        self.failed.take().map_or(Ok(()), |e| Err(OutputError(e)))
    }

    /// Prints a line unless an earlier one failed.
    fn out(&mut self, args: std::fmt::Arguments) {
        if self.failed.is_none()
            && let Err(OutputError(e)) = line(args)
        {
            self.failed = Some(e);
        }
    }

    /// Waits for Enter (next) or q (quit). Only called when stdin is a terminal.
    fn wait(&mut self) -> Result<(), Stop> {
        self.out(format_args!(""));
        self.out(format_args!(
            "  {}",
            "[Enter] next step   [q] quit (everything created is removed)".dimmed()
        ));
        let term = Term::stdout();
        loop {
            match term.read_key() {
                Ok(Key::Enter) | Ok(Key::Char(' ')) => return Ok(()),
                Ok(Key::Char('q')) | Ok(Key::Escape) | Ok(Key::CtrlC) | Err(_) => {
                    return Err(Stop::Quit);
                }
                Ok(_) => {}
            }
        }
    }
}

fn meter_line(label: &str, share: f64, detail: &str) -> String {
    let filled = ((share.clamp(0.0, 1.0)) * 20.0).round() as usize;
    format!(
        "  {label:<32} {}{} {:>3.0}%  {detail}",
        "█".repeat(filled),
        "░".repeat(20 - filled),
        share * 100.0
    )
}

impl Presenter for TermPresenter {
    fn step(&mut self, title: &str, explain: &str) -> Result<(), Stop> {
        self.meter_done();
        if let Some(e) = self.failed.take() {
            return Err(Stop::Output(e));
        }
        if self.current > 0 && self.pause {
            self.wait()?;
        }
        self.current += 1;
        self.out(format_args!(""));
        let head = format!("Step {} of {} · {title}", self.current, self.total);
        self.out(format_args!("{}", head.bold()));
        self.out(format_args!(""));
        self.out(format_args!("{}", wrap(explain, 2)));
        self.out(format_args!(""));
        match self.failed.take() {
            Some(e) => Err(Stop::Output(e)),
            None => Ok(()),
        }
    }

    fn shell(&mut self, command: &str) {
        self.meter_done();
        self.out(format_args!("  {}", format!("$ {command}").dimmed()));
    }

    fn kernel(&mut self, observation: &str) {
        self.meter_done();
        let mut lines = observation.lines();
        if let Some(first) = lines.next() {
            self.out(format_args!("  {} {first}", "kernel:".cyan()));
        }
        for l in lines {
            self.out(format_args!("          {l}"));
        }
    }

    fn output(&mut self, text: &str) {
        self.meter_done();
        for l in text.lines() {
            self.out(format_args!("  {l}"));
        }
    }

    fn say(&mut self, text: &str) {
        self.meter_done();
        self.out(format_args!(""));
        self.out(format_args!("{}", wrap(text, 2)));
    }

    fn meter(&mut self, label: &str, share: f64, detail: &str) {
        let line = meter_line(label, share, detail);
        if std::io::stdout().is_terminal() {
            let bar = self.bar.get_or_insert_with(|| {
                let b = ProgressBar::new_spinner();
                b.set_style(ProgressStyle::with_template("{msg}").expect("static template"));
                b
            });
            bar.set_message(line);
        } else {
            // Piped: only the settled value is printed, at meter_done.
            self.last_meter = Some(line);
        }
    }

    fn meter_done(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
        if let Some(line) = self.last_meter.take() {
            self.out(format_args!("{line}"));
        }
    }
}
