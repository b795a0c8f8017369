//! Steps 3 to 6 of lesson 7: two containers on a bridge, NAT out to "the internet"
//! through the stand-in host, a published port, and the shell equivalent of it all.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;

use crate::error::Result;
use crate::kernel::net::NetSandbox;
use crate::present::Presenter;

use super::show::{show, snapshot, tcp};

/// The stand-in host, two containers on its bridge, and "the internet" behind it.
pub struct World {
    host: NetSandbox,
    c1: NetSandbox,
    c2: NetSandbox,
    internet: NetSandbox,
}

const BRIDGE: Ipv4Addr = Ipv4Addr::new(10, 71, 0, 1);
const C1: Ipv4Addr = Ipv4Addr::new(10, 71, 0, 2);
const C2: Ipv4Addr = Ipv4Addr::new(10, 71, 0, 3);
const WAN: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);

/// The table every rule of the lesson goes in, in the stand-in host's namespace.
const NAT: &str = "table ip learn-containers {
  chain postrouting {
    type nat hook postrouting priority srcnat;
    oifname \"lc-wan0\" masquerade
  }
}
";

const DNAT: &str = "table ip learn-containers {
  chain prerouting {
    type nat hook prerouting priority dstnat;
    iifname \"lc-wan0\" tcp dport 8080 dnat to 10.71.0.2:80
  }
}
";

/// Plugs `c` into the host: veth `host_end` (in the host) to eth0 (in `c`), the address
/// `addr/prefix` on eth0, both up, and a default route via `gateway`.
fn plug(
    w: &NetSandbox,
    c: &NetSandbox,
    host_end: &str,
    addr: Ipv4Addr,
    prefix: u8,
    gateway: Option<Ipv4Addr>,
) -> Result<()> {
    let ns = std::fs::File::open(c.ns_path())?;
    let mut h = w.rtnl()?;
    h.create_veth(host_end, "eth0", Some(ns.as_fd()))?;
    h.set_up(host_end)?;
    let mut i = c.rtnl()?;
    // A MAC made from the address, as docker does (02:42 and the four bytes of the IP).
    let [a, b, c3, d] = addr.octets();
    i.set_mac("eth0", [0x02, 0x42, a, b, c3, d])?;
    i.add_address("eth0", addr, prefix)?;
    i.set_up("eth0")?;
    if let Some(g) = gateway {
        i.add_route(None, g)?;
    }
    Ok(())
}

/// Step 3: a bridge, two containers.
pub fn bridge(p: &mut dyn Presenter) -> Result<World> {
    p.step(
        "Two containers on a bridge",
        "A bridge is a switch inside the kernel. Each container's host end becomes a port of \
         it; the bridge itself gets the address the containers use as their gateway. The \
         containers find each other by ARP, and the kernel keeps the answers in its \
         neighbour table.",
    )?;
    let w = World {
        host: NetSandbox::start()?,
        c1: NetSandbox::start()?,
        c2: NetSandbox::start()?,
        internet: NetSandbox::start()?,
    };
    p.shell("ip link add lc-br0 type bridge; ip addr add 10.71.0.1/24 dev lc-br0; ip link set lc-br0 up");
    p.shell(
        "ip link add lc-c1 type veth peer name eth0 netns $C1; ip link set lc-c1 master lc-br0 up",
    );
    p.shell(
        "ip link add lc-c2 type veth peer name eth0 netns $C2; ip link set lc-c2 master lc-br0 up",
    );
    let mut h = w.host.rtnl()?;
    h.create_bridge("lc-br0")?;
    h.add_address("lc-br0", BRIDGE, 24)?;
    h.set_up("lc-br0")?;
    plug(&w.host, &w.c1, "lc-c1", C1, 24, Some(BRIDGE))?;
    plug(&w.host, &w.c2, "lc-c2", C2, 24, Some(BRIDGE))?;
    h.set_master("lc-c1", "lc-br0")?;
    h.set_master("lc-c2", "lc-br0")?;
    show(p, "host", &snapshot(&w.host)?);
    p.kernel(&format!(
        "from container 1: {}",
        tcp(&w.c2, 7004, &w.c1, SocketAddr::from((C2, 7004)))
    ));
    let mut n = w.c1.rtnl()?;
    for e in n.neighbours()? {
        p.kernel(&format!(
            "container 1's neighbour table: {} lladdr {} (ip neigh)",
            e.addr, e.mac
        ));
    }
    p.say("The bridge forwards frames between its ports by MAC address; the host is just one more machine on it, at 10.71.0.1. Each eth0's MAC was made from its address, 02:42 and the four bytes of the IP, as docker makes them.");
    Ok(w)
}

