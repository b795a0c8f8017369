//! Verifying ch07_network from outside, on what the kernel holds and on real TCP (see
//! observe.rs for the run). Every check reads CMD's namespace or the stand-in host's
//! over netlink, or a token that went through; nothing reads the learner's source.

use std::net::Ipv4Addr;

use super::observe::{self, CONTAINER, Cmd, FAR, HOST, NAME, PREFIX, Run, STATUS};
use crate::error::Result;
use crate::kernel::child::Exit;
use crate::kernel::net::{Link, Snapshot};
use crate::verify::probe::net::changes;
use crate::verify::run::Finished;
use crate::verify::{Check, CheckId, Context, all_failed};

crate::checks! {
    /// The checks of chapter 7, in report order.
    pub enum Ch07 {
        NetNs => "network namespace: CMD runs in a new one, not the one the program was started in",
        Lo => "lo: up inside CMD's namespace",
        Eth0 => "eth0: inside, up, with the container address",
        Route => "default route: inside, via the host address",
        Peer => "the pair: eth0's peer is NAME, in the namespace the program was started in",
        HostEnd => "NAME: outside, up, with the host address",
        Out => "TCP out: CMD reaches a server at the host address, and one beyond the subnet",
        In => "TCP in: a server in CMD's namespace is reachable from the host's side",
        Exit => "exit: the program exits with CMD's status",
        Gone => "cleanup: after CMD ends, NAME is gone (even while its namespace is held open)",
        Host => "host: the real host's links, addresses and routes are as they were",
    }
}

pub fn verify(cx: &Context) -> Result<Vec<Check>> {
    let run = observe::observe(cx)?;
    Ok(judge(cx.source(), &|f| cx.describe(f), &run))
}

fn judge(source: &str, describe: &dyn Fn(&Finished) -> String, run: &Run) -> Vec<Check> {
    let Some(cmd) = &run.cmd else {
        let mut checks = all_failed::<Ch07>(not_started(source, describe, run));
        // What a program that never got CMD up left behind is still named; that it left
        // nothing proves nothing, and is not counted as a pass.
        let n = checks.len();
        for (i, c) in [(n - 2, judge_gone(run)), (n - 1, judge_host(run))] {
            if !c.passed() {
                checks[i] = c;
            }
        }
        return checks;
    };
    vec![
        judge_netns(cmd),
        judge_lo(cmd),
        judge_eth0(cmd),
        judge_route(cmd),
        judge_peer(cmd),
        judge_host_end(cmd),
        judge_out(cmd),
        judge_in(cmd),
        judge_exit(describe, run),
        judge_gone(run),
        judge_host(run),
    ]
}

fn cidr(a: Ipv4Addr) -> String {
    format!("{a}/{PREFIX}")
}

fn addrs(s: &Snapshot, l: &Link) -> String {
    let v: Vec<String> = s
        .addrs_of(l.index)
        .iter()
        .map(|a| format!("{}/{}", a.addr, a.prefix))
        .collect();
    if v.is_empty() {
        "no address".to_owned()
    } else {
        v.join(", ")
    }
}

fn has(s: &Snapshot, l: &Link, a: Ipv4Addr) -> bool {
    s.addrs_of(l.index)
        .iter()
        .any(|x| x.addr == a && x.prefix == PREFIX)
}

fn not_started(source: &str, describe: &dyn Fn(&Finished) -> String, run: &Run) -> Check {
    let how = describe(&run.finished);
    let said = format!(
        "{}\n{}",
        run.finished.stderr,
        run.finished.stdout.join("\n")
    );
    let hint = if how.contains("todo!()") {
        format!("write the part that todo!() names in {source}; `learn-containers hint 7` helps")
    } else if said.contains("ENETUNREACH") || said.contains("Network is unreachable") {
        "ENETUNREACH on the route: the kernel takes a route via a gateway only once an \
         address of its subnet is on a link that is up. Give eth0 its address and set it \
         up first, then the default route"
            .to_owned()
    } else if said.contains("no link eth0") {
        "there is no eth0 in CMD's namespace: the pair's peer must be made in (or moved to) \
         the network namespace of the child, the process that becomes CMD"
            .to_owned()
    } else if said.contains("File exists") || said.contains("EEXIST") {
        format!(
            "EEXIST: something of that name or address is already there; the peer belongs in \
             the child's namespace, and {NAME} is made once"
        )
    } else {
        format!("fix what the message names in {source}")
    };
    Ch07::NetNs
        .fail(format!(
            "`{source} --veth {NAME} ... -- bash -c SCRIPT` {how}: CMD never printed READY"
        ))
        .hint(hint)
}

