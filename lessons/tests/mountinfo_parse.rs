//! Tier 1: parsing /proc/PID/mountinfo. No root needed.

use std::path::Path;

use lessons::kernel::mountinfo::{self, MountinfoError};

/// Lines as a systemd host with hybrid cgroups writes them (every mount shared).
const SYSTEMD_HOST: &str = "\
24 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw,errors=remount-ro
25 24 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 24 0:23 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw
30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
35 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpu,cpuacct
83 24 0:50 / /mnt/peer rw,relatime shared:45 master:1 - tmpfs learn-containers rw,size=1024k
84 24 0:51 / /mnt/slave rw,relatime master:1 - tmpfs tmpfs rw
85 24 0:52 / /mnt/unbindable rw,relatime unbindable - tmpfs tmpfs rw
86 24 8:2 /home/learner/src /mnt/bind rw,relatime - ext4 /dev/sda2 rw,errors=remount-ro
";

/// Lines as this workshop's development VMs write them: no optional fields at all.
const NO_OPTIONAL: &str = "\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
22 27 0:21 / /proc rw,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

#[test]
fn parses_every_field_of_a_line_with_optional_fields() {
    let mounts = mountinfo::parse(SYSTEMD_HOST).unwrap();
    assert_eq!(mounts.len(), 10);
    let cpu = &mounts[5];
    assert_eq!(cpu.id, 35);
    assert_eq!(cpu.parent, 30);
    assert_eq!(cpu.dev, "0:31");
    assert_eq!(cpu.root, "/");
    assert_eq!(cpu.mount_point, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
    assert_eq!(cpu.options, "rw,nosuid,nodev,noexec,relatime");
    assert_eq!(cpu.optional, vec!["shared:16"]);
    assert_eq!(cpu.fstype, "cgroup");
    assert_eq!(cpu.source, "cgroup");
    assert_eq!(cpu.super_options, "rw,cpu,cpuacct");

    let peer = &mounts[6];
    assert_eq!(peer.optional, vec!["shared:45", "master:1"]);
    assert_eq!(peer.shared_peer(), Some(45));
    assert_eq!(peer.master(), Some(1));
    assert_eq!(peer.source, "learn-containers");
    assert_eq!(peer.super_options, "rw,size=1024k");

    let bind = &mounts[9];
    assert_eq!(bind.root, "/home/learner/src");
    assert_eq!(bind.mount_point, Path::new("/mnt/bind"));
}

#[test]
fn parses_lines_without_optional_fields() {
    let mounts = mountinfo::parse(NO_OPTIONAL).unwrap();
    assert_eq!(mounts.len(), 5);
    let root = &mounts[0];
    assert_eq!((root.id, root.parent), (27, 1));
    assert!(root.optional.is_empty());
    assert_eq!(root.fstype, "ext4");
    assert_eq!(root.source, "/dev/vda");
    assert_eq!(root.super_options, "rw,discard");
    assert!(!root.is_shared());
    assert_eq!(root.shared_peer(), None);
    assert_eq!(root.propagation(), "private");
}

#[test]
fn propagation_names_match_findmnt() {
    let mounts = mountinfo::parse(SYSTEMD_HOST).unwrap();
    let at = |p: &str| mountinfo::mount_at(&mounts, Path::new(p)).unwrap();
    assert_eq!(at("/").propagation(), "shared");
    assert!(at("/").is_shared());
    assert_eq!(at("/").shared_peer(), Some(1));
    assert_eq!(at("/mnt/peer").propagation(), "shared,slave");
    assert_eq!(at("/mnt/slave").propagation(), "slave");
    assert!(!at("/mnt/slave").is_shared());
    assert_eq!(at("/mnt/unbindable").propagation(), "unbindable");
    assert_eq!(at("/mnt/bind").propagation(), "private");
}

#[test]
fn unescapes_octal_escapes_in_paths_and_source() {
    let text = "40 27 0:40 /a\\134b /mnt/with\\040space\\011tab\\012nl rw,relatime - tmpfs my\\040src rw\n";
    let m = &mountinfo::parse(text).unwrap()[0];
    assert_eq!(m.mount_point, Path::new("/mnt/with space\ttab\nnl"));
    assert_eq!(m.root, "/a\\b");
    assert_eq!(m.source, "my src");
}

#[test]
fn a_backslash_without_three_octal_digits_is_kept() {
    let text = "40 27 0:40 / /mnt/a\\9b\\04 rw - tmpfs tmpfs rw";
    let m = &mountinfo::parse(text).unwrap()[0];
    assert_eq!(m.mount_point, Path::new("/mnt/a\\9b\\04"));
}

#[test]
fn line_gives_back_the_kernels_text() {
    let mounts = mountinfo::parse(NO_OPTIONAL).unwrap();
    assert_eq!(
        mounts[3].line(),
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu"
    );
}

#[test]
fn empty_and_blank_input_has_no_mounts() {
    assert!(mountinfo::parse("").unwrap().is_empty());
    assert!(mountinfo::parse("\n  \n").unwrap().is_empty());
}

#[test]
fn malformed_lines_are_errors_that_name_the_line() {
    let cases = [
        ("27 1 254:0 / / rw,relatime ext4 /dev/vda rw", "separator"),
        ("x 1 254:0 / / rw - ext4 /dev/vda rw", "mount id"),
        ("27 y 254:0 / / rw - ext4 /dev/vda rw", "parent id"),
        ("27 1 254 / / rw - ext4 /dev/vda rw", "major:minor"),
        ("27 1 254:0 / / - ext4 /dev/vda rw", "6 fields"),
        ("27 1 254:0 / / rw - ext4", "after ` - `"),
    ];
    for (bad, why) in cases {
        let text = format!("{}\n\n{bad}\n", NO_OPTIONAL.lines().next().unwrap());
        let err = mountinfo::parse(&text).unwrap_err();
        match &err {
            MountinfoError::Malformed {
                line_no,
                line,
                reason,
            } => {
                assert_eq!(*line_no, 3, "{bad}");
                assert_eq!(line, bad);
                assert!(reason.contains(why), "{bad}: reason {reason:?}");
            }
            other => panic!("{bad}: unexpected {other:?}"),
        }
        let shown = err.to_string();
        assert!(shown.contains("line 3") && shown.contains(bad), "{shown}");
    }
}

#[test]
fn mount_at_picks_the_top_of_a_stack() {
    // 61 is mounted over 60 at the same point; the listing order must not matter.
    let stacked = "\
27 1 254:0 / / rw - ext4 /dev/vda rw
60 27 0:60 / /mnt/x rw - tmpfs first rw
61 60 0:61 / /mnt/x rw - tmpfs second rw
";
    let mounts = mountinfo::parse(stacked).unwrap();
    assert_eq!(
        mountinfo::mount_at(&mounts, Path::new("/mnt/x"))
            .unwrap()
            .id,
        61
    );
    assert_eq!(
        mountinfo::mount_at(&mounts, Path::new("/mnt/x/"))
            .unwrap()
            .id,
        61
    );
    let mut reversed = mounts.clone();
    reversed.reverse();
    assert_eq!(
        mountinfo::mount_at(&reversed, Path::new("/mnt/x"))
            .unwrap()
            .id,
        61
    );
    assert!(mountinfo::mount_at(&mounts, Path::new("/mnt")).is_none());
}

#[test]
fn containing_finds_the_longest_prefix_by_component() {
    let mounts = mountinfo::parse(NO_OPTIONAL).unwrap();
    let on = |p: &str| {
        mountinfo::containing(&mounts, Path::new(p))
            .unwrap()
            .mount_point
            .clone()
    };
    assert_eq!(
        on("/sys/fs/cgroup/cpu/learn-containers/a"),
        Path::new("/sys/fs/cgroup/cpu")
    );
    assert_eq!(on("/sys/fs/cgroup/cpu"), Path::new("/sys/fs/cgroup/cpu"));
    // "/sys/fs/cgroup/cpuset" is not under "/sys/fs/cgroup/cpu".
    assert_eq!(on("/sys/fs/cgroup/cpuset"), Path::new("/sys/fs/cgroup"));
    assert_eq!(on("/proc/self"), Path::new("/proc"));
    assert_eq!(on("/home/learner"), Path::new("/"));
    assert_eq!(on("/"), Path::new("/"));
    assert!(mountinfo::containing(&mounts, Path::new("relative/path")).is_none());
}

#[test]
fn reads_its_own_mountinfo_with_a_root_mount() {
    let mounts = mountinfo::read(None).unwrap();
    let root = mountinfo::mount_at(&mounts, Path::new("/")).expect("a mount at /");
    assert!(!root.fstype.is_empty());
    assert!(mountinfo::containing(&mounts, Path::new("/proc/self")).is_some());

    let by_pid = mountinfo::read(Some(std::process::id() as i32)).unwrap();
    assert!(mountinfo::mount_at(&by_pid, Path::new("/")).is_some());
}

#[test]
fn reading_a_missing_process_says_which_file() {
    // pid_max is at most 2^22, so this pid never exists.
    let err = mountinfo::read(Some(i32::MAX)).unwrap_err();
    assert!(matches!(err, MountinfoError::Read { .. }));
    assert!(
        err.to_string()
            .contains(&format!("/proc/{}/mountinfo", i32::MAX))
    );
}
