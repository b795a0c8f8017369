//! What a verifier of network namespaces observes: TCP through a namespace it is not in
//! (a server listening in one, a client connecting from another), and the host's own
//! links, addresses and routes, to say they are as they were. A socket belongs to the
//! network namespace it was made in, so each is made by a short-lived thread that has
//! joined that namespace; this process stays where it is.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::kernel::net::{Rtnl, Snapshot, within as in_netns};

/// A TCP listener on `port` of every address of the namespace `ns`.
pub fn listen_in(ns: &Path, port: u16) -> std::io::Result<TcpListener> {
    in_netns(ns, || TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)))
}

/// Connects from the namespace `ns` to `to`, sends `token`, within `timeout`.
pub fn send_from(ns: &Path, to: SocketAddr, token: &str, timeout: Duration) -> Result<(), String> {
    let stream = in_netns(ns, || TcpStream::connect_timeout(&to, timeout))
        .map_err(|e| format!("connect to {to}: {e}"))?;
    (&stream)
        .write_all(format!("{token}\n").as_bytes())
        .map_err(|e| format!("send to {to}: {e}"))
}

/// What a server heard: each token, with the address it came from.
pub type Heard = Vec<(String, Ipv4Addr)>;

/// Accepts on `listener` until `deadline`, or until the first token when `one`.
fn accept_tokens(listener: &TcpListener, deadline: Instant, one: bool, stop: &AtomicBool) -> Heard {
    let _ = listener.set_nonblocking(true);
    let mut heard = Vec::new();
    loop {
        match listener.accept() {
            Ok((mut s, from)) => {
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut text = String::new();
                let _ = s.read_to_string(&mut text);
                let ip = match from.ip() {
                    std::net::IpAddr::V4(v) => v,
                    std::net::IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
                };
                heard.push((text.trim().to_owned(), ip));
                if one {
                    return heard;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline || stop.load(Ordering::Relaxed) {
                    return heard;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return heard,
        }
    }
}

/// A server in the background: it takes every token sent until stopped.
pub struct Server {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Heard>,
}

impl Server {
    pub fn start(listener: TcpListener, limit: Duration) -> Server {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            accept_tokens(&listener, Instant::now() + limit, false, &flag)
        });
        Server { stop, thread }
    }

    /// Stops it (after taking what is already queued) and says what it heard.
    pub fn heard(self) -> Heard {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// A token sent from namespace `from` to a listener in another, at `to`: whether it
/// arrived, and from which address; or why not.
pub fn reach(
    listener: &TcpListener,
    from: &Path,
    to: SocketAddr,
    token: &str,
) -> Result<Ipv4Addr, String> {
    send_from(from, to, token, Duration::from_secs(2))?;
    let stop = AtomicBool::new(false);
    let heard = accept_tokens(
        listener,
        Instant::now() + Duration::from_secs(2),
        true,
        &stop,
    );
    match heard.first() {
        Some((t, ip)) if t == token => Ok(*ip),
        Some((t, _)) => Err(format!("the server heard {t:?}, not the token")),
        None => Err("the connection went somewhere else: the server heard nothing".to_owned()),
    }
}

/// The links, addresses and routes of the namespace this process is in (the host's).
pub fn host_snapshot() -> std::io::Result<Snapshot> {
    Rtnl::open()?.snapshot()
}

/// What changed between two snapshots, in `ip` terms; empty if nothing did.
pub fn changes(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    for l in &after.links {
        if !before
            .links
            .iter()
            .any(|b| b.index == l.index && b.name == l.name)
        {
            out.push(format!("link {} ({}) appeared", l.name, l.index));
        }
    }
    for l in &before.links {
        if !after
            .links
            .iter()
            .any(|a| a.index == l.index && a.name == l.name)
        {
            out.push(format!("link {} ({}) went away", l.name, l.index));
        }
    }
    for a in &after.addrs {
        if !before.addrs.contains(a) {
            out.push(format!("address {}/{} appeared", a.addr, a.prefix));
        }
    }
    for a in &before.addrs {
        if !after.addrs.contains(a) {
            out.push(format!("address {}/{} went away", a.addr, a.prefix));
        }
    }
    let route = |r: &crate::kernel::net::Route| match r.dst {
        None => format!("default via {:?}", r.gateway),
        Some((d, p)) => format!("{d}/{p}"),
    };
    for r in &after.routes {
        if !before.routes.contains(r) {
            out.push(format!("route {} appeared", route(r)));
        }
    }
    for r in &before.routes {
        if !after.routes.contains(r) {
            out.push(format!("route {} went away", route(r)));
        }
    }
    out
}
