//! The mounts of the namespace a candidate was started in (a sandbox standing in for the
//! host), before and after: what appeared there came from the candidate, by a mount made
//! without a namespace of its own or by propagation; what vanished was unmounted by it,
//! most often by detaching an old root whose submounts were still shared.

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::Result;

use crate::kernel::mountinfo::{self, Mount};
use crate::kernel::sandbox::Sandbox;
use crate::verify::{Check, CheckId};

/// The title this check goes by, in every chapter that has it.
pub const NOTHING_OUTSIDE: &str = "mounts: nothing appears outside CMD's own mount namespace";

/// What the sandbox the candidate ran in gained and lost.
#[derive(Debug, Default, Clone)]
pub struct Outer {
    pub sandbox_mnt: u64,
    /// The sandbox's / line, showing its shared:N.
    pub root_line: String,
    pub gained: Vec<Mount>,
    /// Mounts the sandbox had before the run and no longer had at its end.
    pub lost: Vec<Mount>,
    /// How CMD's own mount namespace was laid out while it ran, when it had one.
    pub cmd: Option<Layout>,
}

/// The propagation of a mount namespace's mounts: whether its / is shared, and which of
/// its mounts are (a / made private without MS_REC leaves its submounts shared).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Layout {
    pub root_shared: bool,
    pub shared: Vec<String>,
}

impl Layout {
    /// Reads it from a whole mount table (the namespace's own, as entering it shows).
    pub fn of(mounts: &[Mount]) -> Layout {
        Layout {
            root_shared: mountinfo::mount_at(mounts, Path::new("/")).is_some_and(Mount::is_shared),
            shared: mounts
                .iter()
                .filter(|m| m.is_shared())
                .map(|m| m.mount_point.display().to_string())
                .collect(),
        }
    }

    /// / private, and some mount under it still shared: MS_PRIVATE without MS_REC.
    pub fn private_not_recursive(&self) -> bool {
        !self.root_shared && !self.shared.is_empty()
    }
}

/// Everything the sandbox gained while the candidate ran, and lost by its end (by mount
/// id; the last table of `during` is the end).
pub fn outer(sandbox: &Sandbox, before: &[Mount], during: &[Vec<Mount>]) -> Result<Outer> {
    let old: BTreeSet<u32> = before.iter().map(|m| m.id).collect();
    let mut gained: Vec<Mount> = Vec::new();
    for m in during.iter().flatten() {
        if !old.contains(&m.id) && !gained.iter().any(|g| g.id == m.id) {
            gained.push(m.clone());
        }
    }
    let end: BTreeSet<u32> = during
        .last()
        .map(|t| t.iter().map(|m| m.id).collect())
        .unwrap_or_else(|| old.clone());
    let lost = before
        .iter()
        .filter(|m| !end.contains(&m.id))
        .cloned()
        .collect();
    let root_line = mountinfo::mount_at(before, Path::new("/"))
        .map(Mount::line)
        .unwrap_or_default();
    Ok(Outer {
        sandbox_mnt: sandbox.mnt_inode()?,
        root_line,
        gained,
        lost,
        cmd: None,
    })
}

