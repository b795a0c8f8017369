//! The interface every controller's limit implements, over the v1/v2 layout decided in
//! [`super::mode`]: which controller's hierarchy holds it, which files to write in which
//! order on each version, and how to read it back. A new controller is one new file that
//! implements [`Limit`] (see [`super::cpu`], [`super::memory`], [`super::pids`]).

use super::error::CgroupError;
use super::files::write_file;
use super::group::Cgroup;
use super::mode::Version;

/// A limit one controller enforces.
pub trait Limit: Sized {
    /// The controller whose hierarchy holds the files, e.g. "cpu".
    const CONTROLLER: &'static str;
    /// The files to write, in the order the kernel needs, with their values.
    fn writes(&self, version: Version) -> Vec<(&'static str, String)>;
    /// Files of `writes` a kernel may lack (the swap files without swap accounting): a
    /// missing one is skipped, since there is nothing for it to limit.
    const OPTIONAL: &'static [&'static str] = &[];
    /// Reads the limit back from a cgroup's files.
    fn read(cgroup: &Cgroup) -> Result<Self, CgroupError>;
}

impl Cgroup {
    /// Writes `limit` into this cgroup's files.
    pub fn set<L: Limit>(&self, limit: &L) -> Result<(), CgroupError> {
        for (file, value) in limit.writes(self.version) {
            if L::OPTIONAL.contains(&file) && !self.file(file).exists() {
                continue;
            }
            write_file(&self.file(file), &value)?;
        }
        Ok(())
    }

    /// Reads a limit back from the kernel.
    pub fn limit<L: Limit>(&self) -> Result<L, CgroupError> {
        L::read(self)
    }

    /// The shell commands that write `limit` here, as the book and the demos show them.
    pub fn shell_writes<L: Limit>(&self, limit: &L) -> Vec<String> {
        limit
            .writes(self.version)
            .into_iter()
            .map(|(file, value)| {
                let shown = if value.contains(' ') {
                    format!("\"{value}\"")
                } else {
                    value
                };
                format!("echo {shown} > {}", self.file(file).display())
            })
            .collect()
    }
}
