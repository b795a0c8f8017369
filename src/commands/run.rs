//! `learn-containers run`: CMD as PID 1 of a container made of the four primitives.
//! The composition itself lives in the kernel toolkit (lessons::kernel::container); this
//! only checks the arguments, picks the rootfs, forwards signals and passes CMD's exit
//! status on.

use std::path::PathBuf;
use std::time::Instant;

use crate::error::Result;
use lessons::kernel::cgroup::{CpuLimit, MemoryLimit, PidsMax, host_cpus, parse_size};
use lessons::kernel::container::{self, Container, ContainerSpec, Io, Net, Root, StartError};

use super::{containers, detach};
use crate::error::CliError;
use crate::{Outcome, signals};
use lessons::kernel::cgroup::delegation;

/// Whether this run is rootless: a user mapped to root in a user namespace of its own,
/// entered first thing in main (src/rootless.rs).
fn rootless() -> bool {
    crate::rootless::in_user_namespace()
}

/// Where the default rootfs is cached, so that `run` works outside the clone and for
/// every user: LEARN_CONTAINERS_CACHE; for root /var/cache/learn-containers; else
/// $XDG_CACHE_HOME/learn-containers, or ~/.cache/learn-containers.
fn cache_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("LEARN_CONTAINERS_CACHE") {
        return Ok(PathBuf::from(d));
    }
    if !rootless() && nix::unistd::geteuid().is_root() {
        return Ok(PathBuf::from("/var/cache/learn-containers"));
    }
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
            Some(home) => PathBuf::from(home).join(".cache"),
            None => {
                return Err(CliError::Usage(
                    "neither XDG_CACHE_HOME nor HOME is set, so there is no cache for the default rootfs: set one, or give --rootfs DIR".into(),
                ));
            }
        },
    };
    Ok(base.join("learn-containers"))
}

/// The cgroup limits asked for on the command line, as given.
pub struct Limits {
    pub cpus: Option<f64>,
    pub memory: Option<String>,
    pub pids: Option<u64>,
}

