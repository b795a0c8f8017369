//! One rtnetlink socket, in the network namespace it was opened in: what `ip -j link`,
//! `ip -j addr` and `ip -j route` show, as plain data, and the requests a verifier or a
//! lesson needs (a link up, a link removed). A socket belongs to the namespace it was
//! made in for as long as it lives, so [`Rtnl::open_in`] makes it in a short-lived
//! thread that has joined the namespace, and it is used from anywhere after.

use std::net::Ipv4Addr;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use nix::sched::{CloneFlags, setns};

/// A link as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// IFF_UP: set up by someone (`ip link set NAME up`).
    pub up: bool,
    /// IFLA_INFO_KIND: "veth", "bridge", ...; None for lo and physical links.
    pub kind: Option<String>,
    /// IFLA_LINK: for a veth, its peer's ifindex (in the peer's namespace).
    pub peer: Option<u32>,
    /// IFLA_LINK_NETNSID: set when the peer is in another network namespace.
    pub netnsid: Option<i32>,
    /// IFLA_MASTER: the bridge it is a port of.
    pub master: Option<u32>,
    /// IFLA_IFALIAS: a note kept on the link (`ip link set NAME alias TEXT`).
    pub alias: Option<String>,
}

/// An IPv4 address on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr {
    pub index: u32,
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

/// An IPv4 route of the main table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// None: the default route.
    pub dst: Option<(Ipv4Addr, u8)>,
    pub gateway: Option<Ipv4Addr>,
    pub oif: Option<u32>,
}

/// Links, IPv4 addresses and main-table routes of one namespace at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub links: Vec<Link>,
    pub addrs: Vec<Addr>,
    pub routes: Vec<Route>,
}

impl Snapshot {
    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    /// The IPv4 addresses on link `index`.
    pub fn addrs_of(&self, index: u32) -> Vec<Addr> {
        self.addrs
            .iter()
            .filter(|a| a.index == index)
            .copied()
            .collect()
    }

    /// The default route, if any.
    pub fn default_route(&self) -> Option<&Route> {
        self.routes.iter().find(|r| r.dst.is_none())
    }

    /// Links as `ip -br link` would name them: `name(index, up|down)`, for messages.
    pub fn link_names(&self) -> String {
        self.links
            .iter()
            .map(|l| format!("{} ({})", l.name, if l.up { "up" } else { "down" }))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub struct Rtnl {
    socket: Socket,
    seq: u32,
}

fn io(what: &str, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("{what}: {e}"))
}

impl Rtnl {
    /// A socket in the calling thread's network namespace.
    pub fn open() -> std::io::Result<Rtnl> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(Rtnl { socket, seq: 1 })
    }

    /// A socket in the network namespace `ns` names (/proc/PID/ns/net), made by a thread
    /// that joins it and ends: this process stays where it is.
    pub fn open_in(ns: &Path) -> std::io::Result<Rtnl> {
        let fd: OwnedFd = std::fs::File::open(ns)?.into();
        std::thread::scope(|s| {
            s.spawn(|| {
                setns(fd.as_fd(), CloneFlags::CLONE_NEWNET)
                    .map_err(|e| io(&format!("setns({})", ns.display()), e))?;
                Rtnl::open()
            })
            .join()
            .unwrap_or_else(|_| Err(io("netlink", "the thread panicked")))
        })
    }

