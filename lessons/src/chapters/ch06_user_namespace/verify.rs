//! Verifying ch06_user_namespace from outside. The program runs as an unprivileged uid
//! (see observe.rs): as root, the verifier drops it to a uid that owns nothing here; as a
//! user, it runs as that user. Mistakes that root's capabilities would hide (a gid_map
//! before setgroups, a range, another uid) then show as the kernel's EPERM. It runs under
//! the adversary, which holds the program's parent after fork until CMD has exec'd and
//! forked: a map the parent writes after CMD has started is always too late, and CMD's
//! first line (its uid, as bash took it at its start) and its capabilities show it.

use crate::error::Result;

use super::observe::{self, Cmd, MADE, Run, SIGNAL_STATUS, STATUS, status};
use crate::kernel::child::Exit;
use crate::kernel::userns::{RootOnly, parse_map, show_map};
use crate::verify::run::Finished;
use crate::verify::{Check, CheckId, Context, failed_at};

crate::checks! {
    /// The checks of chapter 6, in report order.
    pub enum Ch06 {
        UserNs => "user namespace: CMD runs in a new one, not the one the program was started in",
        UidMap => "uid_map: exactly `0 UID 1`, UID the caller's uid outside",
        Setgroups => "setgroups: `deny`, as it must be before an unprivileged gid_map",
        GidMap => "gid_map: exactly `0 GID 1`, GID the caller's gid outside",
        Root => "root inside: CMD is uid 0 from its first instruction (`id -u` says 0)",
        Caps => "capabilities: CMD's CapEff is the full set, in its own namespace",
        FileOwner => "files: what CMD creates belongs to the caller's uid on the host",
        RootOnly => "root outside: CMD cannot read a root-only (0600) host file",
        Exit => "exit: the program exits with CMD's status (128+N for signal N)",
        Residue => "nothing is left: no process of the run outlives the program",
    }
}

pub fn verify(cx: &Context) -> Result<Vec<Check>> {
    let run = observe::observe(cx, true, true)?;
    Ok(judge(cx.source(), &|f| cx.describe(f), &run))
}

/// The root check alone, from one run under the adversary: whether CMD starts as uid 0.
/// For repeating the map race many times (tests/races.rs); `verify` judges the same run,
/// and everything else.
pub fn verify_race(cx: &Context) -> Result<Check> {
    let run = observe::observe(cx, true, false)?;
    Ok(match &run.cmd {
        Some(cmd) => judge_root(&run, cmd),
        None => Ch06::Root.fail(format!("the program {}", cx.describe(&run.finished))),
    })
}

/// Judges the runs (`source`: the learner's file; `describe` says how a program ended).
fn judge(source: &str, describe: &dyn Fn(&Finished) -> String, run: &Run) -> Vec<Check> {
    let Some(cmd) = &run.cmd else {
        return not_started(source, describe, run);
    };
    vec![
        judge_userns(run, cmd),
        judge_map(Ch06::UidMap, run, cmd),
        judge_setgroups(run, cmd),
        judge_map(Ch06::GidMap, run, cmd),
        judge_root(run, cmd),
        judge_caps(run, cmd),
        judge_file(run),
        judge_root_only(run),
        judge_exit(describe, run),
        judge_residue(run),
    ]
}

/// Who the program ran as, for messages.
fn who(run: &Run) -> String {
    if run.dropped {
        format!(
            "uid {} (which the verifier, as root, picked for owning nothing on this host)",
            run.ids.uid
        )
    } else {
        format!("uid {} (you)", run.ids.uid)
    }
}

fn has_eperm(text: &str) -> bool {
    ["Operation not permitted", "EPERM", "os error 1)"]
        .iter()
        .any(|s| text.contains(s))
}

