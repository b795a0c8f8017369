//! The same container as an OCI bundle, for `runc run`: the chapter 5 lesson and the
//! benchmark compare the two.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Context, Result};

use super::root::Root;
use super::spec::ContainerSpec;
use crate::kernel::cgroup::{CgroupFs, owned};
use crate::kernel::child::CHILD_ENV;
use crate::kernel::undo::{self, Phase};

/// The OCI runtime configuration (config.json) that gives `runc run` the same container
/// as [`ContainerSpec`]: the same rootfs, PID, mount and UTS namespaces, hostname, /proc,
/// a tmpfs /tmp, and the CPU quota, in a cgroup under learn-containers/. runc also needs
/// a /dev to create its device nodes in: a tmpfs, so the rootfs is not written to.
pub fn oci_config(spec: &ContainerSpec, cgroups_path: &str) -> serde_json::Value {
    let env: Vec<String> = CHILD_ENV.iter().map(|e| e.to_string()).collect();
    let mut linux = serde_json::json!({
        "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}],
        "cgroupsPath": cgroups_path,
    });
    if let Some(limit) = &spec.cpus {
        linux["resources"] = serde_json::json!({
            "cpu": {"quota": limit.quota_us.map_or(-1, |q| q as i64), "period": limit.period_us}
        });
    }
    serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": spec.argv,
            "env": env,
            "cwd": "/",
            "noNewPrivileges": true
        },
        "root": {"path": spec.rootfs, "readonly": spec.root == Root::ReadOnly},
        "hostname": spec.hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "learn-containers",
             "options": ["nosuid", "nodev", "mode=1777"]}
        ],
        "linux": linux
    })
}

/// Writes `bundle/config.json` for `runc run --bundle BUNDLE` (see [`oci_config`]).
pub fn write_oci_bundle(
    bundle: &Path,
    spec: &ContainerSpec,
    cgroups_path: &str,
) -> Result<PathBuf> {
    std::fs::create_dir_all(bundle).with_context(|| format!("mkdir {}", bundle.display()))?;
    let path = bundle.join("config.json");
    let text = serde_json::to_string_pretty(&oci_config(spec, cgroups_path))?;
    let mut f = File::create(&path).with_context(|| format!("create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    Ok(path)
}

/// Before `runc run` with `cgroupsPath` `cgroups_path`: runc makes that cgroup in every
/// hierarchy (name=systemd and unified included). Registered, so that an interrupt
/// removes what runc, killed, could not; dropping the registrations forgets them.
pub fn register_runc_cgroups(cgroups_path: &str) -> Result<Vec<undo::Registered>> {
    let rel = cgroups_path.trim_start_matches('/');
    Ok(CgroupFs::detect()?
        .hierarchies()
        .into_iter()
        .map(|(h, version)| {
            undo::Registered::new(Phase::Cgroups, owned::removal(&h.join(rel), version))
        })
        .collect())
}

/// After `runc run`: runc removes the cgroups it made, but not the `learn-containers/`
/// directories it created above them in every hierarchy. Removes those that are empty;
/// rmdir is the test, nothing is killed.
pub fn remove_empty_cgroup_parents() {
    let Ok(fs) = CgroupFs::detect() else {
        return;
    };
    for d in fs.learn_containers_dirs() {
        let _ = std::fs::remove_dir(&d);
    }
}
