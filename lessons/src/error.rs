//! The one error type of the lessons crate: every failure a demo, a verifier or the
//! kernel toolkit can meet, typed, each message saying what is wrong and, where the
//! source knows, what to do next. The CLI decides exit codes from these types.

use std::fmt::Display;
use std::io;

use nix::errno::Errno;

use crate::kernel::cgroup::CgroupError;
use crate::kernel::container::{InvalidSpec, StartError};
use crate::kernel::mountinfo::MountinfoError;
use crate::kernel::sys::SysError;
use crate::present::Stop;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error(transparent)]
    Sys(#[from] SysError),
    #[error(transparent)]
    Mountinfo(#[from] MountinfoError),
    /// A container asked for that cannot work: a usage error.
    #[error(transparent)]
    InvalidSpec(#[from] InvalidSpec),
    /// A container that did not start (its exit code says why: 126, 127 or 2).
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Rootfs(#[from] rootfs_builder::BuildError),
    /// A demo stopped at a step: the learner quit, or its output cannot be written.
    #[error(transparent)]
    Stop(#[from] Stop),
    /// A call failed while doing `what`.
    #[error("{what}: {source}")]
    While {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// Something found wrong, said in words.
    #[error("{0}")]
    Failed(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error said in words.
    pub fn msg(text: impl Into<String>) -> Error {
        Error::Failed(text.into())
    }
}

impl Error {
    fn r#while(what: String, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::While {
            what,
            source: Box::new(source),
        }
    }
}

impl From<io::Error> for Error {
    fn from(source: io::Error) -> Error {
        Error::r#while("I/O".into(), source)
    }
}

impl From<Errno> for Error {
    fn from(source: Errno) -> Error {
        Error::r#while("system call".into(), source)
    }
}

impl From<std::num::ParseIntError> for Error {
    fn from(source: std::num::ParseIntError) -> Error {
        Error::r#while("a number".into(), source)
    }
}

impl From<std::ffi::NulError> for Error {
    fn from(e: std::ffi::NulError) -> Error {
        Error::msg(format!("an argument contains a NUL byte: {e}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error::msg(format!("JSON: {e}"))
    }
}

/// Says what was being done when a call failed: `.context("read /proc/1/stat")`.
pub trait Context<T> {
    fn context(self, what: impl Display) -> Result<T>;
    fn with_context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl Display) -> Result<T> {
        self.map_err(|e| Error::r#while(what.to_string(), e))
    }
    fn with_context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| Error::r#while(what().to_string(), e))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: impl Display) -> Result<T> {
        self.ok_or_else(|| Error::msg(what.to_string()))
    }
    fn with_context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T> {
        self.ok_or_else(|| Error::msg(what().to_string()))
    }
}

/// `return Err(Error::Failed(format!(...)))`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::error::Error::msg(format!($($arg)*)))
    };
}
