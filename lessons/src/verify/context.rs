//! What one verification carries: the candidate, a scratch dir of its own, and the
//! process limit candidates run under. Passed to each chapter's verifier, so nothing
//! about a run lives in process-wide state.

use std::ffi::{CString, OsStr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Context as _, Result};

use super::Candidate;
use super::adversary::Program;
use super::limits::PidsLimit;
use super::run::{self, Finished, Running};
use crate::kernel::ns::Entry;
use crate::kernel::scratch::{PREFIX, Scratch};
use crate::kernel::userns::Unprivileged;

/// A candidate's run as an unprivileged uid: who, where, and the copy of its binary
/// (see [`Context::unprivileged`]).
#[derive(Debug, Clone)]
pub struct AsUser {
    pub who: Unprivileged,
    /// Its working dir, in the scratch dir: the uid may read it, not write it.
    pub dir: PathBuf,
    pub binary: PathBuf,
}

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
        Running::start(
            &self.candidate.binary,
            args,
            cwd,
            join.into_iter().collect(),
            entries.to_vec(),
            None,
        )
    }

    /// Starts the candidate in the scratch dir, in the cgroups whose `cgroup.procs` files
    /// are `procs` (after the process limit's): cgroups the verifier prepared with a
    /// ceiling of their own, for a program that may allocate or fork without bound. Under
    /// the adversary, so that a CMD moved into its cgroups after it started shows.
    pub fn start_joined<S: AsRef<OsStr>>(&self, args: &[S], procs: &[PathBuf]) -> Result<Running> {
        let mut join: Vec<CString> = self
            .limit
            .map(|l| l.procs().to_owned())
            .into_iter()
            .collect();
        for p in procs {
            join.push(CString::new(p.as_os_str().as_encoded_bytes())?);
        }
        Running::start_traced(Program {
            binary: self.candidate.binary.clone(),
            args: args
                .iter()
                .map(|a| a.as_ref().to_string_lossy().into_owned())
                .collect(),
            cwd: self.scratch.path().to_path_buf(),
            join,
            entries: Vec::new(),
            who: None,
        })
    }

    /// Prepares running the candidate as an unprivileged uid (chapter 6: a program about
    /// privilege is judged where it has none). As root that is a uid that owns nothing
    /// here ([`Unprivileged::choose`]); as a user, the user. The uid needs a way in: the
    /// scratch dir becomes 0711 (others may pass through it, not list it), and subdir
    /// `name` (0755) holds a copy of the binary (0755), which that uid can read and run
    /// wherever the learner's target dir is (under a home dir of mode 0700, say).
    pub fn unprivileged(&self, name: &str) -> Result<AsUser> {
        use std::os::unix::fs::PermissionsExt;
        let who = Unprivileged::choose()?;
        let open = |p: &Path, mode: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("chmod {mode:o} {}", p.display()))
        };
        open(self.scratch.path(), 0o711)?;
        let dir = self.scratch.subdir(name)?;
        open(&dir, 0o755)?;
        let file = self
            .candidate
            .binary
            .file_name()
            .unwrap_or(OsStr::new("candidate"));
        let binary = dir.join(file);
        std::fs::copy(&self.candidate.binary, &binary).with_context(|| {
            format!(
                "copy {} to {}",
                self.candidate.binary.display(),
                binary.display()
            )
        })?;
        open(&binary, 0o755)?;
        Ok(AsUser { who, dir, binary })
    }

    /// Starts the candidate as [`AsUser`] says, in its dir; `traced`: under the adversary
    /// (see [`Context::start_traced`]).
    pub fn start_as<S: AsRef<OsStr>>(
        &self,
        u: &AsUser,
        args: &[S],
        traced: bool,
    ) -> Result<Running> {
        let join: Vec<CString> = self
            .limit
            .map(|l| l.procs().to_owned())
            .into_iter()
            .collect();
        if traced {
            return Running::start_traced(Program {
                binary: u.binary.clone(),
                args: args
                    .iter()
                    .map(|a| a.as_ref().to_string_lossy().into_owned())
                    .collect(),
                cwd: u.dir.clone(),
                join,
                entries: Vec::new(),
                who: Some(u.who),
            });
        }
        Running::start(&u.binary, args, &u.dir, join, Vec::new(), Some(u.who))
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
            join: self
                .limit
                .map(|l| l.procs().to_owned())
                .into_iter()
                .collect(),
            entries: entries.to_vec(),
            who: None,
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
