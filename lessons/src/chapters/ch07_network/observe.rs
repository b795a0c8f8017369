//! One run of ch07_network, observed from outside. The program runs inside a network
//! namespace of the verifier's own that stands in for the host (a `NetSandbox`, with "the
//! internet" as an address FAR on its lo), with CMD a bash script that sends a token over
//! TCP to the host address and one to FAR, prints `READY PID`, and waits on a FIFO for
//! the status to exit with. While it waits the verifier reads, over netlink, CMD's
//! namespace (entered by a socket made there) and the stand-in host's, and sends a token
//! from the stand-in host to a server it runs in CMD's namespace. It holds CMD's
//! namespace open until the program has ended, as any process left in it would: a pair
//! the program does not delete is then still there to see.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::error::{Context as _, Result};
use crate::kernel::net::{NetSandbox, Rtnl, Snapshot};
use crate::kernel::procfs;
use crate::verify::Context;
use crate::verify::probe::net::{self, Heard, Server};
use crate::verify::run::Finished;

/// NAME: the host end (the kernel's limit is 15 bytes; `lc-` marks it ours).
pub const NAME: &str = "lc-v7host";
pub const HOST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
pub const CONTAINER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
pub const PREFIX: u8 = 24;
/// Beyond the subnet: on the stand-in host's lo, reachable from CMD only by a route.
pub const FAR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 7);
/// Where the verifier's server listens in the stand-in host, and in CMD's namespace.
pub const PORT_OUT: u16 = 7070;
pub const PORT_IN: u16 = 7071;
/// The status CMD is told to exit with.
pub const STATUS: i32 = 7;

/// What the run showed while CMD was up.
#[derive(Debug, Clone)]
pub struct Cmd {
    pub pid: i32,
    /// Inodes of the network namespaces the program and CMD were in.
    pub program_ns: u64,
    pub cmd_ns: u64,
    /// CMD's namespace and the stand-in host's, read over netlink while CMD waited.
    pub inside: Snapshot,
    pub outside: Snapshot,
    /// What the server at the host address heard from CMD: "near" (sent to HOST) and
    /// "far" (sent to FAR), each with the address it came from.
    pub heard: Heard,
    /// A token from the stand-in host to a server in CMD's namespace at CONTAINER.
    pub inbound: std::result::Result<Ipv4Addr, String>,
}

#[derive(Debug)]
pub struct Run {
    pub finished: Finished,
    /// None: CMD never said READY.
    pub cmd: Option<Cmd>,
    /// The stand-in host once the program had ended, CMD's namespace still held open.
    pub after: Snapshot,
    /// The real host's links, addresses and routes, before and after.
    pub host_before: Snapshot,
    pub host_after: Snapshot,
}

/// The program's arguments.
pub fn args() -> Vec<String> {
    let script = format!(
        "for to in near:{HOST} far:{FAR}; do timeout 3 bash -c \"echo ${{to%%:*}} > /dev/tcp/${{to#*:}}/{PORT_OUT}\" 2>/dev/null; done; \
         echo READY $$; read -r code < end; exit \"$code\""
    );
    [
        "--veth",
        NAME,
        "--host-addr",
        &format!("{HOST}/{PREFIX}"),
        "--container-addr",
        &format!("{CONTAINER}/{PREFIX}"),
        "--",
        "bash",
        "-c",
        &script,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

pub fn observe(cx: &Context) -> Result<Run> {
    let host_before = net::host_snapshot().context("reading the host's links over netlink")?;
    let sandbox = NetSandbox::start()?;
    sandbox
        .rtnl()?
        .add_address("lo", FAR, 32)
        .context("the stand-in host's far address")?;
    let server = Server::start(
        net::listen_in(&sandbox.ns_path(), PORT_OUT).context("the verifier's server")?,
        Duration::from_secs(60),
    );
    let fifo = cx.scratch.path().join("end");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .context("mkfifo")?;

    let mut running = cx.start_in(&args(), &[sandbox.entry()])?;
    let program = running.pid();
    let ready = running.wait_for(Duration::from_secs(20), |l| l.starts_with("READY "));
    let pid = ready.and_then(|l| l.trim_start_matches("READY ").trim().parse::<i32>().ok());
    let mut held = None;
    let cmd = match pid {
        None => {
            let _ = server.heard();
            None
        }
        Some(pid) => {
            let ns = PathBuf::from(format!("/proc/{pid}/ns/net"));
            // Held until the program has ended (see the module's note).
            held = Some(std::fs::File::open(&ns).context("opening CMD's network namespace")?);
            let program_ns = procfs::ns_inode(program, "net").unwrap_or(0);
            let cmd_ns = procfs::ns_inode(pid, "net")?;
            let inside = Rtnl::open_in(&ns)?.snapshot()?;
            let outside = sandbox.rtnl()?.snapshot()?;
            let inbound = net::listen_in(&ns, PORT_IN)
                .map_err(|e| format!("listening in CMD's namespace: {e}"))
                .and_then(|l| {
                    net::reach(
                        &l,
                        &sandbox.ns_path(),
                        SocketAddr::from((CONTAINER, PORT_IN)),
                        "in",
                    )
                });
            Some(Cmd {
                pid,
                program_ns,
                cmd_ns,
                inside,
                outside,
                heard: server.heard(),
                inbound,
            })
        }
    };
    if cmd.is_some() {
        tell(&fifo, STATUS);
    }
    let finished = running.finish(Duration::from_secs(10));
    let after = sandbox.rtnl()?.snapshot()?;
    drop(held);
    drop(sandbox);
    let host_after = net::host_snapshot()?;
    Ok(Run {
        finished,
        cmd,
        after,
        host_before,
        host_after,
    })
}

/// Writes the status into the FIFO CMD reads it from; gives up after a while if nothing
/// reads (CMD gone).
fn tell(fifo: &std::path::Path, status: i32) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(fifo)
        {
            Ok(mut f) => {
                let _ = writeln!(f, "{status}");
                return;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}
