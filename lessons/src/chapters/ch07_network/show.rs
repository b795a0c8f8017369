//! What lesson 7 shows of a namespace: its links as `ip -br link` would, and a TCP
//! token sent from one namespace to a server in another.

use std::net::SocketAddr;

use crate::error::Result;
use crate::kernel::net::{NetSandbox, Snapshot};
use crate::present::Presenter;
use crate::verify::probe::net;

/// `ip -br link` and `ip -br addr` of a snapshot, one line per link, as the kernel has it.
pub fn show(p: &mut dyn Presenter, who: &str, s: &Snapshot) {
    for l in &s.links {
        let addrs: Vec<String> = s
            .addrs_of(l.index)
            .iter()
            .map(|a| format!("{}/{}", a.addr, a.prefix))
            .collect();
        let peer = match (l.peer, l.netnsid) {
            (Some(i), Some(ns)) => format!(" peer ifindex {i} in netnsid {ns}"),
            (Some(i), None) if l.kind.is_some() => format!(" peer ifindex {i}"),
            _ => String::new(),
        };
        p.kernel(&format!(
            "{who}: {}: {} {}{}{}{}",
            l.index,
            l.name,
            if l.up { "UP" } else { "DOWN" },
            l.kind
                .as_deref()
                .map(|k| format!(" ({k})"))
                .unwrap_or_default(),
            if addrs.is_empty() {
                String::new()
            } else {
                format!(" {}", addrs.join(" "))
            },
            peer
        ));
    }
}

/// A server in `at`, a client in `from` to `to`: one line saying what happened.
pub fn tcp(listen: &NetSandbox, port: u16, from: &NetSandbox, to: SocketAddr) -> String {
    let result = net::listen_in(&listen.ns_path(), port)
        .map_err(|e| e.to_string())
        .and_then(|l| net::reach(&l, &from.ns_path(), to, "token"));
    match result {
        Ok(src) => format!("TCP to {to}: the server got the token, from {src}"),
        Err(e) => format!("TCP to {to}: {e}"),
    }
}

/// A snapshot of the namespace's links, for steps that show them.
pub fn snapshot(s: &NetSandbox) -> Result<Snapshot> {
    Ok(s.rtnl()?.snapshot()?)
}
