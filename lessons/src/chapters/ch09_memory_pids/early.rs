//! Chapter 9's verdict when CMD never came up: the check the program's last words belong
//! to (a todo!(), a limit in MiB that killed CMD at once, pids.max in the memory tree)
//! fails with the diagnosis, the others point at it.

use super::checks::Ch09;
use super::observe::{BYTES, PIDS, Run};
use super::outcome::judge_residue;
use super::place::{Place, flags, memory_limit, memory_seen, mib_hint};
use crate::kernel::child::Exit;
use crate::verify::run::Finished;
use crate::verify::{Check, CheckId, failed_at};

/// CMD never came up in one of the runs: the check the program's last words belong to
/// fails with the diagnosis, the others point at it.
pub(super) fn not_started(
    source: &str,
    describe: &dyn Fn(&Finished) -> String,
    place: &Place,
    failed: &Run,
    runs: &[Run],
) -> Vec<Check> {
    let how = describe(&failed.finished);
    let said = failed.finished.stderr.as_str();
    let cmd = format!(
        "`{source} --memory-parent CGM --pids-parent CGP --memory {BYTES} --pids {PIDS} -- bash -c SCRIPT` ({})",
        flags(failed.kind)
    );
    let small = memory_seen(place, failed)
        .and_then(|(d, f)| Some((d, memory_limit(place.version, f)?)))
        .filter(|(_, (_, l))| l.max.is_some_and(|m| m < BYTES / 2));
    let (at, saw, hint) = if how.contains("todo!()") {
        (
            Ch09::Joined,
            format!("{cmd} {how}"),
            format!(
                "write the part that todo!() names in {source}; `learn-containers hint 9` helps"
            ),
        )
    } else if let Some((dir, (file, limit))) = small {
        let held = limit.max.unwrap_or(0);
        (
            Ch09::MemoryLimit,
            format!(
                "{cmd}: CMD was killed before its first line; {}/{file} held {held} while it ran, and the program {how}",
                place.mem(dir)
            ),
            mib_hint(held),
        )
    } else if said.contains("pids.max")
        && place.cgm != place.cgp
        && said.contains(&*place.cgm.to_string_lossy())
    {
        (
            Ch09::PidsLimit,
            format!("{cmd} {how}"),
            format!(
                "pids.max was written in a cgroup under CGM ({}), the memory controller's tree: on cgroup v1 and hybrid hosts each controller has a tree of its own, and only the pids tree has pids.max. Write it in your cgroup under CGP ({}); on cgroup v2 the two are one directory, which is why the mistake goes unseen there",
                place.cgm.display(),
                place.cgp.display()
            ),
        )
    } else if failed.finished.exit == Exit::TimedOut {
        (
            Ch09::Joined,
            format!("{cmd} {how}"),
            "CMD's first line, `cmd PID`, never reached the verifier: start CMD and let it inherit your stdout".to_owned(),
        )
    } else {
        (
            Ch09::Joined,
            format!("{cmd} {how}"),
            format!("fix what the message names in {source}"),
        )
    };
    let first = at
        .fail(saw)
        .expected("CMD starts (it prints `cmd PID`) and runs until the verifier lets it end")
        .hint(hint);
    let mut checks = failed_at(at, first);
    // A cgroup left behind by a program that did not panic is still worth reporting.
    if !how.contains("panicked") && !how.contains("todo!()") {
        let residue = judge_residue(place, runs);
        if !residue.passed()
            && let Some(i) = checks.iter().position(|c| c.name == Ch09::Residue.title())
        {
            checks[i] = residue;
        }
    }
    checks
}
