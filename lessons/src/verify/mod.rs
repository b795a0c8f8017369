//! Verifying exercises: build the learner's binary, run it, judge the kernel state it
//! leaves, and report each check with what was seen, what was expected and a hint.

pub mod adversary;
pub mod build;
pub mod context;
pub mod limits;
pub mod probe;
pub mod run;

pub use context::Context;

use std::path::PathBuf;

use serde::Serialize;

/// The binary under test and how to name it to the learner.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub binary: PathBuf,
    /// The source file the learner edits, for messages.
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
}

/// One verdict about one thing the exercise must do.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saw: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Check {
    pub fn pass(name: impl Into<String>, saw: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Pass,
            saw: Some(saw.into()).filter(|s: &String| !s.is_empty()),
            expected: None,
            hint: None,
        }
    }

    pub fn fail(name: impl Into<String>, saw: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Fail,
            saw: Some(saw.into()),
            expected: None,
            hint: None,
        }
    }

    pub fn expected(mut self, e: impl Into<String>) -> Check {
        self.expected = Some(e.into());
        self
    }

    pub fn hint(mut self, h: impl Into<String>) -> Check {
        self.hint = Some(h.into());
        self
    }

    pub fn passed(&self) -> bool {
        self.status == Status::Pass
    }

    /// The whole message on one line, for JSON and logs.
    pub fn message(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.saw {
            parts.push(format!("saw: {s}"));
        }
        if let Some(e) = &self.expected {
            parts.push(format!("expected: {e}"));
        }
        if let Some(h) = &self.hint {
            parts.push(format!("hint: {h}"));
        }
        parts.join("; ")
    }
}

/// The identity of one check: each chapter lists its checks as an enum implementing this
/// (with [`checks!`]), in the order the report shows them.
pub trait CheckId: Copy + PartialEq + std::fmt::Debug + 'static {
    /// Every check of the exercise, in report order.
    const ALL: &'static [Self];
    /// What the check asserts, as the report names it.
    fn title(self) -> &'static str;

    fn pass(self, saw: impl Into<String>) -> Check {
        Check::pass(self.title(), saw)
    }

    fn fail(self, saw: impl Into<String>) -> Check {
        Check::fail(self.title(), saw)
    }

    /// A failure that only follows from an earlier one: said once, there.
    fn not_judged(self, because: &str) -> Check {
        Check::fail(self.title(), format!("not judged: {because} (see above)"))
    }
}

/// Declares a chapter's checks: `checks! { pub enum Ch02 { Pid1 => "PID 1: ...", ... } }`
/// makes the enum and its [`CheckId`] impl, titles and order included.
#[macro_export]
macro_rules! checks {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $title:expr),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $crate::verify::CheckId for $name {
            const ALL: &'static [Self] = &[$($name::$variant),+];
            fn title(self) -> &'static str {
                match self { $($name::$variant => $title),+ }
            }
        }
    };
}

/// When a program never got as far as the first check, every check fails for the same
/// reason: say it once, in full, and point the others at it.
pub fn all_failed<C: CheckId>(first: Check) -> Vec<Check> {
    let mut out = vec![first];
    for id in C::ALL.iter().skip(1) {
        out.push(Check::fail(
            id.title(),
            "not run: the program failed before this check (see above)",
        ));
    }
    out
}

/// Like [`all_failed`], when what stopped the program belongs to a later check than the
/// first (a limit the kernel refused before CMD could start): `check` goes where `at` is in
/// the report, the checks before it say they were not run and point down at it.
pub fn failed_at<C: CheckId>(at: C, check: Check) -> Vec<Check> {
    let mut seen_it = false;
    C::ALL
        .iter()
        .map(|id| {
            if *id == at {
                seen_it = true;
                return check.clone();
            }
            let whither = if seen_it { "above" } else { "below" };
            Check::fail(
                id.title(),
                format!(
                    "not run: the program failed before this check, at `{}` (see {whither})",
                    at.title()
                ),
            )
        })
        .collect()
}

/// Puts checks in the order `C` lists them.
pub fn in_order<C: CheckId>(checks: &mut [Check]) {
    checks.sort_by_key(|c| C::ALL.iter().position(|id| id.title() == c.name));
}
