//! Chapter 7 · Network namespace: the netlink requests, given
//!
//! `ip link`, `ip addr` and `ip route` are messages on a netlink socket (man 7 netlink,
//! man 7 rtnetlink). Each function below sends one request, as `ip` would, and waits for
//! the kernel's answer: nothing, or an errno. They act in the network namespace the
//! calling process is in when it calls [`Netlink::open`]: a socket belongs to the
//! namespace it was made in, for as long as it lives.
//!
//! ```text
//!   Netlink::open()                      socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)
//!   create_veth(NAME, PEER, PID)         ip link add NAME type veth peer name PEER netns PID
//!   set_up(NAME)                         ip link set NAME up
//!   add_address(NAME, &cidr)             ip addr add A.B.C.D/P dev NAME
//!   add_default_route(GATEWAY)           ip route add default via GATEWAY
//!   delete_link(NAME)                    ip link del NAME   (a veth goes with its peer)
//! ```
//!
//! Nothing to change here: chapter 7 has you decide which of them run, where, and in which
//! order (src/network.rs).

use std::fmt;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::str::FromStr;

use nix::unistd::Pid;

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const IFLA_IFNAME: u16 = 3;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_PID: u16 = 19;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const RTA_GATEWAY: u16 = 5;

/// An IPv4 address with its prefix length, as `ip addr` writes it: `10.0.0.1/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Cidr, String> {
        let bad = || format!("{s:?} is not an IPv4 address with a prefix, like 10.0.0.1/24");
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr = addr.parse().map_err(|_| bad())?;
        let prefix = prefix.parse().ok().filter(|p| *p <= 32).ok_or_else(bad)?;
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A netlink socket of the NETLINK_ROUTE family, in the network namespace its opener was
/// in.
pub struct Netlink {
    fd: OwnedFd,
    seq: std::cell::Cell<u32>,
}