/// The mount points a list of mounts names, at most `max` of them.
fn points(ms: &[Mount], max: usize) -> String {
    let mut s: Vec<String> = ms
        .iter()
        .take(max)
        .map(|m| m.mount_point.display().to_string())
        .collect();
    if ms.len() > max {
        s.push(format!("and {} more", ms.len() - max));
    }
    s.join(", ")
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
    // Mounts taken away first: on the learner's own host they would have been the host's.
    for &(what, outer, _) in runs {
        if outer.lost.is_empty() {
            continue;
        }
        let not_rec = outer
            .cmd
            .as_ref()
            .is_some_and(Layout::private_not_recursive);
        let cause = if not_rec {
            "CMD's namespace made / private but not the mounts under it, so they were still \
             peers of the host's"
        } else {
            "they were still peers of the mounts in CMD's namespace"
        };
        return id
            .fail(format!(
                "run {what}: {} vanished from the mount namespace the program was started in: {}. On your own host these would have been the host's own mounts. {cause}, and detaching the old root after pivot_root (or an unmount) took them away everywhere",
                match outer.lost.len() {
                    1 => "1 mount".to_owned(),
                    n => format!("{n} mounts"),
                },
                points(&outer.lost, 6)
            ))
            .expected("the mount table of the namespace the program was started in untouched")
            .hint(
                "make / private recursively before anything else in the new namespace: \
                 mount(None, \"/\", None, MS_REC | MS_PRIVATE, None), not MS_PRIVATE alone \
                 (`mount --make-rprivate /`): MS_PRIVATE without MS_REC changes / and leaves every \
                 mount under it shared. man 7 mount_namespaces, \"Shared subtrees\"",
            );
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
        if let Some(layout) = outer.cmd.as_ref().filter(|l| l.private_not_recursive()) {
            return id
                .fail(format!(
                    "run {what}: CMD has a mount namespace of its own and its / is private, yet a {} mount appeared at {} outside it: `{}`. / was made private but not the mounts under it: {} were still shared, and the mount came back through one of them",
                    m.fstype,
                    m.mount_point.display(),
                    m.line(),
                    layout.shared.iter().take(4).cloned().collect::<Vec<_>>().join(", ")
                ))
                .expected("nothing propagating out of CMD's mount namespace")
                .hint(
                    "MS_PRIVATE alone changes only /: add MS_REC, mount(None, \"/\", None, \
                     MS_REC | MS_PRIVATE, None) (`mount --make-rprivate /`), so every mount of the \
                     new namespace stops propagating. On a systemd host /tmp, /proc and /run are \
                     mounts of their own. man 7 mount_namespaces.",
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
            "the sandbox the program ran in (its / {peer} and every mount under it shared, like a systemd host's) gained no mount and lost none; the host's mount table is unchanged"
        ),
    )
}

#[cfg(test)]
mod tests {
    //! The judge, fed made-up mount tables: no sandbox, no mount.

    use super::*;
    use crate::verify::Status;

    crate::checks! {
        enum T {
            Mounts => NOTHING_OUTSIDE,
        }
    }

    const HOST: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
";
    /// The sandbox's /, shared as systemd mounts it.
    const SANDBOX_ROOT: &str =
        "410 409 8:1 / / rw,relatime shared:201 - ext4 /dev/sda1 rw,errors=remount-ro";
    /// A fresh proc that landed in the sandbox.
    const PROC: &str =
        "455 412 0:63 / /proc rw,nosuid,nodev,noexec,relatime shared:230 - proc proc rw";
    const SANDBOX_MNT: u64 = 4026532700;
    /// CMD's own mount namespace, when it has one.
    const CMD_MNT: u64 = 4026532799;

    fn mounts(text: &str) -> Vec<Mount> {
        mountinfo::parse(text).unwrap()
    }

    fn outer(gained: &str) -> Outer {
        Outer {
            sandbox_mnt: SANDBOX_MNT,
            root_line: SANDBOX_ROOT.into(),
            gained: mounts(gained),
            ..Default::default()
        }
    }

    fn saw(c: &Check) -> &str {
        c.saw.as_deref().unwrap_or("")
    }

    fn hint(c: &Check) -> &str {
        c.hint.as_deref().unwrap_or("")
    }

    #[test]
    fn nothing_gained_anywhere_passes_and_names_the_peer_group() {
        let (a, b) = (outer(""), outer(""));
        let host = mounts(HOST);
        let c = judge_nothing_outside(
            T::Mounts,
            &[("alone", &a, CMD_MNT), ("with --rootfs", &b, CMD_MNT + 1)],
            &host,
            &host,
        );
        assert_eq!(c.name, NOTHING_OUTSIDE);
        assert_eq!(c.status, Status::Pass, "{c:#?}");
        assert_eq!(
            saw(&c),
            "the sandbox the program ran in (its / shared:201 and every mount under it shared, like a systemd host's) gained no mount and lost none; the host's mount table is unchanged"
        );
    }

    #[test]
    fn a_proc_mounted_without_a_mount_namespace_is_named() {
        // ch02_proc_without_mount_ns: CMD's ns/mnt is the sandbox's own.
        let a = outer(PROC);
        let host = mounts(HOST);
        let c = judge_nothing_outside(T::Mounts, &[("alone", &a, SANDBOX_MNT)], &host, &host);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(&c),
            format!(
                "run alone: a proc mount appeared at /proc in the mount namespace the program was started in, and CMD's /proc/PID/ns/mnt is that same namespace: `{PROC}`"
            )
        );
        assert_eq!(
            c.expected.as_deref(),
            Some("the fresh proc only in CMD's own mount namespace")
        );
        assert!(hint(&c).contains("without a new mount namespace"), "{c:#?}");
        assert!(
            hint(&c).contains("unshare(CLONE_NEWNS) in the child"),
            "{c:#?}"
        );
    }

    #[test]
    fn a_proc_that_propagates_out_is_named_as_propagation() {
        // ch02_no_private: CMD has a namespace of its own, its / still a peer of the
        // sandbox's. The clean first run does not hide the second's leak.
        let (a, b) = (outer(""), outer(PROC));
        let host = mounts(HOST);
        let c = judge_nothing_outside(
            T::Mounts,
            &[("alone", &a, CMD_MNT), ("with --rootfs", &b, CMD_MNT + 1)],
            &host,
            &host,
        );
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(&c),
            format!(
                "run with --rootfs: CMD has a mount namespace of its own, yet a proc mount appeared at /proc outside it: `{PROC}`. There / is shared (`{SANDBOX_ROOT}`), as systemd mounts it, and CMD's copy of / was still its peer"
            )
        );
        assert!(saw(&c).contains("shared:"));
        assert!(hint(&c).starts_with("propagation"), "{c:#?}");
        assert!(hint(&c).contains("MS_REC | MS_PRIVATE"), "{c:#?}");
    }

    #[test]
    fn a_change_to_the_hosts_own_table_comes_first() {
        // Not provoked by a fixture (the sandbox is there to keep it from happening).
        let a = outer(PROC);
        let before = mounts(HOST);
        let extra = "500 23 0:70 / /proc rw,relatime shared:240 - proc proc rw";
        let after = mounts(&format!("{HOST}{extra}\n"));
        let c = judge_nothing_outside(T::Mounts, &[("alone", &a, SANDBOX_MNT)], &before, &after);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(&c),
            format!("the verifier's own mount table changed: {extra}")
        );
        assert_eq!(c.expected.as_deref(), Some("the host's mounts untouched"));
        assert!(
            hint(&c).contains("whose / was made private first"),
            "{c:#?}"
        );
    }

    #[test]
    fn a_sandbox_whose_root_line_is_unknown_still_passes() {
        let a = Outer {
            root_line: String::new(),
            ..outer("")
        };
        let host = mounts(HOST);
        let c = judge_nothing_outside(T::Mounts, &[("alone", &a, CMD_MNT)], &host, &host);
        assert_eq!(c.status, Status::Pass);
        assert!(
            saw(&c).starts_with("the sandbox the program ran in (its / shared and every mount")
        );
    }

    /// A namespace whose / was made private without MS_REC: its /tmp is still shared.
    const NOT_RECURSIVE: &str = "\
500 499 8:1 / / rw,relatime - ext4 /dev/sda1 rw
501 500 0:21 / /proc rw,nosuid shared:12 - proc proc rw
502 500 8:1 /tmp /tmp rw,relatime shared:14 - ext4 /dev/sda1 rw
";

    #[test]
    fn layouts_tell_a_private_root_from_a_recursive_one() {
        let half = Layout::of(&mounts(NOT_RECURSIVE));
        assert!(!half.root_shared);
        assert_eq!(half.shared, ["/proc", "/tmp"]);
        assert!(half.private_not_recursive());
        let whole = Layout::of(&mounts(
            &NOT_RECURSIVE
                .replace(" shared:12", "")
                .replace(" shared:14", ""),
        ));
        assert!(!whole.private_not_recursive());
        let none = Layout::of(&mounts(SANDBOX_ROOT));
        assert!(none.root_shared && !none.private_not_recursive());
    }

    #[test]
    fn a_leak_through_a_submount_after_a_private_root_names_ms_rec() {
        // ch02_private_not_recursive: / private, /proc still a peer of the sandbox's.
        let mut a = outer(PROC);
        a.cmd = Some(Layout::of(&mounts(NOT_RECURSIVE)));
        let host = mounts(HOST);
        let c = judge_nothing_outside(T::Mounts, &[("alone", &a, CMD_MNT)], &host, &host);
        assert_eq!(c.status, Status::Fail);
        assert!(
            saw(&c).contains("its / is private, yet a proc mount appeared at /proc"),
            "{c:#?}"
        );
        assert!(saw(&c).contains("/proc, /tmp were still shared"), "{c:#?}");
        assert!(
            hint(&c).starts_with("MS_PRIVATE alone changes only /"),
            "{c:#?}"
        );
    }

    #[test]
    fn mounts_that_vanish_are_said_first_and_name_ms_rec() {
        // ch05_private_not_recursive: detaching the old root took the cgroup mounts.
        let cgroups = "\
420 410 0:30 / /sys/fs/cgroup rw shared:210 - tmpfs tmpfs rw
421 420 0:31 / /sys/fs/cgroup/cpu rw shared:211 - cgroup cgroup rw,cpu
";
        let mut a = outer(PROC);
        a.lost = mounts(cgroups);
        a.cmd = Some(Layout::of(&mounts(NOT_RECURSIVE)));
        let host = mounts(HOST);
        let c = judge_nothing_outside(T::Mounts, &[("alone", &a, CMD_MNT)], &host, &host);
        assert_eq!(c.status, Status::Fail);
        assert!(
            saw(&c).starts_with("run alone: 2 mounts vanished from the mount namespace the program was started in: /sys/fs/cgroup, /sys/fs/cgroup/cpu."),
            "{c:#?}"
        );
        assert!(
            saw(&c).contains("made / private but not the mounts under it"),
            "{c:#?}"
        );
        assert!(hint(&c).contains("MS_REC | MS_PRIVATE"), "{c:#?}");
        // Without a layout (CMD's namespace could not be read), the same verdict.
        a.cmd = None;
        let c = judge_nothing_outside(T::Mounts, &[("alone", &a, CMD_MNT)], &host, &host);
        assert!(
            saw(&c).contains("still peers of the mounts in CMD's namespace"),
            "{c:#?}"
        );
    }
}
