//! `run --net bridge [-p HOST:CONTAINER]`: the one place the project changes the host's
//! network, as docker0 does. On the host: a bridge `lc-br0` with the gateway address, a
//! veth per container (`lc-<pid>`, its other end the container's `eth0`) as a port of it,
//! an nftables table `learn-containers` (masquerade out, DNAT for published ports) and
//! ip_forward on. The last container to go removes the bridge and the table and puts
//! ip_forward back as it found it; `learn-containers clean` does the same after a crash.
//!
//! What is in use is read from the kernel, never from a file: a port's alias holds its
//! container's address, the bridge's alias the ip_forward value it found, each nftables
//! rule's comment the link it is for. A host-wide lock (an abstract unix socket, gone
//! with its holder) keeps two starts from picking one address.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::time::{Duration, Instant};

use super::rtnl::Rtnl;
use crate::kernel::procfs;
use crate::kernel::undo::{self, Phase};

pub const BRIDGE: &str = "lc-br0";
pub const TABLE: &str = "learn-containers";
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 213, 0, 1);
pub const PREFIX: u8 = 24;
const SUBNET: &str = "10.213.0.0/24";
/// Aliases start with this: the links are ours.
const MARK: &str = "learn-containers";
const FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// A published port: connections to HOST on the host's addresses go to CONTAINER.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port {
    pub host: u16,
    pub container: u16,
}

impl std::str::FromStr for Port {
    type Err = String;
    fn from_str(s: &str) -> Result<Port, String> {
        let bad = || format!("{s:?}: give HOST:CONTAINER, two TCP ports from 1 to 65535 (8080:80)");
        let (h, c) = s.split_once(':').ok_or_else(bad)?;
        let port = |p: &str| p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad);
        Ok(Port {
            host: port(h)?,
            container: port(c)?,
        })
    }
}

/// What the namespace parent needs to plug the container in.
#[derive(Debug, Clone)]
pub struct Plug {
    /// The host end, `lc-<pid>`.
    pub link: String,
    pub addr: Ipv4Addr,
}

/// A container's place on the bridge, held by the process that starts it: released (the
/// port, its rules, and the bridge if it was the last) when dropped or interrupted.
pub struct Lease {
    pub plug: Plug,
    lock: Option<HostLock>,
    token: Option<undo::Token>,
}

