//! The typed messages a child sends the process that set it up, one JSON object a line
//! over a close-on-exec pipe: a container's namespace parent sends PID 1's pid, PID 1
//! sends why it could not exec, a sandbox says it is ready. A pipe that reaches EOF with
//! no failure means the child exec'd (every write end was closed by exec) or finished.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Instant;

use crate::error::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use serde::{Deserialize, Serialize};

use super::sys::SysError;

/// What a child can tell its parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub enum Msg {
    /// Set up and waiting (a sandbox, a held namespace).
    Ready,
    /// A process's pid, as the receiver numbers it (a container's PID 1, sent by its
    /// parent, which sees it from outside the new PID namespace).
    Pid { pid: i32 },
    /// A step before exec failed; `errno` when it was a system call.
    Failed { errno: Option<i32>, message: String },
    /// exec itself failed: the program was not there or not executable.
    ExecFailed { errno: i32, message: String },
    /// Something the learner should know that did not stop the start.
    Note { text: String },
}

impl From<SysError> for Msg {
    fn from(e: SysError) -> Msg {
        Msg::Failed {
            errno: Some(e.errno as i32),
            message: e.to_string(),
        }
    }
}

/// A pipe for messages, both ends close-on-exec.
pub fn channel() -> Result<(Sender, Receiver)> {
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe")?;
    Ok((
        Sender(w),
        Receiver {
            file: File::from(r),
            buf: Vec::new(),
        },
    ))
}

/// The child's end.
#[derive(Debug)]
pub struct Sender(OwnedFd);

/// The most a message may take, so that each goes in one write(2), which the kernel does
/// not interleave with another writer's below PIPE_BUF (4096) bytes.
const MAX: usize = 3500;

impl Sender {
    /// Sends one message. Safe in a forked child: one write(2), no std locks.
    pub fn send(&self, msg: &Msg) {
        let mut line = serde_json::to_vec(msg).unwrap_or_default();
        if line.len() > MAX {
            line = serde_json::to_vec(&shorten(msg)).unwrap_or_default();
        }
        line.push(b'\n');
        let mut rest = &line[..];
        while !rest.is_empty() {
            match nix::unistd::write(&self.0, rest) {
                Ok(n) if n > 0 => rest = &rest[n..],
                Err(Errno::EINTR) => {}
                _ => return,
            }
        }
    }
}

impl AsRawFd for Sender {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl AsFd for Sender {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

fn shorten(msg: &Msg) -> Msg {
    let cut = |s: &str| s.chars().take(MAX / 2).collect::<String>() + " …";
    match msg {
        Msg::Failed { errno, message } => Msg::Failed {
            errno: *errno,
            message: cut(message),
        },
        Msg::ExecFailed { errno, message } => Msg::ExecFailed {
            errno: *errno,
            message: cut(message),
        },
        other => other.clone(),
    }
}

/// The parent's end.
#[derive(Debug)]
pub struct Receiver {
    file: File,
    buf: Vec<u8>,
}

impl Receiver {
    /// The next message, or None at EOF (every sender gone) or when `deadline` passes.
    pub fn recv(&mut self, deadline: Instant) -> Option<Msg> {
        loop {
            if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                match serde_json::from_slice(&line[..i]) {
                    Ok(m) => return Some(m),
                    // Not ours (cannot happen on a private pipe): skip it.
                    Err(_) => continue,
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            // Rounded up: poll(2) must not come back before the deadline.
            let ms = i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
            let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
            match poll(
                &mut fds,
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
            ) {
                Ok(0) => return None,
                Ok(_) | Err(Errno::EINTR) => {}
                Err(_) => return None,
            }
            let mut chunk = [0u8; 4096];
            match self.file.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
    }

    /// Every message until EOF (blocking: for a child that execs or exits soon).
    pub fn until_eof(&mut self) -> Vec<Msg> {
        let far = Instant::now() + std::time::Duration::from_secs(365 * 24 * 3600);
        std::iter::from_fn(|| self.recv(far)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn messages_cross_in_order_and_eof_ends_them() {
        let (tx, mut rx) = channel().unwrap();
        tx.send(&Msg::Pid { pid: 4242 });
        tx.send(&Msg::Failed {
            errno: Some(1),
            message: "mount(\"/\", MS_REC|MS_PRIVATE) failed: EPERM: Operation not permitted"
                .into(),
        });
        drop(tx);
        assert_eq!(
            rx.until_eof(),
            vec![
                Msg::Pid { pid: 4242 },
                Msg::Failed {
                    errno: Some(1),
                    message:
                        "mount(\"/\", MS_REC|MS_PRIVATE) failed: EPERM: Operation not permitted"
                            .into()
                }
            ]
        );
    }

    #[test]
    fn a_long_message_still_fits_one_write() {
        let (tx, mut rx) = channel().unwrap();
        tx.send(&Msg::ExecFailed {
            errno: 2,
            message: "x".repeat(10_000),
        });
        drop(tx);
        match rx.recv(Instant::now() + Duration::from_secs(1)) {
            Some(Msg::ExecFailed { errno: 2, message }) => assert!(message.len() < MAX),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_silent_sender_times_out() {
        let (_tx, mut rx) = channel().unwrap();
        let t = Instant::now();
        assert_eq!(rx.recv(t + Duration::from_millis(50)), None);
        assert!(t.elapsed() >= Duration::from_millis(50));
    }
}
