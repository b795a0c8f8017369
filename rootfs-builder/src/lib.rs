//! Builds a minimal root filesystem from host binaries and their ELF
//! dependencies, and explains every file it copies and why.
//!
//! [`plan`] decides what goes in (nothing is written), [`build`] writes a plan
//! into a directory without ever following a symlink inside it, and
//! [`write_initramfs`] packs a built directory for a kernel to boot from.

mod build;
mod elf;
mod error;
mod initramfs;
mod plan;
mod why;

pub use build::{MARKER, build};
pub use elf::{ElfInfo, inspect, resolve_binary};
pub use error::BuildError;
pub use initramfs::write_initramfs;
pub use plan::{BUSYBOX_APPLETS, Entry, EntryKind, Options, Plan, plan};
