//! Chapter 7 · Network namespace: a veth pair from the host into the container
//!
//! The reference answer. The program, src/bin/ch07_network.rs, calls these four
//! functions in this order:
//!
//! ```text
//!   child:   new_network_namespace()    ──ready──▶   parent:  plug_in(veth, child)
//!   child:   configure_inside(veth)     ◀──go────    (the parent waits for CMD)
//!   child:   exec CMD                                parent:  unplug(veth)
//! ```

use crate::netlink::{Cidr, Netlink};
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
    unshare(CloneFlags::CLONE_NEWNET).map_err(|e| format!("unshare(CLONE_NEWNET): {e}"))
}
// ANCHOR_END: new_network_namespace

// ANCHOR: plug_in
/// In the parent, once the child is in its new namespace: the veth pair, NAME here and
/// INSIDE in the child's namespace, and NAME configured (the host address, up).
pub fn plug_in(veth: &Veth, child: Pid) -> Result<(), String> {
    let nl = Netlink::open()?;
    nl.create_veth(&veth.name, INSIDE, child)?;
    nl.add_address(&veth.name, &veth.host)?;
    nl.set_up(&veth.name)
}
// ANCHOR_END: plug_in

// ANCHOR: configure_inside
/// In the child, once the parent has plugged the pair in, before exec: `lo` up; INSIDE
/// with the container address, up; the default route via the host address.
pub fn configure_inside(veth: &Veth) -> Result<(), String> {
    let nl = Netlink::open()?;
    nl.set_up("lo")?;
    nl.add_address(INSIDE, &veth.container)?;
    nl.set_up(INSIDE)?;
    nl.add_default_route(veth.host.addr)
}
// ANCHOR_END: configure_inside

// ANCHOR: unplug
/// In the parent, after CMD has ended: the pair removed. Deleting one end deletes the
/// other, at once; waiting for the kernel to remove it with CMD's namespace would leave
/// it behind while anything else holds that namespace.
pub fn unplug(veth: &Veth) -> Result<(), String> {
    Netlink::open()?.delete_link(&veth.name)
}
// ANCHOR_END: unplug