fn judge_netns(c: &Cmd) -> Check {
    if c.cmd_ns != c.program_ns {
        Ch07::NetNs.pass(format!(
            "CMD (pid {}) in net:[{}], the program in net:[{}]",
            c.pid, c.cmd_ns, c.program_ns
        ))
    } else {
        Ch07::NetNs
            .fail(format!(
                "CMD is in the program's own network namespace, net:[{}]",
                c.cmd_ns
            ))
            .hint("the child must call unshare(CLONE_NEWNET) before it execs CMD")
    }
}

fn judge_lo(c: &Cmd) -> Check {
    match c.inside.link("lo") {
        Some(l) if l.up => Ch07::Lo.pass("lo is up"),
        Some(_) => Ch07::Lo
            .fail("lo is down: 127.0.0.1 is unreachable inside (a new namespace's lo starts down)")
            .expected("lo up")
            .hint("set lo up in the child, inside the new namespace (`ip link set lo up`)"),
        None => Ch07::Lo.fail("no lo inside CMD's namespace"),
    }
}

fn judge_eth0(c: &Cmd) -> Check {
    let Some(eth0) = c.inside.link("eth0") else {
        let hint = if c.outside.link("eth0").is_some() {
            "eth0 is in the namespace the program was started in: the peer was never moved \
             into CMD's namespace (make it there: the PID of the child, not the program's own)"
        } else {
            "make the pair with its peer named eth0 in the child's namespace"
        };
        return Ch07::Eth0
            .fail(format!(
                "no eth0 inside; CMD's namespace has {}",
                c.inside.link_names()
            ))
            .hint(hint);
    };
    if has(&c.inside, eth0, HOST) && !has(&c.inside, eth0, CONTAINER) {
        return Ch07::Eth0
            .fail(format!(
                "eth0 has {}, the host address",
                addrs(&c.inside, eth0)
            ))
            .expected(cidr(CONTAINER))
            .hint(format!(
                "the addresses are on the wrong ends: --container-addr goes on eth0 inside, \
                 --host-addr on {NAME} outside"
            ));
    }
    if !has(&c.inside, eth0, CONTAINER) {
        return Ch07::Eth0
            .fail(format!("eth0 has {}", addrs(&c.inside, eth0)))
            .expected(cidr(CONTAINER))
            .hint("add --container-addr to eth0, from inside the child's namespace");
    }
    if !eth0.up {
        return Ch07::Eth0
            .fail(format!("eth0 has {} but is down", cidr(CONTAINER)))
            .hint("set eth0 up inside, after its address");
    }
    Ch07::Eth0.pass(format!("eth0 up, {}", cidr(CONTAINER)))
}

fn judge_route(c: &Cmd) -> Check {
    if c.inside.link("eth0").is_none() {
        return Ch07::Route.not_judged("there is no eth0 inside for a route to go through");
    }
    match c.inside.default_route() {
        Some(r) if r.gateway == Some(HOST) => Ch07::Route.pass(format!("default via {HOST}")),
        Some(r) => Ch07::Route
            .fail(format!("the default route goes via {:?}", r.gateway))
            .expected(format!("default via {HOST}")),
        None => Ch07::Route
            .fail(format!(
                "no default route inside: only {}/{PREFIX}, eth0's own subnet, is reachable",
                Ipv4Addr::from(u32::from(CONTAINER) & !(u32::MAX >> PREFIX))
            ))
            .expected(format!("default via {HOST}"))
            .hint("add the default route via --host-addr's address, once eth0 has its address and is up"),
    }
}