/// CMD never came up: every check fails, the one the program's last words belong to
/// with the diagnosis.
fn not_started(source: &str, describe: &dyn Fn(&Finished) -> String, run: &Run) -> Vec<Check> {
    let how = describe(&run.finished);
    let said = run.finished.stderr.as_str();
    let eperm = has_eperm(said);
    let (at, hint) = if how.contains("todo!()") {
        (
            Ch06::UserNs,
            format!(
                "write the part that todo!() names in {source}; `learn-containers hint 6` helps"
            ),
        )
    } else if said.contains("gid_map") && eperm && gid_map_of_the_uid(run, said) {
        (
            Ch06::GidMap,
            format!(
                "EPERM on gid_map: the line maps {uid}, the caller's uid; gid_map takes the gid, \
                 getgid()'s {gid}. The verifier's uid and gid are different numbers (as root it \
                 picks them so); on a machine where both are 1000 the mistake goes unseen",
                uid = run.ids.uid,
                gid = run.ids.gid
            ),
        )
    } else if said.contains("gid_map") && eperm {
        (
            Ch06::Setgroups,
            "EPERM on gid_map: the kernel lets an unprivileged process write gid_map only once \
             \"deny\" is in /proc/self/setgroups. Write setgroups first, then uid_map and gid_map"
                .to_owned(),
        )
    } else if said.contains("uid_map") && eperm {
        (
            Ch06::UidMap,
            format!(
                "EPERM on uid_map: an unprivileged process may map one id, its own: `0 {uid} 1`. \
                 Not a range (a count of 1), and not the uid getuid() gives after unshare (65534, \
                 the overflow uid, which is not yours): ask before unshare",
                uid = run.ids.uid
            ),
        )
    } else if said.contains("setgroups") {
        (
            Ch06::Setgroups,
            "write \"deny\" to /proc/self/setgroups after unshare, before gid_map".to_owned(),
        )
    } else if said.contains("unshare")
        && (said.contains("ENOSPC") || said.contains("No space left on device"))
    {
        (
            Ch06::UserNs,
            "ENOSPC: this host allows no more user namespaces (user.max_user_namespaces is 0, \
             or its limit is reached): `learn-containers doctor` says how to allow them"
                .to_owned(),
        )
    } else if (said.contains("uid_map") || said.contains("gid_map"))
        && (said.contains("EINVAL") || said.contains("Invalid argument"))
    {
        (
            Ch06::UidMap,
            "EINVAL on a map: the kernel takes a map in one write(2), whole lines of three \
             numbers, written once; write!/writeln! on a File write in pieces (the given \
             write_proc_self writes it whole), and a second write to a map is refused"
                .to_owned(),
        )
    } else if said.contains("unshare") && eperm {
        (
            Ch06::UserNs,
            "the kernel refused a new user namespace to an unprivileged user: \
             `learn-containers doctor` says whether this host allows it (the sysctls \
             user.max_user_namespaces and kernel.unprivileged_userns_clone, or AppArmor)"
                .to_owned(),
        )
    } else if said.contains("unshare")
        && (said.contains("EINVAL") || said.contains("Invalid argument"))
    {
        (
            Ch06::UserNs,
            "EINVAL: unshare(CLONE_NEWUSER) is refused to a process with more than one thread; \
             call it in the forked child, before anything starts a thread"
                .to_owned(),
        )
    } else if matches!(run.finished.exit, Exit::Code(_))
        && said.trim().is_empty()
        && !run.has("READY")
    {
        (
            Ch06::Exit,
            "the program ended, saying nothing, before CMD was up: its parent must wait for \
             CMD (waitpid) and exit with CMD's status, or CMD outlives it"
                .to_owned(),
        )
    } else if run.finished.exit == Exit::TimedOut {
        (
            Ch06::UserNs,
            "CMD never printed READY: the child must exec CMD, which inherits the program's \
             stdout, and the parent must wait for it"
                .to_owned(),
        )
    } else {
        (
            Ch06::UserNs,
            format!("fix what the message names in {source}"),
        )
    };
    let ended = if run.has("READY") {
        "printed READY, but no process running CMD could be found from the host".to_owned()
    } else {
        how
    };
    let first = at
        .fail(format!(
            "`{source} -- bash -c SCRIPT`, run as {}, {ended}",
            who(run)
        ))
        .expected("CMD starts in a new user namespace, prints what it sees, and waits")
        .hint(hint);
    failed_at(at, first)
}

