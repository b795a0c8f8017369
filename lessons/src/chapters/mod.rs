//! One module per chapter, each with its demo, its verifier and its hints.

pub mod ch01_chroot;
pub mod ch02_pid_namespace;
pub mod ch03_mount_namespace;
pub mod ch04_cgroup_cpu;
pub mod ch05_run;

use crate::catalogue::Chapter;

/// Every chapter, in course order.
pub static ALL: &[&Chapter] = &[
    &ch01_chroot::CHAPTER,
    &ch02_pid_namespace::CHAPTER,
    &ch03_mount_namespace::CHAPTER,
    &ch04_cgroup_cpu::CHAPTER,
    &ch05_run::CHAPTER,
];
