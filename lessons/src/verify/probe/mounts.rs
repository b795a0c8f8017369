//! The mounts of the namespace a candidate was started in (a sandbox standing in for the
//! host), before and after: what appeared there came from the candidate, by a mount made
//! without a namespace of its own or by propagation.

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::Result;

use crate::kernel::mountinfo::{self, Mount};
use crate::kernel::sandbox::Sandbox;
use crate::verify::{Check, CheckId};

/// The title this check goes by, in every chapter that has it.
pub const NOTHING_OUTSIDE: &str = "mounts: nothing appears outside CMD's own mount namespace";

/// What the sandbox the candidate ran in gained.
#[derive(Debug, Default, Clone)]
pub struct Outer {
    pub sandbox_mnt: u64,
    /// The sandbox's / line, showing its shared:N.
    pub root_line: String,
    pub gained: Vec<Mount>,
}

/// Everything the sandbox gained while the candidate ran (by mount id).
pub fn outer(sandbox: &Sandbox, before: &[Mount], during: &[Vec<Mount>]) -> Result<Outer> {
    let old: BTreeSet<u32> = before.iter().map(|m| m.id).collect();
    let mut gained: Vec<Mount> = Vec::new();
    for m in during.iter().flatten() {
        if !old.contains(&m.id) && !gained.iter().any(|g| g.id == m.id) {
            gained.push(m.clone());
        }
    }
    let root_line = mountinfo::mount_at(before, Path::new("/"))
        .map(Mount::line)
        .unwrap_or_default();
    Ok(Outer {
        sandbox_mnt: sandbox.mnt_inode()?,
        root_line,
        gained,
    })
}

/// Whether any mount reached the sandbox (a namespace the candidate was only started in)
/// or the host, and why.
///
/// `runs` are the candidate's runs: what each is called in the verdict, what its sandbox
/// gained, and CMD's own mount namespace inode.
pub fn judge_nothing_outside<C: CheckId>(
    id: C,
    runs: &[(&str, &Outer, u64)],
    host_before: &[Mount],
    host_after: &[Mount],
) -> Check {
    let host_old: BTreeSet<String> = host_before.iter().map(Mount::line).collect();
    let host_new: Vec<String> = host_after
        .iter()
        .map(Mount::line)
        .filter(|l| !host_old.contains(l))
        .collect();
    if !host_new.is_empty() {
        return id
            .fail(format!(
                "the verifier's own mount table changed: {}",
                host_new.join(" | ")
            ))
            .expected("the host's mounts untouched")
            .hint("mount only in a new mount namespace whose / was made private first");
    }
    for &(what, outer, cmd_mnt) in runs {
        let Some(m) = outer.gained.first() else {
            continue;
        };
        if cmd_mnt == outer.sandbox_mnt {
            return id.fail(
                format!(
                    "run {what}: a {} mount appeared at {} in the mount namespace the program was started in, and CMD's /proc/PID/ns/mnt is that same namespace: `{}`",
                    m.fstype,
                    m.mount_point.display(),
                    m.line()
                ),
            )
            .expected("the fresh proc only in CMD's own mount namespace")
            .hint(
                "the proc was mounted without a new mount namespace. On a real host it would cover the \
                 host's /proc for every process on the machine (here it only hit the verifier's \
                 sandbox). unshare(CLONE_NEWNS) in the child and make / private before mounting proc.",
            );
        }
        return id.fail(
            format!(
                "run {what}: CMD has a mount namespace of its own, yet a {} mount appeared at {} outside it: `{}`. There / is shared (`{}`), as systemd mounts it, and CMD's copy of / was still its peer",
                m.fstype,
                m.mount_point.display(),
                m.line(),
                outer.root_line
            ),
        )
        .expected("nothing propagating out of CMD's mount namespace")
        .hint(
            "propagation: a new mount namespace copies / together with its shared:N peer group, so \
             mounts made in it reach the host. Make / private, recursively, right after \
             unshare(CLONE_NEWNS): mount(None, \"/\", None, MS_REC | MS_PRIVATE, None) \
             (`mount --make-rprivate /`). man 7 mount_namespaces.",
        );
    }
    let peer = runs
        .first()
        .map_or("", |r| r.1.root_line.as_str())
        .split(' ')
        .find(|f| f.starts_with("shared:"))
        .unwrap_or("shared");
    id.pass(
        format!(
            "the sandbox the program ran in (its / {peer}, like a systemd host's) gained no mount; the host's mount table is unchanged"
        ),
    )
}