/// Held while the bridge is changed. The kernel frees the name when the holder dies.
struct HostLock(#[allow(dead_code)] UnixListener);

fn lock() -> io::Result<HostLock> {
    let name = SocketAddr::from_abstract_name(b"learn-containers-net")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match UnixListener::bind_addr(&name) {
            Ok(l) => return Ok(HostLock(l)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(io::Error::other(format!("the bridge's lock: {e}"))),
        }
    }
}

fn other(what: impl std::fmt::Display) -> io::Error {
    io::Error::other(what.to_string())
}

/// `nft ARGS` in this process's namespace, the host's.
fn nft(args: &[&str], script: &str) -> io::Result<String> {
    super::nft(None, args, script)
}

fn table_script() -> String {
    format!(
        "table ip {TABLE} {{\n\
         \x20 chain postrouting {{ type nat hook postrouting priority srcnat; ip saddr {SUBNET} oifname != \"{BRIDGE}\" masquerade; }}\n\
         \x20 chain prerouting {{ type nat hook prerouting priority dstnat; }}\n\
         \x20 chain output {{ type nat hook output priority -100; }}\n\
         }}\n"
    )
}

/// The rules that publish `ports` of the container at `addr`, commented with its link.
fn port_rules(link: &str, addr: Ipv4Addr, ports: &[Port]) -> String {
    let mut s = String::new();
    for p in ports {
        // Arriving from outside (prerouting) and made on the host itself (output).
        for chain in ["prerouting", "output"] {
            s.push_str(&format!(
                "add rule ip {TABLE} {chain} fib daddr type local tcp dport {} dnat to {addr}:{} comment \"{link}\"\n",
                p.host, p.container
            ));
        }
    }
    s
}

/// The pid a link or rule named `lc-<pid>` belongs to.
fn owner(link: &str) -> Option<i32> {
    link.strip_prefix("lc-")?.parse().ok()
}

/// Takes a place on the bridge for a container this process starts: makes the bridge,
/// its table and ip_forward if this is the first, picks a free address, publishes
/// `ports`. The lock is held until [`Lease::unlock`], once the port exists.
pub fn lease(ports: &[Port]) -> io::Result<Lease> {
    let lock = lock()?;
    let mut nl = Rtnl::open()?;
    let link = format!("lc-{}", std::process::id());
    let links = nl.links()?;
    if links.iter().any(|l| l.name == link) {
        return Err(other(format!(
            "{link} exists already: one bridged container per process"
        )));
    }
    // Registered before anything is made: from here on, an error (the lease dropped) or
    // an interrupt removes whatever of it was made.
    let name = link.clone();
    let token = undo::making(|| {
        undo::register(Phase::Cgroups, move || {
            if let Err(e) = release(&name) {
                undo::fell_short(format_args!("the bridge's {name} ({e})"));
            }
        })
    });
    let mut lease = Lease {
        plug: Plug {
            link,
            addr: GATEWAY,
        },
        lock: Some(lock),
        token: Some(token),
    };
    let bridge = match links.iter().find(|l| l.name == BRIDGE) {
        Some(b) => b.clone(),
        None => make_bridge(&mut nl)?,
    };
    let used: Vec<Ipv4Addr> = links
        .iter()
        .filter(|l| l.master == Some(bridge.index))
        .filter_map(|l| l.alias.as_deref()?.strip_prefix(MARK)?.trim().parse().ok())
        .collect();
    lease.plug.addr = (2..=254)
        .map(|n| Ipv4Addr::new(10, 213, 0, n))
        .find(|a| !used.contains(a))
        .ok_or_else(|| other(format!("all 253 addresses of {SUBNET} are taken")))?;
    let rules = port_rules(&lease.plug.link, lease.plug.addr, ports);
    if !rules.is_empty() {
        nft(&["-f", "-"], &rules)?;
    }
    Ok(lease)
}

/// The bridge with the gateway address, its table, ip_forward on; the bridge's alias
/// keeps what ip_forward was.
fn make_bridge(nl: &mut Rtnl) -> io::Result<super::Link> {
    let snap = nl.snapshot()?;
    if let Some(r) = snap.routes.iter().find(|r| {
        r.dst
            .is_some_and(|(d, _)| d.octets()[..3] == GATEWAY.octets()[..3])
    }) {
        return Err(other(format!(
            "this host already routes {SUBNET} ({r:?}), which --net bridge uses"
        )));
    }
    let was = std::fs::read_to_string(FORWARD)?.trim().to_owned();
    nl.create_bridge(BRIDGE)?;
    nl.set_alias(BRIDGE, &format!("{MARK} ip_forward={was}"))?;
    nl.add_address(BRIDGE, GATEWAY, PREFIX)?;
    nl.set_up(BRIDGE)?;
    nft(&["-f", "-"], &table_script())?;
    std::fs::write(FORWARD, "1")?;
    nl.links()?
        .into_iter()
        .find(|l| l.name == BRIDGE)
        .ok_or_else(|| other("the bridge vanished"))
}

impl Lease {
    /// Lets other starts change the bridge: this container's port now holds its address.
    pub fn unlock(&mut self) {
        self.lock = None;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Released under the lock it may still hold: the undo registry's copy goes.
        self.lock = None;
        if let Some(t) = self.token.take() {
            undo::unregister(t);
            if let Err(e) = release(&self.plug.link) {
                eprintln!("warning: the bridge's {}: {e}", self.plug.link);
            }
        }
    }
}

/// The namespace parent's part, right after unshare(CLONE_NEWNET): `host` is a netlink
/// socket it opened before, in the host's namespace. The veth is made with its `eth0` end
/// straight in the new namespace, plugged into the bridge; inside, lo and eth0 are set
/// up, with the address and a default route via the bridge.
pub fn plug_in(plug: &Plug, host: &mut Rtnl) -> io::Result<()> {
    let inner = std::fs::File::open("/proc/self/ns/net")?;
    host.create_veth(&plug.link, "eth0", Some(inner.as_fd()))?;
    host.set_alias(&plug.link, &format!("{MARK} {}", plug.addr))?;
    host.set_master(&plug.link, BRIDGE)?;
    host.set_up(&plug.link)?;
    let mut nl = Rtnl::open()?;
    nl.set_up("lo")?;
    nl.add_address("eth0", plug.addr, PREFIX)?;
    nl.set_up("eth0")?;
    nl.add_route(None, GATEWAY)
}

/// Removes `link`'s port and rules; the bridge, its table and ip_forward too if no port
/// is left. Under the lock.
fn release(link: &str) -> io::Result<()> {
    let _lock = lock()?;
    let mut nl = Rtnl::open()?;
    match nl.delete_link(link) {
        Ok(()) => {}
        // Gone with the container's namespace already (Rtnl's errors carry the text).
        Err(e) if e.to_string().contains("No such device") => {}
        Err(e) => return Err(e),
    }
    // The last container takes the whole table with the bridge: its own rules need no
    // listing and deleting one by one (each a fork of nft).
    if !remove_bridge_if_unused(&mut nl)? {
        delete_rules(|comment| comment == link)?;
    }
    Ok(())
}

/// The rules of our table: (comment, chain, handle).
fn rules() -> Vec<(String, String, u64)> {
    // No table (or no nft): no rules.
    let Ok(listed) = nft(&["-j", "-a", "list", "table", "ip", TABLE], "") else {
        return Vec::new();
    };
    let json: serde_json::Value = serde_json::from_str(&listed).unwrap_or_default();
    json["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let rule = &item["rule"];
            Some((
                rule["comment"].as_str()?.to_owned(),
                rule["chain"].as_str()?.to_owned(),
                rule["handle"].as_u64()?,
            ))
        })
        .collect()
}