impl Netlink {
    /// `socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)`.
    pub fn open() -> Result<Netlink, String> {
        // SAFETY: socket(2) takes no pointers; a negative result is checked below.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(format!(
                "socket(AF_NETLINK): {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: fd is a socket just made, owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Netlink {
            fd,
            seq: std::cell::Cell::new(1),
        })
    }

    /// `ip link add NAME type veth peer name PEER netns PID`: a pair of virtual Ethernet
    /// links, NAME here, PEER made directly in the network namespace process PID is in.
    pub fn create_veth(&self, name: &str, peer: &str, pid: Pid) -> Result<(), String> {
        let mut peer_msg = ifinfomsg(0, 0, 0);
        attr(&mut peer_msg, IFLA_IFNAME, &cstr(peer));
        attr(
            &mut peer_msg,
            IFLA_NET_NS_PID,
            &(pid.as_raw() as u32).to_ne_bytes(),
        );
        let mut data = Vec::new();
        attr(&mut data, VETH_INFO_PEER, &peer_msg);
        let mut info = Vec::new();
        attr(&mut info, IFLA_INFO_KIND, b"veth\0");
        attr(&mut info, IFLA_INFO_DATA, &data);
        let mut body = ifinfomsg(0, 0, 0);
        attr(&mut body, IFLA_IFNAME, &cstr(name));
        attr(&mut body, IFLA_LINKINFO, &info);
        self.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &body)
            .map_err(|e| format!("ip link add {name} type veth peer name {peer} netns {pid}: {e}"))
    }

    /// `ip link set NAME up`.
    pub fn set_up(&self, name: &str) -> Result<(), String> {
        let up = libc::IFF_UP as u32;
        let mut body = ifinfomsg(0, up, up);
        attr(&mut body, IFLA_IFNAME, &cstr(name));
        self.request(RTM_NEWLINK, 0, &body)
            .map_err(|e| format!("ip link set {name} up: {e}"))
    }

    /// `ip addr add CIDR dev NAME`.
    pub fn add_address(&self, name: &str, cidr: &Cidr) -> Result<(), String> {
        let what = || format!("ip addr add {cidr} dev {name}");
        let index = index_of(name).map_err(|e| format!("{}: {e}", what()))?;
        let mut body = vec![libc::AF_INET as u8, cidr.prefix, 0, 0];
        body.extend_from_slice(&index.to_ne_bytes());
        attr(&mut body, IFA_LOCAL, &cidr.addr.octets());
        attr(&mut body, IFA_ADDRESS, &cidr.addr.octets());
        self.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &body)
            .map_err(|e| format!("{}: {e}", what()))
    }

    /// `ip route add default via GATEWAY`: the kernel finds the link that reaches it.
    pub fn add_default_route(&self, gateway: Ipv4Addr) -> Result<(), String> {
        // rtmsg: family, dst_len 0 (default), src_len, tos, table main, protocol boot,
        // scope universe, type unicast; flags.
        let mut body = vec![libc::AF_INET as u8, 0, 0, 0, 254, 3, 0, 1];
        body.extend_from_slice(&0u32.to_ne_bytes());
        attr(&mut body, RTA_GATEWAY, &gateway.octets());
        self.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &body)
            .map_err(|e| format!("ip route add default via {gateway}: {e}"))
    }

    /// `ip link del NAME`. Deleting one end of a veth pair deletes the other.
    pub fn delete_link(&self, name: &str) -> Result<(), String> {
        let mut body = ifinfomsg(0, 0, 0);
        attr(&mut body, IFLA_IFNAME, &cstr(name));
        self.request(RTM_DELLINK, 0, &body)
            .map_err(|e| format!("ip link del {name}: {e}"))
    }

    /// Sends one request and reads the kernel's acknowledgement: Ok, or the errno.
    fn request(&self, kind: u16, flags: u16, body: &[u8]) -> Result<(), std::io::Error> {
        let seq = self.seq.get();
        self.seq.set(seq + 1);
        let mut msg = Vec::with_capacity(16 + body.len());
        msg.extend_from_slice(&(16 + body.len() as u32).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK | flags).to_ne_bytes());
        msg.extend_from_slice(&seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(body);
        // SAFETY: msg is a live buffer of msg.len() bytes; the kernel only reads it.
        let sent = unsafe { libc::send(self.fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
        if sent < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut buf = vec![0u8; 8192];
        loop {
            // SAFETY: buf is a live, writable buffer of buf.len() bytes.
            let got =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if got < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let got = &buf[..got as usize];
            // An acknowledgement is an NLMSG_ERROR message with error 0 (or -errno), and
            // the sequence number of the request it answers.
            if got.len() >= 20
                && u16::from_ne_bytes([got[4], got[5]]) == NLMSG_ERROR
                && u32::from_ne_bytes([got[8], got[9], got[10], got[11]]) == seq
            {
                let error = i32::from_ne_bytes([got[16], got[17], got[18], got[19]]);
                return match error {
                    0 => Ok(()),
                    e => Err(std::io::Error::from_raw_os_error(-e)),
                };
            }
        }
    }
}

/// The index of link NAME in the caller's network namespace (if_nametoindex(3)).
fn index_of(name: &str) -> Result<u32, String> {
    let c = std::ffi::CString::new(name).map_err(|_| format!("{name:?}: a NUL in a name"))?;
    // SAFETY: c is a NUL-terminated string that lives across the call.
    match unsafe { libc::if_nametoindex(c.as_ptr()) } {
        0 => Err(format!(
            "no link {name} here ({})",
            std::io::Error::last_os_error()
        )),
        i => Ok(i),
    }
}

/// An ifinfomsg: family unspecified, the link's index (0: found by IFLA_IFNAME), flags
/// and the mask of flags to change.
fn ifinfomsg(index: i32, flags: u32, change: u32) -> Vec<u8> {
    let mut m = vec![0u8; 4];
    m.extend_from_slice(&index.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&change.to_ne_bytes());
    m
}

/// Appends a route attribute (length, type, data), padded to four bytes.
fn attr(to: &mut Vec<u8>, kind: u16, data: &[u8]) {
    to.extend_from_slice(&(4 + data.len() as u16).to_ne_bytes());
    to.extend_from_slice(&kind.to_ne_bytes());
    to.extend_from_slice(data);
    while !to.len().is_multiple_of(4) {
        to.push(0);
    }
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}
