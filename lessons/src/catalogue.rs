//! What a chapter is: the types of the catalogue that `list`, `lesson`, `verify`, `hint`
//! and `reset` read. The chapters themselves, and finding one, are in [`crate::chapters`].

use crate::present::Presenter;
use crate::verify::{Check, Context};

/// A chapter: its book page, its guided demo and its exercises.
pub struct Chapter {
    pub number: u32,
    pub slug: &'static str,
    pub title: &'static str,
    /// The book page, relative to book/src/.
    pub book_page: &'static str,
    /// How many steps `demo` announces (checked by the tests).
    pub steps: usize,
    /// The guided demo: real syscalls, reported through the presenter.
    pub demo: fn(&mut dyn Presenter) -> crate::Result<()>,
    pub exercises: &'static [Exercise],
    /// Shown one at a time by `learn-containers hint`.
    pub hints: &'static [&'static str],
    /// The self-check questions: the Markdown of book/src/quiz/chNN.md (see [`crate::quiz`]).
    pub quiz: &'static str,
    /// What its demo and verifier need from the host.
    pub needs: &'static [Need],
}

impl Chapter {
    /// The page with the reference solution, right after the chapter's, relative to
    /// book/src/.
    pub fn solution_page(&self) -> String {
        self.book_page.replace(".md", "-solution.md")
    }

    /// How this chapter can run without root: the one place that decides it (doctor,
    /// `lesson`, `verify` and main's user-namespace entry all ask here).
    pub fn rootless(&self) -> Rootless {
        if self.needs.contains(&Need::UnprivilegedUserNamespaces) {
            return Rootless::AsTheUser;
        }
        match (
            self.needs.contains(&Need::Root),
            self.needs.contains(&Need::CpuController)
                || self.needs.contains(&Need::MemoryAndPids)
                || self.needs.contains(&Need::Freezer),
        ) {
            (_, false) => Rootless::UserNamespace,
            (false, true) => Rootless::DelegatedCgroup,
            // A run enters a user namespace only when it needs no cgroups.
            (true, true) => Rootless::No,
        }
    }
}

/// How a chapter can run without root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rootless {
    /// In a user namespace that maps the user to root (namespaces, chroot, mounts).
    UserNamespace,
    /// In a cgroup v2 subtree delegated to the user (cgroups only).
    DelegatedCgroup,
    /// Not at all: it needs namespaces and cgroups together.
    No,
    /// As the user, in user namespaces it makes itself, wherever the kernel lets an
    /// unprivileged user make them; nothing is entered for it first (the chapter teaches
    /// making one, and its maps need the user's real uid). Run as root, it does its work
    /// as an unprivileged uid all the same.
    AsTheUser,
}

/// What a chapter needs from the host (doctor reports them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Namespaces, chroot and mounts: root, or a user namespace that maps the user to root.
    Root,
    /// A cgroup with the cpu controller: root, or (v2) a subtree delegated to the user.
    CpuController,
    /// Cgroups of the memory and the pids controllers (one each on v1, one on v2).
    MemoryAndPids,
    /// User namespaces that an unprivileged user may make and map (the sysctls and
    /// AppArmor allow it), for root and users alike: the chapter's work is done
    /// unprivileged.
    UnprivilegedUserNamespaces,
    /// Time namespaces: Linux 5.6 or later, built with CONFIG_TIME_NS.
    TimeNamespaces,
    /// The cgroup freezer (the v1 freezer hierarchy, or any cgroup v2 tree) and root.
    Freezer,
}

/// An exercise: a binary in exercises/ (and its reference answer in solutions/).
pub struct Exercise {
    /// Also the binary's name: `ch01_chroot`.
    pub id: &'static str,
    pub summary: &'static str,
    /// The file the learner works in, relative to an exercises crate: the binary itself,
    /// `src/bin/<id>.rs`, or, for a chapter whose functions a later chapter calls again,
    /// its module of the crate's library (`src/pid_namespace.rs`), which the binary calls.
    /// The reference answer is at the same path in solutions/.
    pub path: &'static str,
    /// The shipped text of `path` (stored once in lessons/exercises and embedded here):
    /// what the learner's working copy starts from and what `reset` restores.
    pub shipped: &'static str,
    /// Runs the candidate binary and judges what it did to the kernel.
    pub verify: fn(&Context) -> crate::Result<Vec<Check>>,
}

impl Exercise {
    /// Where the learner works in an exercises crate (see `path`).
    pub fn file(&self) -> String {
        self.path.to_owned()
    }

    /// Where the learner edits it, as the book and messages name it (their working copy,
    /// `exercises/` in their clone).
    pub fn source_path(&self) -> String {
        format!("exercises/{}", self.file())
    }
}
