//! Reading a child's output pipe as lines, with deadlines, without threads: poll(2) on
//! the descriptor, then read what is there.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Instant;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// One pipe from a child, cut into lines as it arrives.
#[derive(Debug)]
pub struct Lines {
    file: File,
    partial: Vec<u8>,
    lines: Vec<String>,
    /// The write end is closed everywhere (or reading failed): nothing more will come.
    pub eof: bool,
    /// How many lines [`Lines::next_line`] has handed out.
    cursor: usize,
}

impl Lines {
    pub fn new(fd: OwnedFd) -> Lines {
        Lines {
            file: File::from(fd),
            partial: Vec::new(),
            lines: Vec::new(),
            eof: false,
            cursor: 0,
        }
    }

    /// Every complete line so far (and the last, unfinished one once at EOF).
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    pub fn take(&mut self) -> Vec<String> {
        std::mem::take(&mut self.lines)
    }

    /// Everything read, lines joined back with newlines (for stderr).
    pub fn text(&self) -> String {
        let mut s = self.lines.join("\n");
        if !s.is_empty() {
            s.push('\n');
        }
        s
    }

    /// Waits until data or EOF arrives, or `deadline` passes, and reads what is there.
    /// Returns false when nothing more will come in time.
    pub fn read_some(&mut self, deadline: Instant) -> bool {
        if self.eof {
            return false;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        // Rounded up: poll(2) must not come back before the deadline.
        let ms = i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
        let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
        match poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(0) => return false,
            Ok(_) => {}
            Err(Errno::EINTR) => return true,
            Err(_) => {
                self.end();
                return false;
            }
        }
        let mut buf = [0u8; 8192];
        match self.file.read(&mut buf) {
            Ok(0) => {
                self.end();
                false
            }
            Ok(n) => {
                self.partial.extend_from_slice(&buf[..n]);
                while let Some(i) = self.partial.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = self.partial.drain(..=i).collect();
                    self.lines.push(
                        String::from_utf8_lossy(&line[..i])
                            .trim_end_matches('\r')
                            .to_owned(),
                    );
                }
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => true,
            Err(_) => {
                self.end();
                false
            }
        }
    }

    /// The next line not handed out yet, reading until one comes, EOF or `deadline`.
    pub fn next_line(&mut self, deadline: Instant) -> Option<String> {
        loop {
            if let Some(l) = self.lines.get(self.cursor) {
                self.cursor += 1;
                return Some(l.clone());
            }
            if !self.read_some(deadline) && (self.eof || Instant::now() >= deadline) {
                return None;
            }
        }
    }

    /// Reads until EOF or `deadline`.
    pub fn drain(&mut self, deadline: Instant) {
        while self.read_some(deadline) {}
    }

    fn end(&mut self) {
        self.eof = true;
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            self.lines.push(
                String::from_utf8_lossy(&rest)
                    .trim_end_matches('\r')
                    .to_owned(),
            );
        }
    }
}
