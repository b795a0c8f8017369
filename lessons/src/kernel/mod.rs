//! The kernel toolkit every chapter shares. One module per concern; docs/architecture.md
//! maps them and what each may call.

pub mod cgroup;
pub mod child;
pub mod chroot;
pub mod container;
pub mod leftovers;
pub mod mountinfo;
pub mod net;
pub mod ns;
pub mod procfs;
pub mod sandbox;
pub mod scratch;
pub mod sys;
pub mod sysvipc;
pub mod timens;
pub mod undo;
pub mod userns;
pub mod wire;
