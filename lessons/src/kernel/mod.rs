//! The kernel toolkit every chapter shares. One module per concern.

pub mod cgroup;
pub mod child;
pub mod cleanup;
pub mod container;
pub mod mountinfo;
pub mod ns;
pub mod procfs;
pub mod scratch;
