//! A system call that failed, named as the learner would write it: the one error type
//! of the kernel toolkit's steps, shown to learners as the kernel reported it.

use nix::errno::Errno;

/// A system call that failed, as a child reports it: `mount("/", MS_REC|MS_PRIVATE)
/// failed: EPERM: Operation not permitted`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} failed: {errno}")]
pub struct SysError {
    /// The call, written as the learner would write it.
    pub what: String,
    pub errno: Errno,
}

impl SysError {
    pub fn new(what: impl Into<String>, errno: Errno) -> SysError {
        SysError {
            what: what.into(),
            errno,
        }
    }
}

/// `what failed: ENOENT: No such file or directory`: how a child reports a syscall error.
pub fn failed(what: &str, err: Errno) -> String {
    SysError::new(what, err).to_string()
}