fn rule_comments() -> Vec<String> {
    let mut c: Vec<String> = rules().into_iter().map(|(c, _, _)| c).collect();
    c.dedup();
    c
}

/// Deletes the rules of our table whose comment `doomed` picks.
fn delete_rules(doomed: impl Fn(&str) -> bool) -> io::Result<()> {
    let mut script = String::new();
    for (comment, chain, handle) in rules() {
        if doomed(&comment) {
            script.push_str(&format!("delete rule ip {TABLE} {chain} handle {handle}\n"));
        }
    }
    if !script.is_empty() {
        nft(&["-f", "-"], &script)?;
    }
    Ok(())
}

/// The bridge goes when no port is left on it, with the table, and ip_forward goes back
/// to what its alias says it was. Whether it went (or was gone already).
fn remove_bridge_if_unused(nl: &mut Rtnl) -> io::Result<bool> {
    let links = nl.links()?;
    let Some(bridge) = links.iter().find(|l| l.name == BRIDGE) else {
        return Ok(true);
    };
    let Some(was) = bridge
        .alias
        .as_deref()
        .and_then(|a| a.strip_prefix(MARK))
        .and_then(|a| a.trim().strip_prefix("ip_forward="))
        .map(str::to_owned)
    else {
        // Not a bridge this tool made.
        return Ok(false);
    };
    if links.iter().any(|l| l.master == Some(bridge.index)) {
        return Ok(false);
    }
    let _ = nft(&["delete", "table", "ip", TABLE], "");
    nl.delete_link(BRIDGE)?;
    if was == "0" || was == "1" {
        std::fs::write(FORWARD, &was)?;
    }
    Ok(true)
}

/// What crashed runs left of the bridge: ports and rules of processes that are gone, and
/// the bridge once it has no port. For `learn-containers clean`.
pub fn stale() -> Vec<String> {
    let mut out = Vec::new();
    let Ok(mut nl) = Rtnl::open() else {
        return out;
    };
    let Ok(links) = nl.links() else {
        return out;
    };
    let Some(bridge) = links
        .iter()
        .find(|l| l.name == BRIDGE && l.alias.as_deref().is_some_and(|a| a.starts_with(MARK)))
    else {
        return out;
    };
    let mut live = 0;
    for l in links.iter().filter(|l| l.master == Some(bridge.index)) {
        match owner(&l.name) {
            Some(pid) if !procfs::alive(pid) => out.push(format!("link {}", l.name)),
            _ => live += 1,
        }
    }
    for comment in rule_comments() {
        if owner(&comment).is_some_and(|pid| !procfs::alive(pid)) {
            out.push(format!("the nftables rules of {comment}"));
        }
    }
    if live == 0 {
        out.push(format!(
            "bridge {BRIDGE}, nftables table {TABLE}, ip_forward as it was"
        ));
    }
    out
}

/// Removes what [`stale`] lists, and the rules of every process that is gone.
pub fn remove_stale() -> io::Result<()> {
    let _lock = lock()?;
    let mut nl = Rtnl::open()?;
    for l in nl.links()? {
        if l.alias.as_deref().is_some_and(|a| a.starts_with(MARK))
            && owner(&l.name).is_some_and(|pid| !procfs::alive(pid))
        {
            let _ = nl.delete_link(&l.name);
        }
    }
    delete_rules(|comment| owner(comment).is_some_and(|pid| !procfs::alive(pid)))?;
    remove_bridge_if_unused(&mut nl).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_two_tcp_ports() {
        assert_eq!(
            "8080:80".parse::<Port>(),
            Ok(Port {
                host: 8080,
                container: 80
            })
        );
        for bad in [
            "8080", "0:80", "8080:0", "a:80", "70000:80", ":", "80:80:80",
        ] {
            assert!(bad.parse::<Port>().is_err(), "{bad}");
        }
    }

    #[test]
    fn each_published_port_is_a_dnat_rule_for_outside_and_for_the_host_itself() {
        let rules = port_rules(
            "lc-42",
            Ipv4Addr::new(10, 213, 0, 2),
            &[Port {
                host: 8080,
                container: 80,
            }],
        );
        assert_eq!(rules.lines().count(), 2);
        assert!(rules.contains(
            "prerouting fib daddr type local tcp dport 8080 dnat to 10.213.0.2:80 comment \"lc-42\""
        ));
        assert!(rules.contains("output fib daddr type local tcp dport 8080"));
    }

    #[test]
    fn only_links_named_for_a_pid_have_an_owner() {
        assert_eq!(owner("lc-42"), Some(42));
        assert_eq!(owner("lc-br0"), None);
        assert_eq!(owner("eth0"), None);
    }
}
