//! What several verifiers observe, as probes any chapter calls: a chapter never imports
//! another chapter. Each probe reads kernel state (and judges it, where chapters judge it
//! alike); the chapter names the checks.

pub mod cgroup_ns;
pub mod cpu_share;
pub mod mount_ns;
pub mod mounts;
pub mod net;
pub mod pid_ns;
pub mod tagged;
