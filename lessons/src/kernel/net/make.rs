//! What lessons make over rtnetlink, beyond a link up and down: veth pairs (one end
//! straight into another namespace), bridges and their ports, routes, and the
//! neighbour (ARP) table read back. `ip link add`, `ip link set master`, `ip route add`,
//! `ip neigh`.

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkInfo, LinkMessage,
};
use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType,
};

use super::rtnl::Rtnl;

/// A neighbour (ARP) entry: an IPv4 address, the MAC it resolves to, on link `index`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    pub index: u32,
    pub addr: Ipv4Addr,
    pub mac: String,
}

const CREATE: u16 = NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;

fn err(what: String) -> impl FnOnce(std::io::Error) -> std::io::Error {
    move |e| std::io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn named(name: &str) -> LinkMessage {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_owned()));
    m
}

impl Rtnl {
    /// `ip link add NAME type veth peer name PEER [netns NS]`: PEER goes straight into the
    /// namespace `peer_ns` is a descriptor of, when given.
    pub fn create_veth(
        &mut self,
        name: &str,
        peer: &str,
        peer_ns: Option<BorrowedFd>,
    ) -> std::io::Result<()> {
        let mut p = named(peer);
        if let Some(fd) = peer_ns {
            p.attributes.push(LinkAttribute::NetNsFd(fd.as_raw_fd()));
        }
        let mut m = named(name);
        m.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p))),
        ]));
        self.ask(RouteNetlinkMessage::NewLink(m), CREATE)
            .map(drop)
            .map_err(err(format!(
                "ip link add {name} type veth peer name {peer}"
            )))
    }

    /// `ip link add NAME type bridge`.
    pub fn create_bridge(&mut self, name: &str) -> std::io::Result<()> {
        let mut m = named(name);
        m.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        self.ask(RouteNetlinkMessage::NewLink(m), CREATE)
            .map(drop)
            .map_err(err(format!("ip link add {name} type bridge")))
    }

    /// `ip link set NAME address MAC`.
    pub fn set_mac(&mut self, name: &str, mac: [u8; 6]) -> std::io::Result<()> {
        let mut m = named(name);
        m.attributes.push(LinkAttribute::Address(mac.to_vec()));
        self.ask(RouteNetlinkMessage::SetLink(m), NLM_F_ACK)
            .map(drop)
            .map_err(err(format!("ip link set {name} address ...")))
    }

    /// `ip link set NAME alias TEXT`: a note the kernel keeps on the link, gone with it.
    pub fn set_alias(&mut self, name: &str, text: &str) -> std::io::Result<()> {
        let mut m = named(name);
        m.attributes.push(LinkAttribute::IfAlias(text.to_owned()));
        self.ask(RouteNetlinkMessage::SetLink(m), NLM_F_ACK)
            .map(drop)
            .map_err(err(format!("ip link set {name} alias {text}")))
    }

    /// `ip link set NAME master BRIDGE`.
    pub fn set_master(&mut self, name: &str, bridge: &str) -> std::io::Result<()> {
        let what = format!("ip link set {name} master {bridge}");
        let links = self.links()?;
        let Some(b) = links.iter().find(|l| l.name == bridge) else {
            return Err(std::io::Error::other(format!("{what}: no such bridge")));
        };
        let mut m = named(name);
        m.attributes.push(LinkAttribute::Controller(b.index));
        self.ask(RouteNetlinkMessage::SetLink(m), NLM_F_ACK)
            .map(drop)
            .map_err(err(what))
    }

    /// `ip route add DST via GATEWAY` (DST None: default).
    pub fn add_route(
        &mut self,
        dst: Option<(Ipv4Addr, u8)>,
        gateway: Ipv4Addr,
    ) -> std::io::Result<()> {
        let mut m = RouteMessage::default();
        m.header.address_family = netlink_packet_route::AddressFamily::Inet;
        m.header.table = 254;
        m.header.protocol = RouteProtocol::Boot;
        m.header.scope = RouteScope::Universe;
        m.header.kind = RouteType::Unicast;
        if let Some((d, p)) = dst {
            m.header.destination_prefix_length = p;
            m.attributes
                .push(RouteAttribute::Destination(RouteAddress::Inet(d)));
        }
        m.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
        let shown = dst.map_or("default".to_owned(), |(d, p)| format!("{d}/{p}"));
        self.ask(RouteNetlinkMessage::NewRoute(m), CREATE)
            .map(drop)
            .map_err(err(format!("ip route add {shown} via {gateway}")))
    }

    /// `ip -4 neigh`: the IPv4 entries that have a MAC.
    pub fn neighbours(&mut self) -> std::io::Result<Vec<Neighbour>> {
        let answer = self.ask(
            RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default()),
            NLM_F_DUMP,
        )?;
        let mut out = Vec::new();
        for m in answer {
            let RouteNetlinkMessage::NewNeighbour(n) = m else {
                continue;
            };
            let mut addr = None;
            let mut mac = None;
            for a in &n.attributes {
                match a {
                    NeighbourAttribute::Destination(NeighbourAddress::Inet(v)) => addr = Some(*v),
                    NeighbourAttribute::LinkLayerAddress(b) => {
                        mac = Some(
                            b.iter()
                                .map(|x| format!("{x:02x}"))
                                .collect::<Vec<_>>()
                                .join(":"),
                        )
                    }
                    _ => {}
                }
            }
            if let (Some(addr), Some(mac)) = (addr, mac) {
                out.push(Neighbour {
                    index: n.header.ifindex,
                    addr,
                    mac,
                });
            }
        }
        Ok(out)
    }
}
