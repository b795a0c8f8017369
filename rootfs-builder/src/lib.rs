//! Builds a minimal root filesystem from host binaries and their ELF
//! dependencies, and explains every file it copies and why.
//!
//! [`plan`] decides what goes in (nothing is written), [`build`] writes a plan
//! into a directory without ever following a symlink inside it.

mod build;
mod elf;
mod error;
mod plan;
mod why;

pub use build::{MARKER, build};
pub use elf::{ElfInfo, inspect, resolve_binary};
pub use error::BuildError;
pub use plan::{BUSYBOX_APPLETS, Entry, EntryKind, Options, Plan, plan};
