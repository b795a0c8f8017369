//! Races the verifier cannot lose (tier 2): a program that puts CMD into its cgroup from
//! the parent, after fork, usually wins the race against CMD's first fork on a quiet
//! machine. Under the verifier's adversary (verify::adversary holds the parent until CMD
//! has forked) it must lose every time, and a program that joins in the child before
//! exec must win every time. Each fixture runs 20 times; `verify_race` runs the cgroup
//! check alone, on the same run the full verifier makes, without its 1.6 s measuring
//! window (the full verifier's verdict on each fixture is in tests/chapter04.rs and
//! tests/chapter05.rs). Chapter 6 races the same way: maps the parent writes after the
//! child has exec'd CMD, instead of before; chapter 8 with a parent that moves its child
//! into the cgroup, or writes its time offsets, after fork.

mod common;

use std::path::Path;

use common::{Host, fixture, privileged, saw, serial, solution};
use lessons::verify::{Candidate, Check, Context};

const TIMES: usize = 20;

fn race(verify: fn(&Context) -> lessons::Result<Check>, binary: &Path, times: usize) -> Vec<Check> {
    let c = Candidate {
        binary: binary.to_owned(),
        source: format!("fixture {}", binary.display()),
    };
    (0..times)
        .map(|_| {
            let cx = Context::new(&c, None).expect("a scratch dir");
            verify(&cx).expect("the verifier itself must not error")
        })
        .collect()
}

/// Every verdict a rejection with the birth diagnosis, the reference solution passing
/// every time, and nothing left behind.
fn loses_every_time(
    verify: fn(&Context) -> lessons::Result<Check>,
    wrong: &str,
    exercise: &str,
    born: &str,
) {
    let _turn = serial();
    let before = Host::snapshot();
    let verdicts = race(verify, &fixture(wrong), TIMES);
    let rejected = verdicts
        .iter()
        .filter(|c| !c.passed() && saw(c).contains(born))
        .count();
    assert_eq!(rejected, TIMES, "{wrong}: {verdicts:#?}");
    let verdicts = race(verify, &solution(exercise), TIMES / 2);
    assert!(
        verdicts.iter().all(Check::passed),
        "{exercise}: {verdicts:#?}"
    );
    before.assert_same(&Host::snapshot(), &format!("racing {wrong}"));
}

#[test]
fn chapter4_a_command_moved_after_it_started_is_rejected_every_time() {
    if !privileged("chapter4_a_command_moved_after_it_started_is_rejected_every_time") {
        return;
    }
    loses_every_time(
        lessons::chapters::ch04_cgroup_cpu::verify::verify_race,
        "ch04_move_after_start",
        "ch04_cgroup_cpu",
        "the child it forked first thing",
    );
}

#[test]
fn chapter5_a_join_from_the_parent_after_fork_is_rejected_every_time() {
    if !privileged("chapter5_a_join_from_the_parent_after_fork_is_rejected_every_time") {
        return;
    }
    loses_every_time(
        lessons::chapters::ch05_run::verify::verify_race,
        "ch05_parent_joins_after_fork",
        "ch05_run",
        "the join happened in the parent after CMD had started",
    );
}

#[test]
fn chapter6_maps_written_after_exec_are_rejected_every_time() {
    if !privileged("chapter6_maps_written_after_exec_are_rejected_every_time") {
        return;
    }
    loses_every_time(
        lessons::chapters::ch06_user_namespace::verify::verify_race,
        "ch06_map_after_exec",
        "ch06_user_namespace",
        "written after CMD had exec'd",
    );
}

fn ch08_cgroup(cx: &Context) -> lessons::Result<Check> {
    lessons::chapters::ch08_ipc_cgroup_time::verify::verify_race(cx, false)
}

fn ch08_offsets(cx: &Context) -> lessons::Result<Check> {
    lessons::chapters::ch08_ipc_cgroup_time::verify::verify_race(cx, true)
}

#[test]
fn chapter8_a_join_from_the_parent_after_fork_is_rejected_every_time() {
    if !privileged("chapter8_a_join_from_the_parent_after_fork_is_rejected_every_time") {
        return;
    }
    loses_every_time(
        ch08_cgroup,
        "ch08_parent_joins",
        "ch08_more_namespaces",
        "learn-containers/ch08-verify-",
    );
}

#[test]
fn chapter8_offsets_the_parent_writes_after_fork_are_rejected_every_time() {
    if !privileged("chapter8_offsets_the_parent_writes_after_fork_are_rejected_every_time") {
        return;
    }
    loses_every_time(
        ch08_offsets,
        "ch08_parent_writes_offsets",
        "ch08_more_namespaces",
        "monotonic 0, boottime 0",
    );
}