/// The program's last words show a gid_map line with the caller's uid in it, not its gid.
fn gid_map_of_the_uid(run: &Run, said: &str) -> bool {
    let line = |id: u32| format!("0 {id} 1");
    run.ids.uid != run.ids.gid
        && said.contains(&line(run.ids.uid))
        && !said.contains(&line(run.ids.gid))
}

/// CMD's user namespace is not the one the program was started in.
fn new_namespace(run: &Run, cmd: &Cmd) -> bool {
    cmd.userns != 0 && cmd.userns != run.outer_userns
}

const SAME_NAMESPACE: &str = "CMD is in the user namespace the program was started in";

fn judge_userns(run: &Run, cmd: &Cmd) -> Check {
    if new_namespace(run, cmd) {
        return Ch06::UserNs.pass(format!(
            "CMD (host PID {}) is in user:[{}]; the program was started in user:[{}]",
            cmd.pid, cmd.userns, run.outer_userns
        ));
    }
    Ch06::UserNs
        .fail(format!(
            "CMD (host PID {}) is in user:[{}], the user namespace the program was started in",
            cmd.pid, run.outer_userns
        ))
        .expected("a user namespace of CMD's own")
        .hint("the child calls unshare(CLONE_NEWUSER) before it execs CMD")
}

/// uid_map or gid_map: exactly one line, `0 ID 1`, ID the caller's.
fn judge_map(id: Ch06, run: &Run, cmd: &Cmd) -> Check {
    let (file, kind, text, want) = match id {
        Ch06::GidMap => ("gid_map", "gid", &cmd.gid_map, run.ids.gid),
        _ => ("uid_map", "uid", &cmd.uid_map, run.ids.uid),
    };
    if !new_namespace(run, cmd) {
        return id.not_judged(SAME_NAMESPACE);
    }
    let path = format!("/proc/{}/{file}", cmd.pid);
    let wanted = format!("`0 {want} 1`");
    let after = if id == Ch06::GidMap {
        " and \"deny\" into setgroups"
    } else {
        ""
    };
    match parse_map(text)[..] {
        [(0, outside, 1)] if outside == want => id.pass(format!(
            "{path}: `0 {want} 1`: {kind} 0 inside is {kind} {want} outside, the caller's"
        )),
        [] => id
            .fail(format!(
                "{path} is empty: nothing is mapped, so inside CMD every {kind} is 65534, the overflow {kind}"
            ))
            .expected(wanted)
            .hint(format!(
                "after unshare(CLONE_NEWUSER){after}, write \"0 {want} 1\" to /proc/self/{file}, before exec"
            )),
        ref lines => {
            let why = match lines {
                [(_, _, count)] if *count > 1 => format!(
                    "a range of {count} ids: an unprivileged process may map one id, its own"
                ),
                [(_, outside, _)] if *outside != want => format!(
                    "it maps {kind} {outside}, which is not the caller's ({want}): ask getuid()/getgid() before unshare"
                ),
                [(inside, _, _)] if *inside != 0 => format!(
                    "{kind} {inside} inside: CMD must be 0 there, and the first number is the id inside"
                ),
                _ => "one line, one id: an unprivileged process may map nothing more".to_owned(),
            };
            id.fail(format!("{path}: `{}`", show_map(text)))
                .expected(wanted)
                .hint(why)
        }
    }
}

