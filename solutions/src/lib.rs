//! The library of your exercises: the functions chapters 2, 4, 6, 7, 8 and 9 have you
//! write. Each of those chapters' programs calls them (src/bin/ch02_pid_namespace.rs,
//! src/bin/ch04_cgroup_cpu.rs, src/bin/ch06_user_namespace.rs, src/bin/ch07_network.rs,
//! src/bin/ch08_more_namespaces.rs and src/bin/ch09_memory_pids.rs); chapter 5's program
//! calls chapter 2's and 4's again, to build one container out of them; chapter 8's calls
//! chapter 4's `join`, and chapter 9's calls chapter 4's `join` and `remove`.
//!
//! ```text
//!   pid_namespace    chapter 2: a command as PID 1 of a new PID namespace, a /proc of its own
//!   cgroup_cpu       chapter 4: a cgroup with a CPU limit; joining it; removing it
//!   user_namespace   chapter 6: root of a new user namespace, mapped to who you are outside
//!   network          chapter 7: a network namespace, plugged into the host by a veth pair
//!   netlink          chapter 7, given: the netlink requests `ip link`/`addr`/`route` send
//!   more_namespaces  chapter 8: new IPC, cgroup and time namespaces, in the right order
//!   memory_pids      chapter 9: a memory and a pids limit, and what the kernel counted
//! ```

pub mod cgroup_cpu;
pub mod memory_pids;
pub mod more_namespaces;
pub mod netlink;
pub mod network;
pub mod pid_namespace;
pub mod user_namespace;
