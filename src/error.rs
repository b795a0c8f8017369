//! What a command can fail with, and the exit code each kind gets:
//! 2 for a usage or environment problem (one line saying what to do next), the code a
//! shell would give for a container that could not start (126, 127), and 141, silently,
//! for a closed stdout (`learn-containers list | head -1`).

use std::io;

use lessons::present::Stop;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input, or a host that cannot do what was asked; the message says what to do.
    #[error("{0}")]
    Usage(String),
    /// stdout could not be written.
    #[error("cannot write the output: {0}; check where stdout goes (a full disk?)")]
    Output(#[source] io::Error),
    #[error(transparent)]
    Lessons(#[from] lessons::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// stdout could not be written: what `say!` returns.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the output: {0}")]
pub struct OutputError(#[source] pub io::Error);

impl From<OutputError> for CliError {
    fn from(e: OutputError) -> CliError {
        CliError::Output(e.0)
    }
}

/// Errors of the commands' own work (files, JSON, prompts): exit code 2.
macro_rules! other {
    ($($t:ty),*) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> CliError {
                CliError::Other(e.into())
            }
        }
    )*};
}
other!(io::Error, serde_json::Error, dialoguer::Error);

impl CliError {
    /// The process's exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            _ if self.closed_pipe() => 141,
            CliError::Lessons(lessons::Error::Start(start)) => start.exit_code() as u8,
            _ => 2,
        }
    }

    /// A reader that went away (`| head -1`) is not worth a message.
    pub fn closed_pipe(&self) -> bool {
        let io = match self {
            CliError::Output(e) => e,
            CliError::Lessons(lessons::Error::Stop(Stop::Output(e))) => e,
            _ => return false,
        };
        io.kind() == io::ErrorKind::BrokenPipe
    }
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_error_has_its_exit_code() {
        let pipe = || io::Error::from(io::ErrorKind::BrokenPipe);
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
        assert_eq!(CliError::Output(pipe()).exit_code(), 141);
        assert!(CliError::Output(pipe()).closed_pipe());
        let full = io::Error::from_raw_os_error(libc_enospc());
        assert_eq!(CliError::Output(full).exit_code(), 2);
        assert_eq!(
            CliError::Lessons(lessons::Error::Stop(Stop::Output(pipe()))).exit_code(),
            141
        );
        assert_eq!(
            CliError::Other(anyhow::anyhow!("cargo was not found")).exit_code(),
            2
        );
        let missing = lessons::kernel::container::StartError::Exec {
            errno: nix::errno::Errno::ENOENT,
            message: "execve(\"nope\") failed".into(),
        };
        assert_eq!(CliError::Lessons(missing.into()).exit_code(), 127);
    }

    fn libc_enospc() -> i32 {
        nix::errno::Errno::ENOSPC as i32
    }
}