fn judge_setgroups(run: &Run, cmd: &Cmd) -> Check {
    if !new_namespace(run, cmd) {
        return Ch06::Setgroups.not_judged(SAME_NAMESPACE);
    }
    let value = cmd.setgroups.trim();
    if value == "deny" {
        return Ch06::Setgroups.pass(format!("/proc/{}/setgroups: deny", cmd.pid));
    }
    Ch06::Setgroups
        .fail(format!("/proc/{}/setgroups: {value}", cmd.pid))
        .expected("deny")
        .hint(
            "write \"deny\" to /proc/self/setgroups after unshare and before gid_map: the kernel \
             lets an unprivileged process map a gid only then (a group dropped with setgroups(2) \
             could open a file that group is barred from)",
        )
}

/// CMD's uid from its start: bash's $EUID is what getuid() said when bash began, so a map
/// written after exec shows here even though `id -u` may say 0 by then.
fn judge_root(run: &Run, cmd: &Cmd) -> Check {
    let start = run.said("uid");
    let id_u = run.said("id-u");
    let outside = format!("{} (/proc/{}/status)", cmd.status_uid, cmd.pid);
    match (start, id_u) {
        (Some("0"), None | Some("0")) => {
            let also = if id_u.is_some() { ", and `id -u`" } else { "" };
            Ch06::Root.pass(format!(
                "CMD says uid 0 (bash's $EUID as it started{also}); from the host the same process is {outside}"
            ))
        }
        (Some(s), _) if s != "0" => {
            let mapped_now = parse_map(&cmd.uid_map) == [(0, run.ids.uid, 1)];
            if mapped_now {
                Ch06::Root
                    .fail(format!(
                        "CMD started as uid {s}: its uid_map reads `0 {} 1` now, but was written after CMD had exec'd",
                        run.ids.uid
                    ))
                    .expected("uid 0 from CMD's first instruction")
                    .hint(
                        "the maps must be written before exec. The child can write its own; if the \
                         parent writes them, the child waits on a pipe until the parent says they are \
                         written. The verifier holds the parent after fork until CMD runs, so a map \
                         written later always comes too late",
                    )
            } else if !new_namespace(run, cmd) {
                Ch06::Root.not_judged(SAME_NAMESPACE)
            } else {
                Ch06::Root
                    .fail(format!(
                        "CMD is uid {s}: nothing maps its uid in its namespace (uid_map: {})",
                        show_map(&cmd.uid_map)
                    ))
                    .expected("uid 0")
                    .hint("CMD is 0 inside once uid_map says `0 UID 1` (see the uid_map check)")
            }
        }
        (Some(_), Some(other)) => Ch06::Root
            .fail(format!("bash's $EUID says 0, but `id -u` says {other}"))
            .expected("uid 0 both times")
            .hint("CMD's uid changed while it ran: write the maps once, before exec"),
        _ => Ch06::Root
            .fail("CMD printed no uid: it never ran the verifier's script")
            .expected("a line `uid 0`")
            .hint("exec CMD with its arguments as given"),
    }
}

fn judge_caps(run: &Run, cmd: &Cmd) -> Check {
    let unmapped_start = run.said("uid").is_some_and(|u| u != "0");
    match (cmd.cap_eff, cmd.cap_bnd) {
        (Some(eff), Some(bnd)) if eff == bnd && bnd != 0 => Ch06::Caps.pass(format!(
            "CapEff {eff:016x}, every capability of its bounding set (/proc/{}/status); they count only over what its user namespace owns",
            cmd.pid
        )),
        (Some(eff), Some(bnd)) => {
            let hint = if eff == 0 && unmapped_start {
                "exec hands every capability to a uid that is 0 in its namespace and takes them all \
                 from any other: CMD was exec'd while its uid was still unmapped (65534). Write the \
                 maps before exec"
            } else if !new_namespace(run, cmd) {
                "CMD runs in the user namespace the program was started in, where it is no root: \
                 see the first check"
            } else {
                "exec gives CMD every capability when it is uid 0 in its namespace: see the uid_map \
                 and root checks"
            };
            Ch06::Caps
                .fail(format!("CapEff {eff:016x} (/proc/{}/status)", cmd.pid))
                .expected(format!("CapEff {bnd:016x}, its CapBnd"))
                .hint(hint)
        }
        _ => Ch06::Caps
            .fail(format!("/proc/{}/status could not be read", cmd.pid))
            .expected("CapEff and CapBnd lines")
            .hint("CMD must keep running until the verifier closes its stdin"),
    }
}

