//! cgroups, v1, hybrid and v2 behind one interface: the host's layout decided in one place
//! ([`mode`]), the hierarchies and making cgroups in them ([`hierarchy`]), one cgroup and
//! its members ([`group`]), removal ([`remove`], [`owned`]), and one file per controller
//! implementing [`Limit`] ([`cpu`]). Rootless hosts: [`delegation`].
//!
//! Host safety: cgroups are only ever created under `<hierarchy>/learn-containers/`, and
//! [`Cgroup::remove`] refuses any path without a `learn-containers` component.

pub mod cpu;
pub mod delegation;
pub mod error;
mod files;
pub mod group;
pub mod hierarchy;
pub mod limit;
pub mod membership;
pub mod mode;
pub mod owned;
pub mod remove;

pub use cpu::{CpuLimit, CpuStat, host_cpus, parse_cpu_stat};
pub use error::CgroupError;
pub use group::Cgroup;
pub use hierarchy::{CgroupFs, Controller, v1_controller_dirs, v1_named_dirs};
pub use limit::Limit;
pub use mode::{
    CGROUP_ROOT, Detection, FsKind, Mode, NotMounted, OURS, Version, classify, detect_mode,
    statfs_kind,
};
pub use owned::OwnedCgroup;
pub use remove::remove_base_if_empty;
