//! A container, composed in one place from the primitives of chapters 1 to 4: a root
//! filesystem (chapter 1), PID, mount and UTS namespaces (chapters 2 and 3), a fresh /proc
//! and a private tmpfs /tmp, pivot_root instead of chroot, a hostname, and a CPU cap in a
//! cgroup under learn-containers/ (chapter 4). `learn-containers run`, the chapter 5 demo
//! and the benchmark all start containers through [`Container::start`]; nothing else in
//! the project composes these steps.
//!
//! The processes, and who does what (the order Docker and util-linux use too):
//!
//! ```text
//! CLI ── fork ──> namespace parent ── unshare(NEWPID|NEWNS|NEWUTS), fork ──> PID 1
//!  │                 waits for PID 1,                                        joins the cgroup
//!  │                 exits with its status                                    make / rprivate
//!  │                                                                          bind DIR on itself
//!  │                                                                          pivot_root, umount old /
//!  │                                                                          mount /proc, /tmp
//!  │                                                                          sethostname
//!  └── creates the cgroup and opens its join file, before the fork            exec CMD
//! ```
//!
//! PID 1 joins the cgroup itself, through a descriptor the CLI opened before the fork:
//! before exec, so everything CMD forks is capped; the descriptor still works after
//! pivot_root has taken /sys/fs/cgroup out of sight. One close-on-exec pipe of typed
//! messages ([`crate::kernel::wire`]) ties the processes together: the namespace parent
//! sends PID 1's host pid up, PID 1 says why it could not exec, and an EOF with no failure
//! means CMD is running.
//!
//! Host safety: every mount happens in PID 1, inside the new mount namespace, after / was
//! made recursively private; the hostname is set only inside the new UTS namespace; the
//! cgroup is an owned one; the namespace parent leads its own process group and is
//! registered for undo, and both children die with their parent (PR_SET_PDEATHSIG).
//!
//! The stages have a module each: [`spec`] (what to run, checked before any fork),
//! [`rootfs_cache`] (the default rootfs), [`start`] (the CLI's side of the start),
//! [`init`] (the namespace parent and PID 1), [`oci`] (the same container for runc),
//! [`trace`] (phase timings).

pub mod init;
pub mod oci;
pub mod root;
pub mod rootfs_cache;
pub mod spec;
pub mod start;
pub mod trace;

pub use init::{Proc, enter_rootfs, pivot_into};
pub use oci::{oci_config, register_runc_cgroups, remove_empty_cgroup_parents, write_oci_bundle};
pub use root::bind_on_itself;
pub use root::{DEVICES, Root};
pub use rootfs_cache::{default_options, default_rootfs};
pub use spec::{ContainerSpec, DEFAULT_HOSTNAME, InvalidSpec, Net, check_hostname, check_rootfs};
pub use start::{Container, Ended, Io, StartError, run};
pub use trace::Trace;