fn judge_file(run: &Run) -> Check {
    let path = run.dir.join(MADE);
    let uid = run.ids.uid;
    if let Some(err) = run.said("not-made") {
        return Ch06::FileOwner
            .fail(format!("CMD could not create {}: {err}", path.display()))
            .expected(format!("the file made, owned by uid {uid} on the host"))
            .hint(format!(
                "the directory belongs to uid {uid}, the caller: CMD can write there when its uid 0 is uid {uid} outside, as `0 {uid} 1` makes it"
            ));
    }
    match run.made {
        Some((u, g)) if u == uid && run.has("made") => Ch06::FileOwner.pass(format!(
            "{}, made by CMD as uid 0: owned by uid {u} gid {g} on the host (stat)",
            path.display()
        )),
        Some((u, g)) => Ch06::FileOwner
            .fail(format!(
                "{} is owned by uid {u} gid {g} on the host",
                path.display()
            ))
            .expected(format!("uid {uid}, the caller's"))
            .hint(format!(
                "uid 0 inside must stand for uid {uid} outside: `0 {uid} 1` in uid_map"
            )),
        None => Ch06::FileOwner
            .fail(format!("no {} on the host", path.display()))
            .expected("the file CMD made")
            .hint(
                "exec CMD with its arguments as given, in the directory the program was started in",
            ),
    }
}

fn judge_root_only(run: &Run) -> Check {
    let (path, what) = match &run.root_only {
        RootOnly::None => {
            return Ch06::RootOnly.pass(format!(
                "not tried: run by {}, the verifier cannot plant a root-owned file, and this host has none it cannot read itself",
                who(run)
            ));
        }
        RootOnly::Planted(p) => (p, "mode 0600, owned by root, planted by the verifier"),
        RootOnly::Host(p) => (p, "owned by root, closed to the caller"),
    };
    if run.has("root-only-denied") {
        Ch06::RootOnly.pass(format!(
            "CMD, uid 0 inside, could not open {} ({what}): outside it is uid {}, and its capabilities count for nothing over the host's files",
            path.display(),
            run.ids.uid
        ))
    } else if run.has("root-only-read") {
        Ch06::RootOnly
            .fail(format!("CMD opened {} ({what})", path.display()))
            .expected("EACCES: CMD is root only inside")
            .hint("CMD must have no privilege on the host: the program runs as the caller, and maps only the caller's uid")
    } else {
        Ch06::RootOnly
            .fail(format!("CMD never tried to open {}", path.display()))
            .expected("a line root-only-denied")
            .hint("exec CMD with its arguments as given")
    }
}

fn judge_exit(describe: &dyn Fn(&Finished) -> String, run: &Run) -> Check {
    let hint = "the parent waits for the child (waitpid) and exits with its status: the code it \
                exited with, or 128+N when signal N killed it (exit_code does it)";
    if status(&run.finished) != Some(STATUS) {
        return Ch06::Exit
            .fail(format!(
                "CMD exited {STATUS}; the program {}",
                describe(&run.finished)
            ))
            .expected(format!("exit status {STATUS}"))
            .hint(hint);
    }
    match &run.killed {
        Some(k) if status(k) != Some(SIGNAL_STATUS) => Ch06::Exit
            .fail(format!(
                "CMD was killed by SIGTERM; the program {}",
                describe(k)
            ))
            .expected(format!("exit status {SIGNAL_STATUS} (128+15)"))
            .hint(hint),
        Some(_) => Ch06::Exit.pass(format!(
            "CMD exited {STATUS}, so did the program; CMD killed by SIGTERM, the program exited {SIGNAL_STATUS}"
        )),
        None => Ch06::Exit.pass(format!("CMD exited {STATUS}, so did the program")),
    }
}

