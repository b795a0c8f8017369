//! Network namespaces and what is in them, over rtnetlink (the netlink-packet-route
//! crate on a plain synchronous netlink-sys socket): [`rtnl`] reads links, addresses and
//! routes and makes or removes them; [`sandbox`] holds network namespaces of our own
//! open, in which lessons and verifiers work, never in the host's.

pub mod rtnl;
pub mod sandbox;

pub use rtnl::{Addr, Link, Route, Rtnl, Snapshot};
pub use sandbox::NetSandbox;
