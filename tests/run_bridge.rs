//! `learn-containers run --net bridge -p HOST:CONTAINER` (chapter 7), the one command
//! that changes the host's network. Tier 1: -p without --net bridge, and bad ports, exit
//! 2. Tier 2 (root): two containers at once on the bridge, each serving its published
//! port to a connection made on the host; a container reaching a server beyond the host
//! and seen there with the host's address (the masquerade); a SIGKILLed run, then
//! `clean`. Afterwards the host's links, addresses, routes, nftables ruleset and
//! ip_forward are as they were.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Host, built_rootfs, cli, host_network, privileged, serial, state_dir, text};

#[test]
fn publish_needs_the_bridge_and_two_ports() {
    let _turn = serial();
    let state = state_dir();
    let out = cli(&["run", "-p", "8080:80", "--", "true"], state.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--net bridge"), "{}", text(&out));
    for bad in ["8080", "0:80", "8080:x", "70000:80"] {
        let out = cli(
            &["run", "--net", "bridge", "-p", bad, "--", "true"],
            state.path(),
        );
        assert_eq!(out.status.code(), Some(2), "-p {bad}: {}", text(&out));
        assert!(text(&out).contains("HOST:CONTAINER"), "{}", text(&out));
    }
}

/// `run --net bridge -p PORT:80` with CMD a one-shot server that answers `word`.
fn serve(rootfs: &Path, state: &Path, port: u16, word: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_learn-containers"))
        .args(["run", "--rootfs"])
        .arg(rootfs)
        .args(["--net", "bridge", "-p", &format!("{port}:80"), "--"])
        .args(["sh", "-c", &format!("echo {word} | nc -l -p 80")])
        .env("LEARN_CONTAINERS_STATE", state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Connects to the host's own bridge address at `port` until the container answers.
fn fetch(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut s) = TcpStream::connect(("10.213.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut got = String::new();
            let _ = s.read_to_string(&mut got);
            if !got.is_empty() {
                return got;
            }
        }
        assert!(Instant::now() < deadline, "nothing answered on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn finish(child: Child, what: &str) {
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{what}: {}", text(&out));
}

#[test]
fn two_bridged_containers_serve_their_published_ports_and_leave_nothing() {
    if !privileged("two_bridged_containers_serve_their_published_ports_and_leave_nothing") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let net = host_network();
    let rootfs = built_rootfs();
    let state = state_dir();
    let one = serve(rootfs.path(), state.path(), 18081, "one");
    let two = serve(rootfs.path(), state.path(), 18082, "two");
    assert_eq!(fetch(18081).trim(), "one");
    assert_eq!(fetch(18082).trim(), "two");
    finish(one, "the first container");
    finish(two, "the second container");
    assert_eq!(
        net,
        host_network(),
        "the host's network after two bridged runs"
    );
    before.assert_same(&Host::snapshot(), "two bridged runs");
}

#[test]
fn a_killed_bridged_run_is_undone_by_clean() {
    if !privileged("a_killed_bridged_run_is_undone_by_clean") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let net = host_network();
    let rootfs = built_rootfs();
    let state = state_dir();
    let mut run = serve(rootfs.path(), state.path(), 18083, "killed");
    // Up once the port answers; then the run is killed outright.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !host_network().contains("lc-br0") {
        assert!(Instant::now() < deadline, "no bridge appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    run.kill().unwrap();
    run.wait().unwrap();
    assert_ne!(
        net,
        host_network(),
        "a killed run left nothing to clean: nothing tested"
    );
    let out = cli(&["clean"], state.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("bridge lc-br0"), "{}", text(&out));
    let again = cli(&["clean"], state.path());
    assert_eq!(text(&again).trim(), "nothing to clean", "{}", text(&again));
    assert_eq!(
        net,
        host_network(),
        "the host's network after SIGKILL and clean"
    );
    before.assert_same(&Host::snapshot(), "a killed bridged run, then clean");
}

#[test]
fn a_bridged_container_reaches_beyond_the_host_under_the_hosts_address() {
    if !privileged("a_bridged_container_reaches_beyond_the_host_under_the_hosts_address") {
        return;
    }
    use lessons::kernel::net::{NetSandbox, Rtnl, within};
    use std::net::{Ipv4Addr, TcpListener};
    let _turn = serial();
    let before = Host::snapshot();
    let net = host_network();
    let rootfs = built_rootfs();
    let state = state_dir();
    // "The internet": a namespace of the test's own behind a veth of the host's, a server
    // in it at 10.215.0.2, the host at 10.215.0.1 on that link.
    let inet = NetSandbox::start().unwrap();
    let mut host = Rtnl::open().unwrap();
    let ns = std::fs::File::open(inet.ns_path()).unwrap();
    use std::os::fd::AsFd;
    host.create_veth("lc-inet0", "eth0", Some(ns.as_fd()))
        .unwrap();
    host.add_address("lc-inet0", Ipv4Addr::new(10, 215, 0, 1), 24)
        .unwrap();
    host.set_up("lc-inet0").unwrap();
    let server = within(&inet.ns_path(), || {
        let mut nl = Rtnl::open()?;
        nl.add_address("eth0", Ipv4Addr::new(10, 215, 0, 2), 24)?;
        nl.set_up("eth0")?;
        TcpListener::bind("10.215.0.2:9000")
    })
    .unwrap();
    let r = rootfs.path().display().to_string();
    let mut run = Command::new(env!("CARGO_BIN_EXE_learn-containers"))
        .args(["run", "--rootfs", &r, "--net", "bridge", "--"])
        .args(["sh", "-c", "echo out | nc 10.215.0.2 9000"])
        .env("LEARN_CONTAINERS_STATE", state.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Polled: a container that never gets through must fail the test, not hang it.
    server.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut conn, from) = loop {
        match server.accept() {
            Ok(c) => break c,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                // Its nc would go on trying: the run is killed, and what it left cleaned.
                let _ = run.kill();
                let _ = run.wait();
                let _ = cli(&["clean"], state.path());
                let _ = host.delete_link("lc-inet0");
                panic!("nothing from the container reached the server: {e}");
            }
        }
    };
    conn.set_nonblocking(false).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = String::new();
    let _ = conn.read_to_string(&mut got);
    drop(conn);
    finish(run, "the container");
    host.delete_link("lc-inet0").unwrap();
    drop(inet);
    assert_eq!(got.trim(), "out");
    assert_eq!(
        from.ip().to_string(),
        "10.215.0.1",
        "the server must see the host's address, not the container's 10.213.0.x"
    );
    assert_eq!(
        net,
        host_network(),
        "the host's network after a bridged run"
    );
    before.assert_same(&Host::snapshot(), "a bridged run out to a server");
}
