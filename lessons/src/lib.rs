//! The chapter catalogue of learn-containers: for each chapter its metadata, the steps of
//! its guided demo and the verifiers of its exercises, plus the kernel toolkit the chapters
//! share (namespaces, mounts, cgroups, procfs, cleanup).
//!
//! Nothing here talks to the terminal: demos report through [`present::Presenter`], which
//! the CLI implements.

pub mod catalogue;
pub mod chapters;
pub mod doctor;
pub mod error;
pub mod kernel;
pub mod present;
pub mod quiz;
pub mod verify;
pub mod workdir;

pub use catalogue::{Chapter, Exercise};
pub use chapters::{chapters, find_chapter, find_exercise};
pub use error::{Error, Result};
