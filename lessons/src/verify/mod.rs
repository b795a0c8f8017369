//! Verifying exercises: build the learner's binary, run it, judge the kernel state it
//! leaves, and report each check with what was seen, what was expected and a hint.

pub mod build;
pub mod limits;
pub mod run;

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

/// When a program never got as far as the first check, every check fails for the same
/// reason: say it once, in full, and point the others at it.
pub fn all_failed<S: AsRef<str>>(names: &[S], first: Check) -> Vec<Check> {
    let mut out = vec![first];
    for n in names.iter().skip(1) {
        out.push(Check::fail(
            n.as_ref(),
            "not run: the program failed before this check (see above)",
        ));
    }
    out
}
