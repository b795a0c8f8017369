//! cgroups, v1, hybrid and v2 behind one interface: the host's layout decided in one place
//! ([`mode`]), the hierarchies and making cgroups in them ([`hierarchy`]), one cgroup and
//! its members ([`group`]), removal ([`remove`], [`owned`]), one purpose's cgroups across
//! hierarchies ([`joint`]), and one file per controller implementing [`Limit`] ([`cpu`],
//! [`memory`], [`pids`]). Rootless hosts: [`delegation`].
//!
//! Host safety: cgroups are only ever created under `<hierarchy>/learn-containers/`, and
//! [`Cgroup::remove`] refuses any path without a `learn-containers` component.

pub mod cpu;
pub mod delegation;
pub mod error;
mod files;
pub mod freezer;
pub mod group;
pub mod hierarchy;
pub mod joint;
pub mod limit;
pub mod membership;
pub mod memory;
pub mod mode;
pub mod owned;
pub mod pids;
pub mod remove;

pub use cpu::{CpuLimit, CpuStat, host_cpus, parse_cpu_stat};
pub use error::CgroupError;
pub use freezer::{FreezerState, freezer_files};
pub use group::Cgroup;
pub use hierarchy::{CgroupFs, Controller, v1_controller_dirs, v1_named_dirs};
pub use joint::Joint;
pub use limit::Limit;
pub use memory::{
    MemoryEvents, MemoryFiles, MemoryLimit, OomControl, memory_files, parse_memory_events,
    parse_oom_control, parse_size, show_bytes,
};
pub use mode::{
    CGROUP_ROOT, Detection, FsKind, Mode, NotMounted, OURS, Version, classify, detect_mode,
    statfs_kind,
};
pub use owned::OwnedCgroup;
pub use pids::{PidsEvents, PidsMax, parse_pids_events};
pub use remove::remove_base_if_empty;