fn judge_residue(run: &Run) -> Check {
    if let (Some(program), Some(cmd)) = (run.orphaned, &run.cmd) {
        return Ch06::Residue
            .fail(format!(
                "CMD (host PID {}) outlived the program: the program, PID {program}, ended while CMD still ran",
                cmd.pid
            ))
            .expected("the program ends after CMD, never before")
            .hint("the parent waits for CMD (waitpid) before it exits; nothing the program starts may outlive it");
    }
    if run.left.is_empty() {
        return Ch06::Residue.pass("once the program had ended, no process of the run was alive");
    }
    let left: Vec<String> = run
        .left
        .iter()
        .map(|(p, comm)| format!("{comm} (PID {p})"))
        .collect();
    Ch06::Residue
        .fail(format!(
            "still alive after the program ended: {}",
            left.join(", ")
        ))
        .expected("nothing")
        .hint("the parent waits for CMD before it exits; nothing the program starts may outlive it")
}

#[cfg(test)]
mod tests {
    //! The judges, fed made-up runs: no namespace, no process.

    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::kernel::userns::Ids;
    use crate::verify::Status;
    use crate::verify::run::describe;

    const SOURCE: &str = "exercises/src/user_namespace.rs";
    const OUTER: u64 = 4026531837;
    const INNER: u64 = 4026532178;
    const UID: u32 = 1879048192;
    const GID: u32 = 1879048448;
    const DIR: &str = "/tmp/learn-containers-AbC123/ch06/made-here";

    fn ended(exit: Exit, stderr: &str) -> Finished {
        Finished {
            exit,
            stdout: Vec::new(),
            stderr: stderr.to_owned(),
            took: Duration::from_millis(40),
        }
    }

    /// CMD as a right answer leaves it, seen from the host.
    fn cmd() -> Cmd {
        Cmd {
            pid: 4242,
            userns: INNER,
            uid_map: format!("         0 {UID}          1\n"),
            gid_map: format!("         0 {GID}          1\n"),
            setgroups: "deny\n".into(),
            status_uid: format!("Uid: {UID} {UID} {UID} {UID}"),
            cap_eff: Some(0x1ff_ffff_ffff),
            cap_bnd: Some(0x1ff_ffff_ffff),
        }
    }