/// Step 4: NAT out through the stand-in host.
pub fn nat(p: &mut dyn Presenter, w: &World) -> Result<()> {
    p.step(
        "NAT: out to the internet through the host",
        "The containers' addresses are private: a server on the internet has no route back \
         to 10.71.0.0/24. The host forwards their packets (ip_forward, one per namespace) \
         and rewrites their source to its own address on the way out: a masquerade rule, \
         in an nftables table of our own.",
    )?;
    p.shell("ip link add lc-wan0 type veth peer name lc-srv0 netns $INTERNET");
    p.shell("ip addr add 198.51.100.1/24 dev lc-wan0; ip link set lc-wan0 up");
    let ns = std::fs::File::open(w.internet.ns_path())?;
    let mut h = w.host.rtnl()?;
    h.create_veth("lc-wan0", "lc-srv0", Some(ns.as_fd()))?;
    h.add_address("lc-wan0", WAN, 24)?;
    h.set_up("lc-wan0")?;
    let mut s = w.internet.rtnl()?;
    s.add_address("lc-srv0", SERVER, 24)?;
    s.set_up("lc-srv0")?;
    p.shell("sysctl -w net.ipv4.ip_forward=1");
    w.host.forward()?;
    p.kernel(&format!(
        "before the rule, from container 1: {}",
        tcp(&w.internet, 8000, &w.c1, SocketAddr::from((SERVER, 8000)))
    ));
    p.shell("nft -f - <<< 'table ip learn-containers { chain postrouting { type nat hook postrouting priority srcnat; oifname \"lc-wan0\" masquerade } }'");
    w.host.nft(NAT)?;
    p.kernel(&format!(
        "after it, from container 1: {}",
        tcp(&w.internet, 8001, &w.c1, SocketAddr::from((SERVER, 8001)))
    ));
    p.say("The server saw the host's address, 198.51.100.1, not 10.71.0.2: the kernel's connection tracking remembers the rewrite and undoes it on the replies.");
    Ok(())
}

/// Step 5: a published port.
pub fn published(p: &mut dyn Presenter, w: &World) -> Result<()> {
    p.step(
        "A published port",
        "To reach a server inside a container from outside, the host rewrites the \
         destination instead: what arrives at its own address on port 8080 goes to \
         10.71.0.2:80. That is a DNAT rule, and it is all `docker run -p 8080:80` is.",
    )?;
    p.shell("nft add chain ip learn-containers prerouting '{ type nat hook prerouting priority dstnat; }'");
    p.shell("nft add rule ip learn-containers prerouting iifname lc-wan0 tcp dport 8080 dnat to 10.71.0.2:80");
    w.host.nft(DNAT)?;
    p.kernel(&format!(
        "from the internet: {}",
        tcp(&w.c1, 80, &w.internet, SocketAddr::from((WAN, 8080)))
    ));
    p.say("The container's server saw the internet server's own address: DNAT changes the destination only.");
    Ok(())
}

/// Step 6: the same with commands, and docker.
pub fn shell(p: &mut dyn Presenter, w: &World) -> Result<()> {
    p.step(
        "The same with ip and nft, and what docker does",
        "Everything above is a handful of netlink messages and one nftables table. Docker's \
         default network is this: a bridge called docker0 (172.17.0.1/16), one veth per \
         container with eth0 inside, a masquerade rule for 172.17.0.0/16, and a DNAT rule per \
         -p. The lesson's namespaces go when it ends, and everything in them with them.",
    )?;
    p.shell("ip netns add lc-c1; ip link add lc-c1 type veth peer name eth0 netns lc-c1");
    p.shell("ip link set lc-c1 master lc-br0 up; ip -n lc-c1 addr add 10.71.0.2/24 dev eth0");
    p.shell("ip -n lc-c1 link set eth0 up; ip -n lc-c1 route add default via 10.71.0.1");
    p.shell("nft list table ip learn-containers");
    for line in w.host.nft("list table ip learn-containers\n")?.lines() {
        if !line.trim().is_empty() {
            p.kernel(&line.trim_end().replace('\t', "  "));
        }
    }
    show(p, "container 2", &snapshot(&w.c2)?);
    Ok(())
}