#[allow(clippy::too_many_arguments)]
pub fn run(
    rootfs: Option<PathBuf>,
    limits: Limits,
    hostname: &str,
    root: Root,
    uptime_offset: Option<i64>,
    net: Net,
    ports: Vec<lessons::kernel::net::bridge::Port>,
    detached: Option<&str>,
    cmd: &[String],
) -> Result<Outcome> {
    let t0 = Instant::now();
    let trace = std::env::var("LEARN_CONTAINERS_TRACE").is_ok_and(|v| v == "1");
    let Limits { cpus, memory, pids } = limits;
    let memory = match memory {
        Some(m) => {
            let bytes = parse_size(&m).map_err(|e| CliError::Usage(format!("--memory {e}")))?;
            if bytes < 1 << 20 {
                return Err(CliError::Usage(format!(
                    "--memory {m}: at least 1M; below that not even the shell starts"
                )));
            }
            Some(MemoryLimit::no_swap(bytes))
        }
        None => None,
    };
    let pids = match pids {
        Some(0) => return Err(CliError::Usage("--pids 0: give at least 1".into())),
        Some(n) => Some(PidsMax::new(n)),
        None => None,
    };
    let cpus = match cpus {
        Some(c) => Some(
            CpuLimit::for_host(c, host_cpus())
                .map_err(|e| CliError::Usage(format!("--cpus: {e}")))?,
        ),
        None => None,
    };
    container::check_hostname(hostname).map_err(|e| CliError::Usage(e.0))?;
    if uptime_offset.is_some() && !lessons::kernel::timens::supported() {
        return Err(CliError::Usage(
            "--uptime-offset needs time namespaces (Linux 5.6 or later, CONFIG_TIME_NS), and this kernel has none; `learn-containers doctor` says so".into(),
        ));
    }
    if let Some(name) = detached {
        containers::check_name(name)?;
    }
    if !ports.is_empty() && net != Net::Bridge {
        return Err(CliError::Usage(
            "-p publishes a port of a container on the host's bridge: add --net bridge".into(),
        ));
    }
    super::require_root("run")?;
    if net == Net::Bridge {
        if rootless() {
            return Err(CliError::Usage(
                "--net bridge changes the host's network (a bridge, nftables rules, ip_forward), which needs real root: run it with sudo, or use --net none".into(),
            ));
        }
        if which::which("nft").is_err() {
            return Err(CliError::Usage(
                "--net bridge writes its NAT rules with nft, and there is none in PATH: `apt install nftables`".into(),
            ));
        }
    }
    if detached.is_some() && rootless() {
        return Err(CliError::Usage(
            "run -d pauses containers with the cgroup freezer, which needs root here: run it with sudo".into(),
        ));
    }
    let limited = cpus.is_some() || memory.is_some() || pids.is_some();
    if limited && rootless() && delegation::base().is_none() {
        let args: Vec<String> = std::env::args().collect();
        return Err(CliError::Usage(format!(
            "--cpus, --memory and --pids without root need a cgroup v2 subtree delegated to you, and this host gives none: `systemd-run --user --scope -p Delegate=yes {}` (cgroup v2 hosts), or run it with sudo",
            args.join(" ")
        )));
    }
    let rootfs = match rootfs {
        Some(dir) => dir,
        None => container::default_rootfs(&cache_dir()?)?,
    };
    let rootfs = container::check_rootfs(&rootfs).map_err(|e| CliError::Usage(e.0))?;
    let spec = ContainerSpec {
        rootfs,
        hostname: hostname.to_owned(),
        cpus,
        memory,
        pids,
        argv: cmd.to_vec(),
        root,
        uptime_offset,
        net,
        freezable: detached.is_some(),
        ports,
    };
    if let Some(name) = detached {
        return match std::env::var_os(detach::KEEPER) {
            Some(dir) => detach::keep(&spec, name, &PathBuf::from(dir)),
            None => detach::start(name),
        };
    }
    let mut tr = trace.then(|| container::Trace::new(t0, "cli"));
    if let Some(t) = &mut tr {
        t.phase("arguments and rootfs checked");
        t.flush();
    }
    // CMD may run (and be sent a signal) before start returns: hold signals for it.
    signals::hold();
    let started = Container::start(&spec, Io::Inherit, trace.then_some(t0));
    let c = match started {
        Ok(c) => c,
        Err(lessons::Error::Start(start)) => {
            signals::forward_to(None);
            let hint = match &start {
                StartError::Exec { .. } => format!(
                    "is {} in the rootfs ({})? `ls {}/bin` shows what is there",
                    cmd[0],
                    spec.rootfs.display(),
                    spec.rootfs.display()
                ),
                StartError::Setup(_) => {
                    "`learn-containers doctor` checks this host; `learn-containers lesson 5` shows each step".to_owned()
                }
            };
            // The exit code comes with the error's type (126, 127 or 2).
            return Err(CliError::Lessons(start.with_hint(&hint).into()));
        }
        Err(e) => {
            signals::forward_to(None);
            return Err(e.into());
        }
    };
    for note in c.notes() {
        eprintln!("note: {note}");
    }
    // Ctrl-C and SIGTERM now go to CMD (one held since `hold` first); what it does with
    // them decides the exit status.
    signals::forward_to(Some(c.pid()));
    let ended = c.wait_ended();
    signals::forward_to(None);
    let ended = ended?;
    if ended.oom_killed {
        eprintln!(
            "learn-containers: the OOM killer ended CMD: it reached its --memory limit (exit status 137)"
        );
    }
    match ended.code {
        0 => Ok(Outcome::Done),
        // Everything the container had is gone by now (c.wait removed the cgroup).
        code => std::process::exit(code),
    }
}
