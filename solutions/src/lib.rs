//! The library of your exercises: the functions chapters 2 and 4 have you write. Each of
//! those chapters' programs calls them (src/bin/ch02_pid_namespace.rs and
//! src/bin/ch04_cgroup_cpu.rs), and chapter 5's program calls them again, to build one
//! container out of them.
//!
//! ```text
//!   pid_namespace   chapter 2: a command as PID 1 of a new PID namespace, a /proc of its own
//!   cgroup_cpu      chapter 4: a cgroup with a CPU limit; joining it; removing it
//! ```

pub mod cgroup_cpu;
pub mod pid_namespace;