    /// Sends `msg`; returns every message of the answer until its end (a dump's DONE, or
    /// a request's acknowledgement).
    pub(super) fn ask(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> std::io::Result<Vec<RouteNetlinkMessage>> {
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.seq;
        self.seq += 1;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let mut buf = vec![0; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.socket.send(&buf, 0)?;
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut out = Vec::new();
        loop {
            let (bytes, _) = self.socket.recv_from_full()?;
            let mut at = 0;
            while at < bytes.len() {
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes[at..])
                    .map_err(|e| io("decoding a netlink answer", e))?;
                let len = reply.header.length as usize;
                match reply.payload {
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => match e.code {
                        None => return Ok(out),
                        Some(code) => {
                            return Err(std::io::Error::from_raw_os_error(-code.get()));
                        }
                    },
                    NetlinkPayload::InnerMessage(m) => out.push(m),
                    _ => {}
                }
                if !dump {
                    return Ok(out);
                }
                if len == 0 {
                    break;
                }
                at += (len + 3) & !3;
            }
        }
    }

    pub fn links(&mut self) -> std::io::Result<Vec<Link>> {
        let answer = self.ask(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )?;
        Ok(answer
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_of(&l)),
                _ => None,
            })
            .collect())
    }

    pub fn addrs(&mut self) -> std::io::Result<Vec<Addr>> {
        let answer = self.ask(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            NLM_F_DUMP,
        )?;
        Ok(answer
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => addr_of(&a),
                _ => None,
            })
            .collect())
    }

    pub fn routes(&mut self) -> std::io::Result<Vec<Route>> {
        let answer = self.ask(
            RouteNetlinkMessage::GetRoute(RouteMessage::default()),
            NLM_F_DUMP,
        )?;
        Ok(answer
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(r) => route_of(&r),
                _ => None,
            })
            .collect())
    }

    pub fn snapshot(&mut self) -> std::io::Result<Snapshot> {
        Ok(Snapshot {
            links: self.links()?,
            addrs: self.addrs()?,
            routes: self.routes()?,
        })
    }

    /// `ip link set NAME up`.
    pub fn set_up(&mut self, name: &str) -> std::io::Result<()> {
        let mut m = LinkMessage::default();
        m.header.flags = LinkFlags::Up;
        m.header.change_mask = LinkFlags::Up;
        m.attributes.push(LinkAttribute::IfName(name.to_owned()));
        self.ask(RouteNetlinkMessage::SetLink(m), NLM_F_ACK)
            .map(drop)
            .map_err(|e| io(&format!("ip link set {name} up"), e))
    }

    /// `ip addr add ADDR/PREFIX dev NAME`.
    pub fn add_address(&mut self, name: &str, addr: Ipv4Addr, prefix: u8) -> std::io::Result<()> {
        let what = format!("ip addr add {addr}/{prefix} dev {name}");
        let Some(link) = self.links()?.into_iter().find(|l| l.name == name) else {
            return Err(io(&what, "no such link"));
        };
        let mut m = AddressMessage::default();
        m.header.family = netlink_packet_route::AddressFamily::Inet;
        m.header.prefix_len = prefix;
        m.header.index = link.index;
        m.attributes.push(AddressAttribute::Local(addr.into()));
        m.attributes.push(AddressAttribute::Address(addr.into()));
        self.ask(
            RouteNetlinkMessage::NewAddress(m),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
        .map_err(|e| io(&what, e))
    }

    /// `ip link del NAME`.
    pub fn delete_link(&mut self, name: &str) -> std::io::Result<()> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_owned()));
        self.ask(RouteNetlinkMessage::DelLink(m), NLM_F_ACK)
            .map(drop)
            .map_err(|e| io(&format!("ip link del {name}"), e))
    }
}

fn link_of(l: &LinkMessage) -> Link {
    let mut link = Link {
        index: l.header.index,
        name: String::new(),
        up: l.header.flags.contains(LinkFlags::Up),
        kind: None,
        peer: None,
        netnsid: None,
        master: None,
        alias: None,
    };
    for a in &l.attributes {
        match a {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Controller(i) => link.master = Some(*i),
            LinkAttribute::IfAlias(t) => link.alias = Some(t.clone()),
            LinkAttribute::Link(i) => link.peer = Some(*i),
            LinkAttribute::LinkNetNsId(id) => link.netnsid = Some(*id),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        link.kind = Some(k.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    link
}

fn addr_of(a: &AddressMessage) -> Option<Addr> {
    let ip = a.attributes.iter().find_map(|at| match at {
        AddressAttribute::Local(std::net::IpAddr::V4(v)) => Some(*v),
        _ => None,
    })?;
    Some(Addr {
        index: a.header.index,
        addr: ip,
        prefix: a.header.prefix_len,
    })
}

fn route_of(r: &RouteMessage) -> Option<Route> {
    // The main table (254), IPv4 only: what `ip route` shows.
    if r.header.table != 254 || r.header.address_family != netlink_packet_route::AddressFamily::Inet
    {
        return None;
    }
    let mut route = Route {
        dst: None,
        gateway: None,
        oif: None,
    };
    for a in &r.attributes {
        match a {
            RouteAttribute::Destination(RouteAddress::Inet(d)) => {
                route.dst = Some((*d, r.header.destination_prefix_length))
            }
            RouteAttribute::Gateway(RouteAddress::Inet(g)) => route.gateway = Some(*g),
            RouteAttribute::Oif(i) => route.oif = Some(*i),
            _ => {}
        }
    }
    Some(route)
}
