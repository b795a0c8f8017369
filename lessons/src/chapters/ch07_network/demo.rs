//! The guided demo of chapter 7: a new network namespace with nothing but a `lo` that is
//! down, a veth pair into it, two containers on a bridge, NAT out to "the internet", a
//! published port, and the same as `ip`/`nft` commands. Every namespace is one of the
//! lesson's own (a `NetSandbox`): one stands in for the host, one for the internet, the
//! others for containers. The real host's network is never touched; when the lesson ends
//! its namespaces go, and every link, address, route and nftables table with them.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;

use crate::error::Result;
use crate::kernel::net::NetSandbox;
use crate::present::Presenter;
use crate::verify::probe::net;

use super::show::show;
use super::steps;

pub const STEPS: usize = 6;

pub fn run(p: &mut dyn Presenter) -> Result<()> {
    lo_down(p)?;
    pair(p)?;
    let world = steps::bridge(p)?;
    steps::nat(p, &world)?;
    steps::published(p, &world)?;
    steps::shell(p, &world)?;
    drop(world);
    Ok(())
}

/// Step 1: `unshare --net`.
fn lo_down(p: &mut dyn Presenter) -> Result<()> {
    p.step(
        "A new network namespace: only lo, and it is down",
        "unshare(CLONE_NEWNET) gives a process a network stack of its own: its own links, \
         addresses, routes, firewall and port numbers. The kernel puts one link in it, lo, \
         and leaves it down: not even 127.0.0.1 answers until someone sets it up.",
    )?;
    p.shell("unshare --net bash -c 'ip link; nc -z 127.0.0.1 9'");
    let c = NetSandbox::start_bare()?;
    let mut nl = c.rtnl()?;
    show(p, "inside", &nl.snapshot()?);
    let tried = net::send_from(
        &c.ns_path(),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 9)),
        "hello",
        std::time::Duration::from_secs(1),
    );
    p.kernel(&format!(
        "connect(127.0.0.1:9): {}",
        tried.err().unwrap_or_else(|| "connected".to_owned())
    ));
    p.shell("ip link set lo up");
    nl.set_up("lo")?;
    let listener = net::listen_in(&c.ns_path(), 7001)?;
    let heard = net::reach(
        &listener,
        &c.ns_path(),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 7001)),
        "hello",
    );
    show(p, "inside", &nl.snapshot()?);
    p.kernel(&format!(
        "connect(127.0.0.1:7001): {}",
        match heard {
            Ok(from) => format!("the server got \"hello\" from {from}"),
            Err(e) => e,
        }
    ));
    p.say("ENETUNREACH first: with lo down there is no route even to 127.0.0.1. Every container runtime sets lo up first.");
    Ok(())
}

/// Step 2: a veth pair, one end in the container's namespace.
fn pair(p: &mut dyn Presenter) -> Result<()> {
    p.step(
        "A veth pair: a cable between two namespaces",
        "A veth pair is two links joined back to back: what goes into one comes out of the \
         other. One end stays in the host's namespace, the other is moved into the \
         container's (here it is made there directly), each gets an address and is set up.",
    )?;
    let host = NetSandbox::start()?;
    let c = NetSandbox::start()?;
    p.shell("ip link add lc-veth0 type veth peer name eth0 netns $PID");
    p.shell("ip addr add 10.70.0.1/24 dev lc-veth0; ip link set lc-veth0 up");
    p.shell("nsenter --net --target $PID sh -c 'ip addr add 10.70.0.2/24 dev eth0; ip link set eth0 up'");
    let ns = std::fs::File::open(c.ns_path())?;
    let mut h = host.rtnl()?;
    h.create_veth("lc-veth0", "eth0", Some(ns.as_fd()))?;
    h.add_address("lc-veth0", Ipv4Addr::new(10, 70, 0, 1), 24)?;
    h.set_up("lc-veth0")?;
    let mut i = c.rtnl()?;
    i.add_address("eth0", Ipv4Addr::new(10, 70, 0, 2), 24)?;
    i.set_up("eth0")?;
    show(p, "host", &h.snapshot()?);
    show(p, "container", &i.snapshot()?);
    p.say("Each side names the other: the peer's ifindex, and link-netnsid, the number this namespace knows the other one by.");
    let out = net::listen_in(&host.ns_path(), 7002)?;
    let there = net::reach(
        &out,
        &c.ns_path(),
        SocketAddr::from(([10, 70, 0, 1], 7002)),
        "out",
    );
    let into = net::listen_in(&c.ns_path(), 7003)?;
    let back = net::reach(
        &into,
        &host.ns_path(),
        SocketAddr::from(([10, 70, 0, 2], 7003)),
        "in",
    );
    for (what, r) in [
        ("container -> host 10.70.0.1:7002", there),
        ("host -> container 10.70.0.2:7003", back),
    ] {
        p.kernel(&format!(
            "TCP {what}: {}",
            match r {
                Ok(from) => format!("the token arrived, from {from}"),
                Err(e) => e,
            }
        ));
    }
    Ok(())
}