fn judge_peer(c: &Cmd) -> Check {
    let name = c.outside.link(NAME);
    let eth0 = c.inside.link("eth0");
    match (name, eth0) {
        (Some(n), Some(e))
            if e.peer == Some(n.index) && n.peer == Some(e.index) && e.netnsid.is_some() =>
        {
            Ch07::Peer.pass(format!(
                "eth0 (index {}) is paired with {NAME} (index {}) in the other namespace",
                e.index, n.index
            ))
        }
        (Some(n), _)
            if c.outside
                .links
                .iter()
                .any(|l| l.name != NAME && Some(l.index) == n.peer) =>
        {
            let peer = c
                .outside
                .links
                .iter()
                .find(|l| Some(l.index) == n.peer)
                .unwrap();
            Ch07::Peer
                .fail(format!(
                    "{NAME}'s peer, {}, is in the namespace the program was started in, next to it",
                    peer.name
                ))
                .hint("the peer was never moved into CMD's namespace: make it with the child's PID (IFLA_NET_NS_PID), or move it there")
        }
        (None, _) => Ch07::Peer
            .fail(format!(
                "no {NAME} in the namespace the program was started in; it has {}",
                c.outside.link_names()
            ))
            .hint(format!(
                "{NAME} stays outside: only its peer goes into CMD's namespace"
            )),
        _ => Ch07::Peer.fail(format!(
            "eth0 and {NAME} are not the two ends of one veth pair"
        )),
    }
}

fn judge_host_end(c: &Cmd) -> Check {
    let Some(n) = c.outside.link(NAME) else {
        return Ch07::HostEnd.not_judged(&format!("there is no {NAME} outside"));
    };
    if has(&c.outside, n, CONTAINER) && !has(&c.outside, n, HOST) {
        return Ch07::HostEnd
            .fail(format!(
                "{NAME} has {}, the container address",
                addrs(&c.outside, n)
            ))
            .expected(cidr(HOST))
            .hint("the addresses are on the wrong ends: --host-addr goes on NAME, outside");
    }
    if !has(&c.outside, n, HOST) {
        return Ch07::HostEnd
            .fail(format!("{NAME} has {}", addrs(&c.outside, n)))
            .expected(cidr(HOST));
    }
    if !n.up {
        return Ch07::HostEnd
            .fail(format!(
                "{NAME} has {} but is down: no frame crosses the pair",
                cidr(HOST)
            ))
            .hint("set NAME up too: a veth carries nothing until both ends are up");
    }
    Ch07::HostEnd.pass(format!("{NAME} up, {}", cidr(HOST)))
}

fn judge_out(c: &Cmd) -> Check {
    let from = |t: &str| c.heard.iter().find(|(tok, _)| tok == t).map(|(_, ip)| *ip);
    match (from("near"), from("far")) {
        (Some(a), Some(b)) if a == CONTAINER && b == CONTAINER => Ch07::Out.pass(format!(
            "tokens to {HOST} and to {FAR} arrived, from {CONTAINER}"
        )),
        (Some(_), None) => Ch07::Out
            .fail(format!(
                "the token to {HOST} arrived, the one to {FAR} (beyond the subnet) did not"
            ))
            .hint("without a default route CMD reaches only its own subnet"),
        (Some(a), _) | (None, Some(a)) => {
            Ch07::Out.fail(format!("a token arrived from {a}, not from {CONTAINER}"))
        }
        (None, None) => Ch07::Out.fail(format!(
            "nothing CMD sent reached the server at {HOST}:{} in the stand-in host",
            observe::PORT_OUT
        )),
    }
}

fn judge_in(c: &Cmd) -> Check {
    match &c.inbound {
        Ok(_) => Ch07::In.pass(format!(
            "a token from the host's side reached {CONTAINER} inside"
        )),
        Err(e) => Ch07::In.fail(format!("from the stand-in host to {CONTAINER}: {e}")),
    }
}

fn judge_exit(describe: &dyn Fn(&Finished) -> String, run: &Run) -> Check {
    if run.finished.exit == Exit::Code(STATUS) {
        Ch07::Exit.pass(format!("CMD exited {STATUS}, and so did the program"))
    } else {
        Ch07::Exit
            .fail(format!(
                "CMD exited {STATUS}; the program {}",
                describe(&run.finished)
            ))
            .expected(format!("exit status {STATUS}"))
    }
}

fn judge_gone(run: &Run) -> Check {
    match run.after.link(NAME) {
        None => Ch07::Gone.pass(format!("{NAME} is gone once the program ended")),
        Some(_) => Ch07::Gone
            .fail(format!(
                "{NAME} is still in the stand-in host after the program ended ({})",
                run.after.link_names()
            ))
            .hint("the pair was left behind: delete NAME after CMD ends. The kernel removes a veth with its namespace only once nothing holds that namespace, and never at once"),
    }
}

