//! Chapter 7 · Network namespace: a veth pair from the host into the container
//!
//! Read the chapter first: book/src/ch07-network.md, or watch `learn-containers lesson 7`.
//!
//! This file is where you work in chapter 7. The program, src/bin/ch07_network.rs (given,
//! nothing to change there), reads its arguments and forks; it calls the four functions
//! below, each in the process and at the moment its comment names:
//!
//! ```text
//!   ch07_network --veth NAME --host-addr A.B.C.D/P --container-addr E.F.G.H/P -- CMD [ARGS]...
//!       Run CMD in a new network namespace in which
//!         lo    is up;
//!         eth0  is one end of a veth pair, with the container address, up, and the
//!               default route goes via the host address;
//!       while the other end, NAME, stays in the namespace the program was started in,
//!       with the host address, up. When CMD ends, NAME is gone (and eth0 with it), and
//!       the program exits with CMD's exit status (128+N if signal N killed it).
//!
//!   Example, as root:
//!       ch07_network --veth lc-demo0 --host-addr 10.7.0.1/24 --container-addr 10.7.0.2/24 \
//!           -- ping -c1 10.7.0.1
//! ```
//!
//! The order the program calls them in:
//!
//! ```text
//!   child:   new_network_namespace()    ──ready──▶   parent:  plug_in(veth, child)
//!   child:   configure_inside(veth)     ◀──go────    (the parent waits for CMD)
//!   child:   exec CMD                                parent:  unplug(veth)
//! ```
//!
//! The netlink requests themselves (`ip link add ...` as a message to the kernel) are
//! given in src/netlink.rs: `Netlink::open`, `create_veth`, `set_up`, `add_address`,
//! `add_default_route`, `delete_link`. You decide which of them run, in which process,
//! and in which order. A netlink socket acts in the network namespace it was opened in.
//!
//! The book's sections "A namespace with nothing in it" and "A cable between two
//! namespaces" explain each step; man 7 network_namespaces, man 4 veth, man 2 unshare
//! (CLONE_NEWNET), man 7 rtnetlink.
//!
//! Work where you see todo!(). Check your work with `learn-containers verify 7`;
//! stuck? `learn-containers hint 7`.

#[allow(unused_imports)]
use crate::netlink::{Cidr, Netlink};
#[allow(unused_imports)]
use nix::sched::{CloneFlags, unshare};
use nix::unistd::Pid;

/// What the command line asks for: the host end's name and the two addresses.
#[derive(Debug, Clone)]
pub struct Veth {
    /// NAME: the end that stays outside (at most 15 bytes, the kernel's limit).
    pub name: String,
    /// The host end's address, and the container's gateway.
    pub host: Cidr,
    /// eth0's address, inside.
    pub container: Cidr,
}

/// The name the container's end has inside its namespace.
pub const INSIDE: &str = "eth0";

// ANCHOR: new_network_namespace
/// In the child, first: moves the calling process into a new network namespace, where
/// there is nothing but a `lo` that is down. Returns the failure's message.
pub fn new_network_namespace() -> Result<(), String> {
    // One call: unshare(2) with CLONE_NEWNET (nix::sched::unshare).
    todo!("unshare(CLONE_NEWNET)")
}
// ANCHOR_END: new_network_namespace

// ANCHOR: plug_in
/// In the parent, once the child is in its new namespace: the veth pair, NAME here and
/// INSIDE in the child's namespace, and NAME configured (the host address, up).
pub fn plug_in(veth: &Veth, child: Pid) -> Result<(), String> {
    // A netlink socket here, in the namespace the program was started in, then three
    // requests: the pair (its peer made in the namespace of process `child`), NAME's
    // address, NAME up.
    let _ = (veth, child);
    todo!("Netlink::open, create_veth, add_address, set_up")
}
// ANCHOR_END: plug_in

// ANCHOR: configure_inside
/// In the child, once the parent has plugged the pair in, before exec: `lo` up; INSIDE
/// with the container address, up; the default route via the host address.
pub fn configure_inside(veth: &Veth) -> Result<(), String> {
    // A netlink socket opened here acts inside the child's namespace. Mind the order the
    // kernel needs: a gateway must be reachable through an address on a link that is up
    // before a route may go through it (else ENETUNREACH).
    let _ = veth;
    todo!("lo up, INSIDE's address, INSIDE up, the default route")
}
// ANCHOR_END: configure_inside

// ANCHOR: unplug
/// In the parent, after CMD has ended: the pair removed. Deleting one end deletes the
/// other; the kernel also removes it when the last process of CMD's namespace is gone,
/// but not while anything else still holds that namespace open, and never at once.
pub fn unplug(veth: &Veth) -> Result<(), String> {
    let _ = veth;
    todo!("delete NAME")
}
// ANCHOR_END: unplug