    /// A run of a right answer, as root picked the uid.
    fn good() -> Run {
        Run {
            ids: Ids { uid: UID, gid: GID },
            dropped: true,
            outer_userns: OUTER,
            dir: PathBuf::from(DIR),
            root_only: RootOnly::Planted(PathBuf::from(
                "/tmp/learn-containers-AbC123/ch06/root-only",
            )),
            cmd: Some(cmd()),
            lines: [
                "uid 0",
                "id-u 0",
                "capeff 000001ffffffffff",
                "made",
                "root-only-denied",
                "READY",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            finished: ended(Exit::Code(STATUS), ""),
            made: Some((UID, GID)),
            killed: Some(ended(Exit::Code(SIGNAL_STATUS), "")),
            left: Vec::new(),
            orphaned: None,
        }
    }

    fn judged(run: &Run) -> Vec<Check> {
        judge(SOURCE, &|f| describe(f, None), run)
    }

    /// The titles of the failing checks.
    fn failing(checks: &[Check]) -> Vec<Ch06> {
        Ch06::ALL
            .iter()
            .zip(checks)
            .filter(|(_, c)| c.status == Status::Fail)
            .map(|(id, _)| *id)
            .collect()
    }

    fn of(checks: &[Check], id: Ch06) -> &Check {
        let i = Ch06::ALL.iter().position(|c| *c == id).unwrap();
        &checks[i]
    }

    fn saw(c: &Check) -> &str {
        c.saw.as_deref().unwrap_or("")
    }

    fn hint(c: &Check) -> &str {
        c.hint.as_deref().unwrap_or("")
    }

    fn with_lines(mut run: Run, lines: &[&str]) -> Run {
        run.lines = lines.iter().map(|s| s.to_string()).collect();
        run
    }

    #[test]
    fn a_right_answer_passes_every_check() {
        let checks = judged(&good());
        assert_eq!(checks.len(), Ch06::ALL.len());
        assert_eq!(failing(&checks), vec![], "{checks:#?}");
        assert!(saw(of(&checks, Ch06::UidMap)).contains(&format!("`0 {UID} 1`")));
    }

    #[test]
    fn no_map_shows_as_the_overflow_uid_and_no_capabilities() {
        let mut run = with_lines(
            good(),
            &[
                "uid 65534",
                "id-u 65534",
                "made",
                "root-only-denied",
                "READY",
            ],
        );
        let c = run.cmd.as_mut().unwrap();
        (c.uid_map, c.gid_map, c.setgroups) = (String::new(), String::new(), "allow\n".into());
        c.cap_eff = Some(0);
        let checks = judged(&run);
        assert_eq!(
            failing(&checks),
            vec![
                Ch06::UidMap,
                Ch06::Setgroups,
                Ch06::GidMap,
                Ch06::Root,
                Ch06::Caps
            ],
            "{checks:#?}"
        );
        assert!(saw(of(&checks, Ch06::UidMap)).contains("is empty"));
        assert!(saw(of(&checks, Ch06::Root)).contains("nothing maps its uid"));
        assert!(hint(of(&checks, Ch06::Caps)).contains("before exec"));
    }

    #[test]
    fn a_map_written_after_exec_is_named_even_when_id_says_0_by_then() {
        let run = with_lines(
            good(),
            &["uid 65534", "id-u 0", "made", "root-only-denied", "READY"],
        );
        let mut run = run;
        run.cmd.as_mut().unwrap().cap_eff = Some(0);
        let checks = judged(&run);
        assert_eq!(
            failing(&checks),
            vec![Ch06::Root, Ch06::Caps],
            "{checks:#?}"
        );
        let root = of(&checks, Ch06::Root);
        assert!(
            saw(root).contains("written after CMD had exec'd"),
            "{root:#?}"
        );
        assert!(hint(root).contains("pipe"), "{root:#?}");
    }

    #[test]
    fn the_kernel_refusing_a_write_is_put_on_the_right_check() {
        let refused = |stderr: &str| {
            let mut run = good();
            run.cmd = None;
            run.lines.clear();
            run.finished = ended(Exit::Code(1), stderr);
            judged(&run)
        };
        let gid = refused(&format!(
            "writing \"0 {GID} 1\" to /proc/self/gid_map: Operation not permitted (os error 1)"
        ));
        assert_eq!(
            failing(&gid).len(),
            Ch06::ALL.len(),
            "every check fails: {gid:#?}"
        );
        let at = of(&gid, Ch06::Setgroups);
        assert!(hint(at).contains("EPERM on gid_map"), "{at:#?}");
        assert!(saw(of(&gid, Ch06::UserNs)).contains("not run"), "{gid:#?}");

        let uid_as_gid = refused(&format!(
            "writing \"0 {UID} 1\" to /proc/self/gid_map: Operation not permitted (os error 1)"
        ));
        let at = of(&uid_as_gid, Ch06::GidMap);
        assert!(hint(at).contains("the caller's uid"), "{at:#?}");
        assert!(hint(at).contains(&GID.to_string()), "{at:#?}");

        let early = refused("");
        assert!(
            hint(of(&early, Ch06::Exit)).contains("waitpid"),
            "{early:#?}"
        );

        let nospace = refused("unshare(CLONE_NEWUSER): ENOSPC: No space left on device");
        assert!(hint(of(&nospace, Ch06::UserNs)).contains("user.max_user_namespaces"));
        let pieces = refused("writing \"0\" to /proc/self/uid_map: Invalid argument (os error 22)");
        assert!(hint(of(&pieces, Ch06::UidMap)).contains("one write(2)"));

        let range = refused(&format!(
            "writing \"0 {UID} 65536\" to /proc/self/uid_map: Operation not permitted (os error 1)"
        ));
        let at = of(&range, Ch06::UidMap);
        assert!(hint(at).contains(&format!("`0 {UID} 1`")), "{at:#?}");
        assert!(hint(at).contains("65534"), "{at:#?}");

        let todo = refused(
            "thread 'main' panicked at src/user_namespace.rs:52:5:\nnot yet implemented: unshare(CLONE_NEWUSER), then setgroups, uid_map and gid_map",
        );
        let at = of(&todo, Ch06::UserNs);
        assert!(hint(at).contains("todo!()"), "{at:#?}");
    }

    #[test]
    fn a_map_of_another_uid_or_a_range_is_explained() {
        let mut other = good();
        other.cmd.as_mut().unwrap().uid_map = "0 65534 1\n".into();
        let c = judge_map(Ch06::UidMap, &other, other.cmd.as_ref().unwrap());
        assert_eq!(c.status, Status::Fail);
        assert!(hint(&c).contains("not the caller's"), "{c:#?}");

        let mut range = good();
        range.cmd.as_mut().unwrap().gid_map = format!("0 {GID} 65536\n");
        let c = judge_map(Ch06::GidMap, &range, range.cmd.as_ref().unwrap());
        assert_eq!(c.status, Status::Fail);
        assert!(hint(&c).contains("a range of 65536 ids"), "{c:#?}");
    }

    #[test]
    fn cmd_left_in_the_programs_namespace_fails_and_the_maps_are_not_judged() {
        let mut run = good();
        let c = run.cmd.as_mut().unwrap();
        c.userns = OUTER;
        c.uid_map = "0 0 4294967295\n".into();
        let checks = judged(&run);
        let user = of(&checks, Ch06::UserNs);
        assert_eq!(user.status, Status::Fail);
        assert!(hint(user).contains("unshare(CLONE_NEWUSER)"));
        assert!(
            saw(of(&checks, Ch06::UidMap)).contains("not judged"),
            "{checks:#?}"
        );
    }

    #[test]
    fn root_outside_files_exit_and_residue_are_each_judged() {
        let mut run = with_lines(
            good(),
            &["uid 0", "id-u 0", "made", "root-only-read", "READY"],
        );
        run.made = Some((0, 0));
        run.finished = ended(Exit::Code(0), "");
        run.killed = Some(ended(Exit::Code(0), ""));
        run.left = vec![(4243, "sleep".into())];
        let checks = judged(&run);
        assert_eq!(
            failing(&checks),
            vec![Ch06::FileOwner, Ch06::RootOnly, Ch06::Exit, Ch06::Residue],
            "{checks:#?}"
        );
        assert!(saw(of(&checks, Ch06::FileOwner)).contains("owned by uid 0"));
        assert!(saw(of(&checks, Ch06::Residue)).contains("sleep (PID 4243)"));

        // Exit: the right status, but a signal's lost.
        let mut run = good();
        run.killed = Some(ended(Exit::Code(0), ""));
        let c = judge_exit(&|f| describe(f, None), &run);
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.expected.as_deref().unwrap_or("").contains("143"),
            "{c:#?}"
        );
    }

    #[test]
    fn a_program_that_ends_before_cmd_leaves_it_behind() {
        let mut run = good();
        run.orphaned = Some(4241);
        let c = judge_residue(&run);
        assert_eq!(c.status, Status::Fail);
        assert!(saw(&c).contains("outlived the program"), "{c:#?}");
        assert!(hint(&c).contains("waitpid"), "{c:#?}");
    }

    #[test]
    fn a_user_without_a_root_only_file_is_told_it_was_not_tried() {
        let mut run = good();
        run.dropped = false;
        run.root_only = RootOnly::None;
        run.lines.retain(|l| !l.starts_with("root-only"));
        let c = judge_root_only(&run);
        assert_eq!(c.status, Status::Pass);
        assert!(saw(&c).contains("not tried"), "{c:#?}");
    }
}