fn judge_host(run: &Run) -> Check {
    let changed = changes(&run.host_before, &run.host_after);
    if changed.is_empty() {
        Ch07::Host.pass(format!(
            "{} links, {} addresses, {} routes, as before",
            run.host_after.links.len(),
            run.host_after.addrs.len(),
            run.host_after.routes.len()
        ))
    } else {
        Ch07::Host.fail(format!("the host changed: {}", changed.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::net::{Addr, Route};
    use std::time::Duration;

    fn link(index: u32, name: &str, peer: Option<u32>, netnsid: Option<i32>) -> Link {
        Link {
            index,
            name: name.to_owned(),
            up: true,
            kind: peer.map(|_| "veth".to_owned()),
            peer,
            netnsid,
            master: None,
            alias: None,
        }
    }

    fn addr(index: u32, addr: Ipv4Addr) -> Addr {
        Addr {
            index,
            addr,
            prefix: PREFIX,
        }
    }

    /// What a correct program shows.
    fn good() -> Run {
        let inside = Snapshot {
            links: vec![link(1, "lo", None, None), link(2, "eth0", Some(5), Some(0))],
            addrs: vec![addr(1, Ipv4Addr::LOCALHOST), addr(2, CONTAINER)],
            routes: vec![Route {
                dst: None,
                gateway: Some(HOST),
                oif: Some(2),
            }],
        };
        let outside = Snapshot {
            links: vec![link(1, "lo", None, None), link(5, NAME, Some(2), Some(1))],
            addrs: vec![addr(5, HOST)],
            routes: vec![],
        };
        let host = Snapshot {
            links: vec![link(1, "lo", None, None), link(2, "ens3", None, None)],
            addrs: vec![addr(2, Ipv4Addr::new(192, 168, 1, 9))],
            routes: vec![Route {
                dst: None,
                gateway: Some(Ipv4Addr::new(192, 168, 1, 1)),
                oif: Some(2),
            }],
        };
        Run {
            finished: Finished {
                exit: Exit::Code(STATUS),
                stdout: vec!["READY 42".to_owned()],
                stderr: String::new(),
                took: Duration::from_millis(50),
            },
            cmd: Some(Cmd {
                pid: 42,
                program_ns: 100,
                cmd_ns: 200,
                inside,
                outside: outside.clone(),
                heard: vec![
                    ("near".to_owned(), CONTAINER),
                    ("far".to_owned(), CONTAINER),
                ],
                inbound: Ok(HOST),
            }),
            after: Snapshot {
                links: vec![link(1, "lo", None, None)],
                ..Snapshot::default()
            },
            host_before: host.clone(),
            host_after: host,
        }
    }

    fn judged(run: &Run) -> Vec<Check> {
        judge("src/network.rs", &|f| format!("ended with {}", f.exit), run)
    }

    fn failing(run: &Run) -> Vec<String> {
        judged(run)
            .iter()
            .filter(|c| !c.passed())
            .map(|c| c.name.split(':').next().unwrap().to_owned())
            .collect()
    }

    fn the(run: &Run, id: Ch07) -> Check {
        judged(run)
            .into_iter()
            .find(|c| c.name == id.title())
            .unwrap()
    }

    fn cmd(run: &mut Run) -> &mut Cmd {
        run.cmd.as_mut().unwrap()
    }

    #[test]
    fn a_correct_run_passes_every_check_in_order() {
        let checks = judged(&good());
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        let titles: Vec<&str> = Ch07::ALL.iter().map(|c| c.title()).collect();
        assert_eq!(names, titles);
        assert!(checks.iter().all(Check::passed), "{checks:#?}");
    }

    #[test]
    fn names_are_unique() {
        let mut t: Vec<&str> = Ch07::ALL.iter().map(|c| c.title()).collect();
        t.sort();
        t.dedup();
        assert_eq!(t.len(), Ch07::ALL.len());
    }

    #[test]
    fn cmd_in_the_programs_namespace_fails() {
        let mut run = good();
        cmd(&mut run).cmd_ns = 100;
        assert_eq!(failing(&run), ["network namespace"]);
    }

    #[test]
    fn lo_left_down_is_named() {
        let mut run = good();
        cmd(&mut run).inside.links[0].up = false;
        assert_eq!(failing(&run), ["lo"]);
        assert!(the(&run, Ch07::Lo).saw.unwrap().contains("lo is down"));
    }

    #[test]
    fn a_peer_never_moved_is_named() {
        let mut run = good();
        let c = cmd(&mut run);
        c.inside.links.truncate(1);
        c.inside.addrs.truncate(1);
        c.inside.routes.clear();
        c.outside.links.push(link(6, "eth0", Some(5), None));
        c.outside.links[1].peer = Some(6);
        c.outside.links[1].netnsid = None;
        c.heard.clear();
        c.inbound = Err("connection timed out".to_owned());
        assert_eq!(
            failing(&run),
            ["eth0", "default route", "the pair", "TCP out", "TCP in"]
        );
        assert!(the(&run, Ch07::Eth0).hint.unwrap().contains("never moved"));
        assert!(the(&run, Ch07::Peer).hint.unwrap().contains("never moved"));
        assert!(the(&run, Ch07::Route).saw.unwrap().contains("not judged"));
    }

    #[test]
    fn addresses_on_the_wrong_ends_are_named() {
        let mut run = good();
        let c = cmd(&mut run);
        c.inside.addrs[1].addr = HOST;
        c.outside.addrs[0].addr = CONTAINER;
        assert_eq!(failing(&run), ["eth0", "NAME"]);
        assert!(the(&run, Ch07::Eth0).hint.unwrap().contains("wrong ends"));
        assert!(
            the(&run, Ch07::HostEnd)
                .saw
                .unwrap()
                .contains("the container address")
        );
    }

    #[test]
    fn no_default_route_is_named() {
        let mut run = good();
        let c = cmd(&mut run);
        c.inside.routes.clear();
        c.heard.retain(|(t, _)| t == "near");
        assert_eq!(failing(&run), ["default route", "TCP out"]);
        assert!(
            the(&run, Ch07::Route)
                .saw
                .unwrap()
                .contains("only 10.77.0.0/24")
        );
        assert!(
            the(&run, Ch07::Out)
                .saw
                .unwrap()
                .contains("beyond the subnet")
        );
    }

    #[test]
    fn an_interface_not_up_is_named() {
        let mut run = good();
        cmd(&mut run).outside.links[1].up = false;
        assert_eq!(failing(&run), ["NAME"]);
        assert!(the(&run, Ch07::HostEnd).saw.unwrap().contains("is down"));
        let mut run = good();
        cmd(&mut run).inside.links[1].up = false;
        assert!(the(&run, Ch07::Eth0).saw.unwrap().contains("is down"));
    }

    #[test]
    fn a_pair_left_behind_is_named() {
        let mut run = good();
        run.after.links.push(link(5, NAME, Some(2), Some(1)));
        assert_eq!(failing(&run), ["cleanup"]);
        assert!(the(&run, Ch07::Gone).hint.unwrap().contains("left behind"));
    }

    #[test]
    fn the_wrong_exit_status_and_a_changed_host_are_named() {
        let mut run = good();
        run.finished.exit = Exit::Code(0);
        run.host_after.addrs.clear();
        assert_eq!(failing(&run), ["exit", "host"]);
        assert!(the(&run, Ch07::Host).saw.unwrap().contains("went away"));
    }

    #[test]
    fn a_todo_is_named_first_and_the_rest_still_judged() {
        let mut run = good();
        run.cmd = None;
        run.finished.exit = Exit::Code(101);
        let checks = judge(
            "src/network.rs",
            &|_| "stopped at the todo!() in src/network.rs".to_owned(),
            &run,
        );
        assert!(checks[0].hint.as_deref().unwrap().contains("todo!()"));
        assert!(checks[1].saw.as_deref().unwrap().contains("not run"));
        // Leaving nothing behind is no pass for a program that did nothing.
        assert!(checks.iter().all(|c| !c.passed()));
        run.after.links.push(link(5, NAME, Some(2), Some(1)));
        let checks = judged(&run);
        assert!(checks[9].hint.as_deref().unwrap().contains("left behind"));
    }
}
