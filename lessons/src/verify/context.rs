//! What one verification carries: the candidate, a scratch dir of its own, and the
//! process limit candidates run under. Passed to each chapter's verifier, so nothing
//! about a run lives in process-wide state.

use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use crate::error::Result;

use super::Candidate;
use super::adversary::Program;
use super::limits::PidsLimit;
use super::run::{self, Finished, Running};
use crate::kernel::ns::Entry;
use crate::kernel::scratch::{PREFIX, Scratch};

pub struct Context<'a> {
    pub candidate: &'a Candidate,
    /// A fresh `learn-containers-*` dir, removed when the verification ends.
    pub scratch: Scratch,
    limit: Option<&'a PidsLimit>,
}

impl<'a> Context<'a> {
    pub fn new(candidate: &'a Candidate, limit: Option<&'a PidsLimit>) -> Result<Context<'a>> {
        Ok(Context {
            candidate,
            scratch: Scratch::new()?,
            limit,
        })
    }

    /// The source file the learner edits, for messages.
    pub fn source(&self) -> &str {
        &self.candidate.source
    }

    /// The unpredictable suffix mkdtemp gave the scratch dir: it tags the processes a
    /// verification starts, so they can be found (and ended) from /proc.
    pub fn token(&self) -> String {
        self.scratch
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().replace(PREFIX, ""))
            .unwrap_or_default()
    }

    /// Starts the candidate with `args`, in the scratch dir.
    pub fn start<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<Running> {
        self.start_in(args, &[])
    }

    /// Starts the candidate inside the namespaces `entries` lead to (a sandbox's mount
    /// namespace, a UTS sandbox): whatever it does there by mistake misses the host.
    pub fn start_in<S: AsRef<OsStr>>(&self, args: &[S], entries: &[Entry]) -> Result<Running> {
        self.start_at(args, self.scratch.path(), entries)
    }

    /// Starts the candidate in `cwd`.
    pub fn start_at<S: AsRef<OsStr>>(
        &self,
        args: &[S],
        cwd: &Path,
        entries: &[Entry],
    ) -> Result<Running> {
        let join = self.limit.map(|l| l.procs().to_owned());
        Running::start(&self.candidate.binary, args, cwd, join, entries.to_vec())
    }

    /// Starts the candidate under the adversary (see [`super::adversary`]): every fork
    /// holds the parent until the child's program has exec'd and forked, and the tracer
    /// reports where each child was born.
    pub fn start_traced<S: AsRef<OsStr>>(&self, args: &[S], entries: &[Entry]) -> Result<Running> {
        Running::start_traced(Program {
            binary: self.candidate.binary.clone(),
            args: args
                .iter()
                .map(|a| a.as_ref().to_string_lossy().into_owned())
                .collect(),
            cwd: self.scratch.path().to_path_buf(),
            join: self.limit.map(|l| l.procs().to_owned()),
            entries: entries.to_vec(),
        })
    }

    /// Runs the candidate to its end with no stdin.
    pub fn run_to_end<S: AsRef<OsStr>>(&self, args: &[S], timeout: Duration) -> Result<Finished> {
        let mut r = self.start(args)?;
        r.close_stdin();
        Ok(r.finish(timeout))
    }

    /// How the candidate ended, in the learner's terms (see [`run::describe`]).
    pub fn describe(&self, f: &Finished) -> String {
        run::describe(f, self.limit.and_then(PidsLimit::hit))
    }
}
