//! Chapter 7: the verifier runs the program inside a network namespace of its own that
//! stands in for the host, accepts a correct solution written differently from the
//! reference one, and rejects each mistake with its own diagnosis. After each
//! verification the real host's links, addresses, routes and nftables ruleset are as
//! they were (`ip -j`, `nft -j`), and nothing of the project's is left.

mod common;

use std::path::Path;

use common::{
    Host, check, failing, fixture, hint, host_network, privileged, saw, serial, solution,
};

const ID: &str = "ch07_network";

fn verify(binary: &Path) -> Vec<lessons::verify::Check> {
    let c = lessons::verify::Candidate {
        binary: binary.to_owned(),
        source: format!("fixture {}", binary.display()),
    };
    let cx = lessons::verify::Context::new(&c, None).expect("a scratch dir");
    let net = host_network();
    let checks =
        lessons::chapters::ch07_network::verify::verify(&cx).expect("the verifier must not error");
    assert_eq!(
        net,
        host_network(),
        "the host's network changed verifying {}",
        binary.display()
    );
    checks
}

/// The checks that failed, by the words before their colon.
fn failed(checks: &[lessons::verify::Check]) -> Vec<&str> {
    failing(checks)
        .into_iter()
        .map(|name| name.split(':').next().unwrap())
        .collect()
}

#[test]
fn the_reference_and_a_solution_written_differently_pass() {
    if !privileged("the_reference_and_a_solution_written_differently_pass") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    for binary in [solution(ID), fixture("ch07_alt_correct")] {
        let checks = verify(&binary);
        assert_eq!(checks.len(), 11, "{checks:#?}");
        assert!(failed(&checks).is_empty(), "{checks:#?}");
    }
    before.assert_same(&Host::snapshot(), "verifying chapter 7's right answers");
}

#[test]
fn each_mistake_is_rejected_with_its_diagnosis() {
    if !privileged("each_mistake_is_rejected_with_its_diagnosis") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();

    let checks = verify(&fixture("ch07_lo_down"));
    assert_eq!(failed(&checks), ["lo"], "{checks:#?}");
    assert!(saw(check(&checks, "lo")).contains("lo is down"));

    let checks = verify(&fixture("ch07_not_moved"));
    let f = failed(&checks);
    assert!(
        f.contains(&"eth0") && f.contains(&"the pair"),
        "{checks:#?}"
    );
    assert!(
        saw(check(&checks, "the pair")).contains("is in the namespace the program was started in")
    );
    assert!(hint(check(&checks, "the pair")).contains("never moved"));
    assert!(hint(check(&checks, "eth0")).contains("never moved"));

    let checks = verify(&fixture("ch07_wrong_end"));
    let f = failed(&checks);
    assert!(f.contains(&"eth0") && f.contains(&"NAME"), "{checks:#?}");
    assert!(hint(check(&checks, "eth0")).contains("wrong ends"));
    assert!(saw(check(&checks, "NAME")).contains("the container address"));

    let checks = verify(&fixture("ch07_no_route"));
    assert_eq!(failed(&checks), ["default route", "TCP out"], "{checks:#?}");
    assert!(saw(check(&checks, "default route")).contains("only 10.77.0.0/24"));
    assert!(saw(check(&checks, "TCP out")).contains("beyond the subnet"));

    let checks = verify(&fixture("ch07_host_down"));
    let f = failed(&checks);
    assert!(
        f.contains(&"NAME") && f.contains(&"TCP out") && f.contains(&"TCP in"),
        "{checks:#?}"
    );
    assert!(saw(check(&checks, "NAME")).contains("is down"));

    let checks = verify(&fixture("ch07_left_behind"));
    assert_eq!(failed(&checks), ["cleanup"], "{checks:#?}");
    assert!(hint(check(&checks, "cleanup")).contains("left behind"));

    let checks = verify(&fixture("ch07_exit_zero"));
    assert_eq!(failed(&checks), ["exit"], "{checks:#?}");
    let s = saw(check(&checks, "exit"));
    assert!(s.contains("CMD exited 7") && s.contains("status 0"), "{s}");

    let checks = verify(&fixture("ch07_no_unshare"));
    assert_eq!(
        failed(&checks).first(),
        Some(&"network namespace"),
        "{checks:#?}"
    );
    assert!(saw(check(&checks, "network namespace")).contains("program's own network namespace"));

    before.assert_same(&Host::snapshot(), "verifying chapter 7's wrong answers");
}
