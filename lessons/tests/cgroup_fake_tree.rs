//! cgroup logic against fake cgroupfs trees in temporary directories (tier 1, no root),
//! plus one root-only test against the real host's cgroups.
//!
//! A fake tree is plain directories and regular files: the kernel's interface files that
//! a real mkdir would create are written by the test where the code needs them.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use lessons::kernel::cgroup::membership::{self, Membership};
use lessons::kernel::cgroup::{
    self, Cgroup, CgroupFs, CpuLimit, CpuStat, FsKind, Mode, NotMounted, Version,
    error::CgroupError,
};
use lessons::kernel::mountinfo;
use tempfile::TempDir;

fn tempdir() -> TempDir {
    tempfile::Builder::new()
        .prefix("learn-containers-")
        .tempdir()
        .unwrap()
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap()
}

/// The files the kernel puts in every v1 cpu cgroup that the code reads or writes.
fn populate_v1_cpu(dir: &Path) {
    write(&dir.join("cgroup.procs"), "");
    write(&dir.join("cpu.cfs_period_us"), "100000\n");
    write(&dir.join("cpu.cfs_quota_us"), "-1\n");
    write(
        &dir.join("cpu.stat"),
        "nr_periods 0\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\nburst_time 0\n",
    );
}

/// A v1 host laid out like Debian/Ubuntu: cpu and cpuacct co-mounted, with symlinks.
fn v1_tree() -> TempDir {
    let t = tempdir();
    let root = t.path();
    for h in ["cpu,cpuacct", "memory", "pids"] {
        write(&root.join(h).join("cgroup.procs"), "1\n");
    }
    populate_v1_cpu(&root.join("cpu,cpuacct"));
    symlink("cpu,cpuacct", root.join("cpu")).unwrap();
    symlink("cpu,cpuacct", root.join("cpuacct")).unwrap();
    t
}

/// A hybrid host like the development machines: separate cpu and cpuacct hierarchies,
/// and an empty cgroup2 tree at unified/.
fn hybrid_tree() -> TempDir {
    let t = tempdir();
    let root = t.path();
    for h in ["cpu", "cpuacct", "memory"] {
        write(&root.join(h).join("cgroup.procs"), "1\n");
    }
    populate_v1_cpu(&root.join("cpu"));
    write(&root.join("unified/cgroup.controllers"), "");
    write(&root.join("unified/cgroup.subtree_control"), "");
    t
}

/// A v2 host: one tree, controllers listed in cgroup.controllers.
fn v2_tree(subtree_control: &str) -> TempDir {
    let t = tempdir();
    let root = t.path();
    write(
        &root.join("cgroup.controllers"),
        "cpuset cpu io memory pids\n",
    );
    write(&root.join("cgroup.subtree_control"), subtree_control);
    write(&root.join("cgroup.procs"), "1\n");
    t
}

#[test]
fn classify_covers_every_layout() {
    use FsKind::*;
    assert_eq!(cgroup::classify(Some(Cgroup2), None), Some(Mode::V2));
    assert_eq!(
        cgroup::classify(Some(Cgroup2), Some(Cgroup2)),
        Some(Mode::V2)
    );
    assert_eq!(
        cgroup::classify(Some(Tmpfs), Some(Cgroup2)),
        Some(Mode::Hybrid)
    );
    assert_eq!(cgroup::classify(Some(Tmpfs), None), Some(Mode::V1));
    // unified/ as a plain directory on the tmpfs is not a cgroup2 mount.
    assert_eq!(cgroup::classify(Some(Tmpfs), Some(Tmpfs)), Some(Mode::V1));
    assert_eq!(cgroup::classify(Some(Cgroup1), None), Some(Mode::V1));
    assert_eq!(cgroup::classify(Some(Other), None), None);
    assert_eq!(cgroup::classify(None, None), None);
}

#[test]
fn modes_display_as_the_book_names_them() {
    assert_eq!(Mode::V1.to_string(), "cgroup v1");
    assert_eq!(Mode::Hybrid.to_string(), "hybrid");
    assert_eq!(Mode::V2.to_string(), "cgroup v2");
}

/// A statfs stand-in: the kinds of the listed paths, None for anything else.
fn kinds(table: &[(PathBuf, FsKind)]) -> impl Fn(&Path) -> Option<FsKind> {
    let map: HashMap<PathBuf, FsKind> = table.iter().cloned().collect();
    move |p| map.get(p).copied()
}

#[test]
fn detect_mode_reads_the_layout_through_the_probe() {
    let t = hybrid_tree();
    let root = t.path();
    let d = cgroup::detect_mode(
        root,
        kinds(&[
            (root.to_path_buf(), FsKind::Tmpfs),
            (root.join("unified"), FsKind::Cgroup2),
            (root.join("cpu"), FsKind::Cgroup1),
            (root.join("memory"), FsKind::Cgroup1),
        ]),
    )
    .unwrap();
    assert_eq!(d.mode, Mode::Hybrid);
    let is_tmpfs = format!("{} is tmpfs", root.display());
    let is_cgroup2 = format!("{} is cgroup2", root.join("unified").display());
    assert!(d.how.starts_with("statfs: "), "{}", d.how);
    assert!(d.how.contains(&is_tmpfs), "{}", d.how);
    assert!(d.how.contains(&is_cgroup2), "{}", d.how);
    assert!(d.how.contains("cpu memory"), "{}", d.how);

    let d = cgroup::detect_mode(root, kinds(&[(root.to_path_buf(), FsKind::Cgroup2)])).unwrap();
    assert_eq!(d.mode, Mode::V2);
    assert!(!d.how.contains("unified"), "{}", d.how);

    let t = v1_tree();
    let root = t.path();
    let d = cgroup::detect_mode(
        root,
        kinds(&[
            (root.to_path_buf(), FsKind::Tmpfs),
            (root.join("cpu,cpuacct"), FsKind::Cgroup1),
        ]),
    )
    .unwrap();
    assert_eq!(d.mode, Mode::V1);
    assert!(d.how.contains("does not exist"), "{}", d.how);
}

#[test]
fn a_tmpfs_without_cgroup_mounts_is_not_a_cgroup_host() {
    let t = v1_tree();
    let root = t.path();
    let err = cgroup::detect_mode(root, kinds(&[(root.to_path_buf(), FsKind::Tmpfs)])).unwrap_err();
    assert!(matches!(err, NotMounted { .. }));
    assert!(err.to_string().contains("learn-containers doctor"), "{err}");

    let err = cgroup::detect_mode(root, kinds(&[])).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn v1_tree_finds_comounted_controllers() {
    let t = v1_tree();
    let fs = CgroupFs::from_tree(t.path(), Mode::V1).unwrap();
    assert_eq!(fs.mode, Mode::V1);
    assert_eq!(fs.detection().mode, Mode::V1);
    assert!(fs.v2_root().is_none());
    let cpu = fs.controller("cpu").unwrap();
    assert_eq!(cpu.version, Version::V1);
    assert_eq!(cpu.dir, t.path().join("cpu,cpuacct"));
    assert_eq!(fs.controller("cpuacct").unwrap().dir, cpu.dir);
    assert_eq!(
        fs.controller("memory").unwrap().dir,
        t.path().join("memory")
    );
    assert!(fs.controller("io").is_none());
}

#[test]
fn v1_tree_follows_symlinks_when_only_they_name_a_controller() {
    let t = tempdir();
    write(&t.path().join("cpu_hier/cgroup.procs"), "");
    symlink("cpu_hier", t.path().join("cpu")).unwrap();
    let fs = CgroupFs::from_tree(t.path(), Mode::V1).unwrap();
    assert_eq!(fs.controller("cpu").unwrap().dir, t.path().join("cpu"));
}

#[test]
fn hybrid_tree_uses_v1_controllers_and_knows_the_unified_tree() {
    let t = hybrid_tree();
    let fs = CgroupFs::from_tree(t.path(), Mode::Hybrid).unwrap();
    assert_eq!(fs.v2_root(), Some(t.path().join("unified").as_path()));
    let cpu = fs.controller("cpu").unwrap();
    assert_eq!(cpu.version, Version::V1);
    assert_eq!(cpu.dir, t.path().join("cpu"));
    assert_eq!(
        fs.controller("cpuacct").unwrap().dir,
        t.path().join("cpuacct")
    );
    assert!(fs.controller("unified").is_none());
    assert!(fs.controller("pids").is_none());

    // A controller only the unified tree has (hugetlb on the dev VMs) is found there.
    write(&t.path().join("unified/cgroup.controllers"), "hugetlb\n");
    let huge = fs.controller("hugetlb").unwrap();
    assert_eq!(
        (huge.version, huge.dir.as_path()),
        (Version::V2, fs.v2_root().unwrap())
    );
    let names: Vec<String> = fs.controllers().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["cpu", "cpuacct", "memory", "hugetlb"]);
}

#[test]
fn v2_tree_lists_controllers_from_cgroup_controllers() {
    let t = v2_tree("");
    let fs = CgroupFs::from_tree(t.path(), Mode::V2).unwrap();
    assert_eq!(fs.v2_root(), Some(t.path()));
    for name in ["cpu", "memory", "pids", "io", "cpuset"] {
        let c = fs.controller(name).unwrap();
        assert_eq!((c.version, c.dir.as_path()), (Version::V2, t.path()));
    }
    assert!(fs.controller("cpuacct").is_none());
}

#[test]
fn a_v2_tree_without_cgroup_controllers_is_rejected() {
    let t = tempdir();
    assert!(CgroupFs::from_tree(t.path(), Mode::V2).is_err());
    assert!(CgroupFs::from_tree(t.path(), Mode::Hybrid).is_err());
}

#[test]
fn v2_create_enables_the_controller_for_the_subtree() {
    let t = v2_tree("");
    let root = t.path();
    // What the kernel puts in learn-containers/ when it is created.
    write(&root.join("learn-containers/cgroup.subtree_control"), "");
    let fs = CgroupFs::from_tree(root, Mode::V2).unwrap();
    let cg = fs.create("cpu", "demo").unwrap();
    assert_eq!(cg.version, Version::V2);
    assert_eq!(cg.path, root.join("learn-containers/demo"));
    assert!(cg.path.is_dir());
    assert_eq!(read(&root.join("cgroup.subtree_control")), "+cpu");
    assert_eq!(
        read(&root.join("learn-containers/cgroup.subtree_control")),
        "+cpu"
    );
    assert_eq!(
        fs.learn_containers_dirs(),
        vec![root.join("learn-containers")]
    );
}

#[test]
fn v2_create_does_not_write_where_the_controller_is_already_enabled() {
    let t = v2_tree("cpu memory\n");
    let root = t.path();
    write(
        &root.join("learn-containers/cgroup.subtree_control"),
        "cpu\n",
    );
    let fs = CgroupFs::from_tree(root, Mode::V2).unwrap();
    fs.create("cpu", "demo").unwrap();
    assert_eq!(read(&root.join("cgroup.subtree_control")), "cpu memory\n");
    assert_eq!(
        read(&root.join("learn-containers/cgroup.subtree_control")),
        "cpu\n"
    );
}

#[test]
fn interface_files_are_never_made_up() {
    // A fresh learn-containers/ on a fake tree lacks the kernel's files: create() must
    // fail rather than create cgroup.subtree_control itself.
    let t = v2_tree("cpu\n");
    let fs = CgroupFs::from_tree(t.path(), Mode::V2).unwrap();
    let err = fs.create("cpu", "demo").unwrap_err();
    assert!(err.to_string().contains("cgroup.subtree_control"), "{err}");
    assert!(
        !t.path()
            .join("learn-containers/cgroup.subtree_control")
            .exists()
    );
}

#[test]
fn v1_create_makes_the_directory_under_learn_containers_only() {
    let t = v1_tree();
    let root = t.path();
    let fs = CgroupFs::from_tree(root, Mode::V1).unwrap();
    let cg = fs.create("cpu", "demo").unwrap();
    assert_eq!(cg.version, Version::V1);
    assert_eq!(cg.path, root.join("cpu,cpuacct/learn-containers/demo"));
    assert!(cg.path.is_dir());
    // The hierarchy's own files are untouched.
    assert_eq!(read(&root.join("cpu,cpuacct/cpu.cfs_quota_us")), "-1\n");

    let again = fs.create("cpu", "demo").unwrap_err();
    assert!(matches!(again, CgroupError::Exists { .. }));
    assert!(
        again.to_string().contains("learn-containers clean"),
        "{again}"
    );

    fs.create("memory", "demo").unwrap();
    assert_eq!(
        fs.learn_containers_dirs(),
        vec![
            root.join("cpu,cpuacct/learn-containers"),
            root.join("memory/learn-containers"),
        ]
    );
}

#[test]
fn bad_cgroup_names_are_refused() {
    let t = v1_tree();
    let fs = CgroupFs::from_tree(t.path(), Mode::V1).unwrap();
    for name in ["", ".", "..", "a/b", "../../escape", "cgroup.procs"] {
        let err = fs.create("cpu", name).unwrap_err();
        assert!(
            matches!(err, CgroupError::InvalidName { .. }),
            "{name:?}: {err}"
        );
    }
    assert!(!t.path().join("escape").exists());
}

#[test]
fn a_missing_controller_points_to_doctor() {
    let t = hybrid_tree();
    let fs = CgroupFs::from_tree(t.path(), Mode::Hybrid).unwrap();
    let err = fs.create("pids", "demo").unwrap_err();
    assert!(matches!(err, CgroupError::MissingController { .. }));
    let shown = err.to_string();
    assert!(shown.contains("no pids controller is mounted"), "{shown}");
    assert!(shown.contains("learn-containers doctor"), "{shown}");
    assert!(!t.path().join("learn-containers").exists());
}

#[test]
fn v2_cpu_limit_goes_to_cpu_max() {
    let t = v2_tree("cpu\n");
    write(
        &t.path().join("learn-containers/cgroup.subtree_control"),
        "cpu\n",
    );
    let fs = CgroupFs::from_tree(t.path(), Mode::V2).unwrap();
    let cg = fs.create("cpu", "demo").unwrap();
    write(&cg.file("cpu.max"), "max 100000\n");
    assert_eq!(cg.limit::<CpuLimit>().unwrap(), CpuLimit::unlimited());

    let half = CpuLimit::from_cpus(0.5).unwrap();
    cg.set(&half).unwrap();
    assert_eq!(read(&cg.file("cpu.max")), "50000 100000");
    assert_eq!(cg.limit::<CpuLimit>().unwrap(), half);
}

#[test]
fn v1_cpu_limit_goes_to_period_and_quota() {
    let t = v1_tree();
    let fs = CgroupFs::from_tree(t.path(), Mode::V1).unwrap();
    let cg = fs.create("cpu", "demo").unwrap();
    populate_v1_cpu(&cg.path);

    let limit = CpuLimit::from_cpus(1.5).unwrap();
    cg.set(&limit).unwrap();
    assert_eq!(read(&cg.file("cpu.cfs_period_us")), "100000");
    assert_eq!(read(&cg.file("cpu.cfs_quota_us")), "150000");
    assert_eq!(cg.limit::<CpuLimit>().unwrap(), limit);

    cg.set(&CpuLimit::unlimited()).unwrap();
    assert_eq!(read(&cg.file("cpu.cfs_quota_us")), "-1");
    assert_eq!(cg.limit::<CpuLimit>().unwrap().quota_us, None);
}

#[test]
fn a_cgroup_without_the_cpu_files_is_an_error_naming_the_file() {
    let t = v1_tree();
    let fs = CgroupFs::from_tree(t.path(), Mode::V1).unwrap();
    let cg = fs.create("memory", "demo").unwrap();
    let err = cg.set(&CpuLimit::from_cpus(0.5).unwrap()).unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("cpu.cfs_period_us"), "{shown}");
    assert!(shown.contains("100000"), "{shown}");
    assert!(!cg.file("cpu.cfs_period_us").exists());
}

#[test]
fn cpus_convert_to_quota_like_docker() {
    let quota = |c: f64| CpuLimit::from_cpus(c).unwrap().quota_us.unwrap();
    assert_eq!(quota(0.5), 50_000);
    assert_eq!(quota(1.5), 150_000);
    assert_eq!(quota(2.0), 200_000);
    assert_eq!(quota(0.01), 1_000);
    assert_eq!(CpuLimit::from_cpus(0.5).unwrap().period_us, 100_000);
    assert_eq!(CpuLimit::from_cpus(0.25).unwrap().cpus(), Some(0.25));

    for bad in [
        0.0,
        -0.0,
        -1.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.001,
        1e12,
    ] {
        let err = CpuLimit::from_cpus(bad).unwrap_err();
        assert!(
            matches!(err, CgroupError::InvalidCpus { .. }),
            "{bad}: {err}"
        );
    }
    let tiny = CpuLimit::from_cpus(0.001).unwrap_err().to_string();
    assert!(tiny.contains("1000us"), "{tiny}");
}

#[test]
fn cpu_limit_maps_between_v1_and_v2() {
    let half = CpuLimit::from_cpus(0.5).unwrap();
    assert_eq!(half.v2_line(), "50000 100000");
    assert_eq!(
        half.v1_files(),
        [
            ("cpu.cfs_period_us", "100000".to_string()),
            ("cpu.cfs_quota_us", "50000".to_string()),
        ]
    );
    let max = CpuLimit::unlimited();
    assert_eq!(max.v2_line(), "max 100000");
    assert_eq!(max.v1_files()[1], ("cpu.cfs_quota_us", "-1".to_string()));

    assert_eq!(CpuLimit::parse_v2("50000 100000\n").unwrap(), half);
    assert_eq!(CpuLimit::parse_v2("max 100000").unwrap(), max);
    assert_eq!(CpuLimit::parse_v2("max").unwrap(), max);
    assert_eq!(CpuLimit::parse_v1("100000\n", "50000\n").unwrap(), half);
    assert_eq!(CpuLimit::parse_v1("100000\n", "-1\n").unwrap(), max);
    for bad in ["", "half 100000", "50000 often", "1 2 3"] {
        let err = CpuLimit::parse_v2(bad).unwrap_err();
        assert!(err.to_string().contains("cpu.max"), "{bad:?}: {err}");
    }
}

#[test]
fn parses_v2_cpu_stat() {
    let text = "\
usage_usec 8204528
user_usec 5411820
system_usec 2792708
core_sched.force_idle_usec 0
nr_periods 120
nr_throttled 57
throttled_usec 2849301
nr_bursts 0
burst_usec 0
";
    assert_eq!(
        cgroup::parse_cpu_stat(text, Version::V2),
        CpuStat {
            nr_periods: 120,
            nr_throttled: 57,
            throttled_usec: 2_849_301,
            usage_usec: Some(8_204_528),
        }
    );
    // Without the cpu controller enabled, v2 cpu.stat has only the usage keys.
    let bare = "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n";
    assert_eq!(
        cgroup::parse_cpu_stat(bare, Version::V2),
        CpuStat {
            usage_usec: Some(1500),
            ..CpuStat::default()
        }
    );
}

#[test]
fn parses_v1_cpu_stat_converting_nanoseconds() {
    let text = "\
nr_periods 120
nr_throttled 57
throttled_time 2849301123
nr_bursts 0
burst_time 0
wait_sum 0
";
    assert_eq!(
        cgroup::parse_cpu_stat(text, Version::V1),
        CpuStat {
            nr_periods: 120,
            nr_throttled: 57,
            throttled_usec: 2_849_301,
            usage_usec: None,
        }
    );
}

#[test]
fn v1_cpu_stat_takes_usage_from_cpuacct_when_comounted() {
    let t = v1_tree();
    let fs = CgroupFs::from_tree(t.path(), Mode::V1).unwrap();
    let cg = fs.create("cpu", "demo").unwrap();
    populate_v1_cpu(&cg.path);
    assert_eq!(cg.cpu_stat().unwrap().usage_usec, None);
    write(&cg.file("cpuacct.usage"), "123456789\n");
    assert_eq!(cg.cpu_stat().unwrap().usage_usec, Some(123_456));
}

#[test]
fn procs_and_add_process() {
    let t = v1_tree();
    let fs = CgroupFs::from_tree(t.path(), Mode::V1).unwrap();
    let cg = fs.create("cpu", "demo").unwrap();
    populate_v1_cpu(&cg.path);
    assert_eq!(cg.procs().unwrap(), Vec::<i32>::new());
    write(&cg.file("cgroup.procs"), "12\n34\n");
    assert_eq!(cg.procs().unwrap(), vec![12, 34]);
    // 0 would move the writer itself.
    for bad in [0, -1] {
        assert!(matches!(
            cg.add_process(bad),
            Err(CgroupError::InvalidPid { .. })
        ));
    }
    cg.add_process(4242).unwrap();
    assert_eq!(read(&cg.file("cgroup.procs")), "4242");
    write(&cg.file("cgroup.procs"), "12\nnot-a-pid\n");
    assert!(matches!(cg.procs(), Err(CgroupError::Parse { .. })));
}

#[test]
fn parses_proc_pid_cgroup() {
    let hybrid = "\
9:name=systemd:/
4:memory:/process_api/0cf50fd0
2:cpu,cpuacct:/learn-containers/demo
0::/
";
    let m = |hierarchy: u32, controllers: &[&str], path: &str| Membership {
        hierarchy,
        controllers: controllers.iter().map(|c| c.to_string()).collect(),
        path: PathBuf::from(path),
    };
    let parsed = membership::parse(hybrid);
    assert_eq!(parsed.len(), 4);
    assert_eq!(parsed[0], m(9, &["name=systemd"], "/"));
    assert_eq!(
        parsed[2],
        m(2, &["cpu", "cpuacct"], "/learn-containers/demo")
    );
    assert!(parsed[2].binds("cpuacct") && !parsed[2].binds("memory"));
    assert_eq!(parsed[3], m(0, &[], "/"));
    assert!(parsed[3].is_unified() && !parsed[0].is_unified());
    let v2 = membership::parse("0::/user.slice/a:b.scope\ngarbage\n");
    assert_eq!(v2, vec![m(0, &[], "/user.slice/a:b.scope")]);
}

#[test]
fn v1_controllers_come_from_mountinfo_super_options() {
    let text = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
90 27 0:32 / /elsewhere/memory rw,relatime - cgroup cgroup rw,memory
";
    let mounts = mountinfo::parse(text).unwrap();
    let dirs = cgroup::v1_controller_dirs(&mounts, Path::new("/sys/fs/cgroup"));
    let got: Vec<(&str, &Path)> = dirs
        .iter()
        .map(|(c, p)| (c.as_str(), p.as_path()))
        .collect();
    assert_eq!(
        got,
        [
            ("cpu", Path::new("/sys/fs/cgroup/cpu,cpuacct")),
            ("cpuacct", Path::new("/sys/fs/cgroup/cpu,cpuacct")),
            ("memory", Path::new("/sys/fs/cgroup/memory")),
        ]
    );
}

#[test]
fn remove_refuses_paths_outside_learn_containers() {
    let t = tempdir();
    let outside = t.path().join("cpu/demo");
    fs::create_dir_all(&outside).unwrap();
    // The temp dir's own name only starts with "learn-containers-": not ours.
    for path in [outside.as_path(), t.path(), Path::new("/sys/fs/cgroup/cpu")] {
        let err = Cgroup::open(path, Version::V1).remove().unwrap_err();
        assert!(
            matches!(err, CgroupError::Refused { .. }),
            "{}: {err}",
            path.display()
        );
        assert!(err.to_string().contains("learn-containers/"), "{err}");
    }
    assert!(outside.is_dir());

    fs::create_dir_all(t.path().join("cpu/learn-containers")).unwrap();
    let sneaky = t.path().join("cpu/learn-containers/../demo");
    let err = Cgroup::open(&sneaky, Version::V2).remove().unwrap_err();
    assert!(err.to_string().contains(".."), "{err}");
    assert!(outside.is_dir());
}

#[test]
fn remove_takes_children_depth_first() {
    let t = tempdir();
    let ours = t.path().join("cpu/learn-containers");
    fs::create_dir_all(ours.join("demo/child/grandchild")).unwrap();
    fs::create_dir_all(ours.join("demo/sibling")).unwrap();
    fs::create_dir_all(ours.join("other")).unwrap();
    Cgroup::open(&ours.join("demo"), Version::V1)
        .remove()
        .unwrap();
    assert!(!ours.join("demo").exists());
    assert!(ours.join("other").is_dir());
    // Already gone is fine: guards may run after an explicit remove.
    Cgroup::open(&ours.join("demo"), Version::V1)
        .remove()
        .unwrap();
}

#[test]
fn remove_never_follows_symlinks() {
    let t = tempdir();
    let precious = t.path().join("precious");
    fs::create_dir_all(precious.join("keep")).unwrap();
    write(&precious.join("file"), "data");
    let ours = t.path().join("cpu/learn-containers");
    fs::create_dir_all(ours.join("demo")).unwrap();
    symlink(&precious, ours.join("demo/link")).unwrap();
    symlink(&precious, ours.join("link")).unwrap();

    let err = Cgroup::open(&ours.join("link"), Version::V1)
        .remove()
        .unwrap_err();
    assert!(matches!(err, CgroupError::Refused { .. }), "{err}");
    // The link inside makes rmdir fail; nothing behind it is touched.
    assert!(
        Cgroup::open(&ours.join("demo"), Version::V1)
            .remove()
            .is_err()
    );
    assert!(precious.join("keep").is_dir());
    assert_eq!(read(&precious.join("file")), "data");
}

/// Kills and reaps a child when dropped, so no `sleep` outlives a failing test.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn remove_never_signals_pids_listed_outside_a_cgroupfs() {
    let mut sleeper = Reaper(Command::new("sleep").arg("30").spawn().unwrap());
    let pid = sleeper.0.id() as i32;
    let t = tempdir();
    let cg = t.path().join("cpu/learn-containers/demo");
    write(&cg.join("cgroup.procs"), &format!("{pid}\n"));
    let err = Cgroup::open(&cg, Version::V1).remove().unwrap_err();
    assert!(
        err.to_string().contains("not on a cgroup filesystem"),
        "{err}"
    );
    assert!(
        sleeper.0.try_wait().unwrap().is_none(),
        "the process was signalled"
    );
    assert!(cg.is_dir());
}

/// The real-host tests share learn-containers/; run them one at a time so the one that
/// created it can also remove it.
static REAL_HOST: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn needs_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("this test needs root, and with CI=true a skip counts as a failure");
    }
    println!("skipped: needs root");
    false
}

/// Cleans up the real cgroup even when an assertion fails.
struct RealGuard {
    cgroup: Option<Cgroup>,
    child: Option<Child>,
    /// learn-containers/ when this test created it.
    created_base: Option<PathBuf>,
}

impl Drop for RealGuard {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(cg) = &self.cgroup
            && let Err(e) = cg.remove()
        {
            eprintln!("cleanup: {e}");
        }
        if let Some(base) = &self.created_base {
            // rmdir fails if another run has cgroups in it: then it is not ours to take.
            let _ = fs::remove_dir(base);
        }
    }
}

/// The mode by a second method (fstypes in mountinfo rather than statfs).
fn mode_from_mountinfo() -> Mode {
    let mounts = mountinfo::read(None).unwrap();
    let fstype = |p: &str| mountinfo::mount_at(&mounts, Path::new(p)).map(|m| m.fstype.clone());
    match (
        fstype("/sys/fs/cgroup").as_deref(),
        fstype("/sys/fs/cgroup/unified").as_deref(),
    ) {
        (Some("cgroup2"), _) => Mode::V2,
        (_, Some("cgroup2")) => Mode::Hybrid,
        _ => Mode::V1,
    }
}

#[test]
fn real_host_cpu_cgroup_lifecycle() {
    if !needs_root() {
        return;
    }
    let _serial = REAL_HOST.lock().unwrap_or_else(|e| e.into_inner());
    let fs = CgroupFs::detect().unwrap();
    println!("{}: {}", fs.mode, fs.detection().how);
    // The development machines are hybrid; elsewhere the two methods must still agree.
    assert_eq!(fs.mode, mode_from_mountinfo());

    let ctrl = fs.controller("cpu").expect("a cpu controller");
    let base = ctrl.dir.join("learn-containers");
    let name = format!("test-{}", std::process::id());
    let mut guard = RealGuard {
        cgroup: None,
        child: None,
        created_base: (!base.exists()).then(|| base.clone()),
    };

    let cg = fs.create("cpu", &name).unwrap();
    guard.cgroup = Some(cg.clone());
    assert_eq!(cg.path, base.join(&name));
    assert!(cg.path.is_dir());
    assert_eq!(cg.version, ctrl.version);
    if fs.mode == Mode::Hybrid {
        assert_eq!(
            cg.path,
            Path::new("/sys/fs/cgroup/cpu/learn-containers").join(&name)
        );
    }

    let half = CpuLimit::from_cpus(0.5).unwrap();
    cg.set(&half).unwrap();
    assert_eq!(cg.limit::<CpuLimit>().unwrap(), half);

    let child = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = child.id() as i32;
    guard.child = Some(child);
    cg.add_process(pid).unwrap();
    assert_eq!(cg.procs().unwrap(), vec![pid]);
    let own = membership::parse(&fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap());
    assert!(
        own.iter()
            .any(|m| m.path.ends_with(format!("learn-containers/{name}"))),
        "{own:?}"
    );
    let stat = cg.cpu_stat().unwrap();
    if cg.version == Version::V2 {
        assert!(stat.usage_usec.is_some());
    }

    cg.remove().unwrap();
    let status = guard.child.take().unwrap().wait().unwrap();
    assert_eq!(status.signal(), Some(libc_sigkill()));
    assert!(!cg.path.exists());
    assert!(
        !Path::new("/sys/fs/cgroup/cpu/learn-containers")
            .join(&name)
            .exists()
    );
    drop(guard);
    println!("{} still exists: {}", base.display(), base.exists());
}

fn libc_sigkill() -> i32 {
    nix::sys::signal::Signal::SIGKILL as i32
}

#[test]
fn real_host_remove_empties_nested_cgroups_of_a_forking_process() {
    if !needs_root() {
        return;
    }
    let _serial = REAL_HOST.lock().unwrap_or_else(|e| e.into_inner());
    let fs = CgroupFs::detect().unwrap();
    let ctrl = fs.controller("cpu").expect("a cpu controller");
    let base = ctrl.dir.join("learn-containers");
    let name = format!("test-nested-{}", std::process::id());
    let mut guard = RealGuard {
        cgroup: None,
        child: None,
        created_base: (!base.exists()).then(|| base.clone()),
    };
    let cg = fs.create("cpu", &name).unwrap();
    guard.cgroup = Some(cg.clone());
    // A child cgroup made the way a learner's code would, with mkdir.
    let inner = Cgroup::open(&cg.path.join("inner"), cg.version);
    fs::create_dir(&inner.path).unwrap();

    // The shell forks two sleeps after it joined, so they land in `inner` too.
    let child = Command::new("sh")
        .args(["-c", "read _; sleep 30 & sleep 30 & wait"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    guard.child = Some(child);
    inner.add_process(pid).unwrap();
    {
        use std::io::Write;
        let stdin = guard.child.as_mut().unwrap().stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while inner.procs().unwrap().len() < 3 {
        assert!(std::time::Instant::now() < deadline, "{:?}", inner.procs());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }

    cg.remove().unwrap();
    assert!(!inner.path.exists());
    assert!(!cg.path.exists());
    let status = guard.child.take().unwrap().wait().unwrap();
    assert_eq!(status.signal(), Some(libc_sigkill()));
}

// ---- chapter 4's additions: guards, /proc/PID/cgroup, the learner-facing mapping ----

#[test]
fn require_names_doctor_when_the_controller_is_missing() {
    let t = v2_tree("");
    write(&t.path().join("cgroup.controllers"), "memory pids\n");
    let fs = CgroupFs::from_tree(t.path(), Mode::V2).unwrap();
    let err = fs.require("cpu").unwrap_err();
    assert!(matches!(err, CgroupError::MissingController { .. }));
    let shown = err.to_string();
    assert!(shown.contains("no cpu controller"), "{shown}");
    assert!(shown.contains("learn-containers doctor"), "{shown}");
    assert_eq!(fs.require("memory").unwrap().version, Version::V2);
}

#[test]
fn owned_cgroups_are_named_after_this_process_and_removed_on_drop() {
    let t = v1_tree();
    let fs = CgroupFs::from_tree(t.path(), Mode::V1).unwrap();
    let base = t.path().join("cpu,cpuacct/learn-containers");
    let owned = fs.create_owned("cpu", "demo").unwrap();
    let path = owned.path.clone();
    assert_eq!(path, base.join(format!("demo-{}", std::process::id())));
    assert!(path.is_dir());
    drop(owned);
    assert!(!path.exists());
    // learn-containers/ went too, since nothing else was in it.
    assert!(!base.exists());

    // Another run's cgroup keeps learn-containers/ in place.
    let owned = fs.create_owned("cpu", "demo").unwrap();
    fs::create_dir(base.join("other-1")).unwrap();
    let path = owned.path.clone();
    owned.remove().unwrap();
    assert!(!path.exists());
    assert!(base.join("other-1").is_dir());
}

#[test]
fn remove_base_if_empty_only_touches_learn_containers() {
    let t = tempdir();
    let not_ours = t.path().join("cpu/mygroup/child");
    fs::create_dir_all(&not_ours).unwrap();
    fs::remove_dir(&not_ours).unwrap();
    cgroup::remove_base_if_empty(&not_ours);
    assert!(t.path().join("cpu/mygroup").is_dir());
}

#[test]
fn proc_pid_cgroup_lines_map_to_directories() {
    let t = hybrid_tree();
    let fs = CgroupFs::from_tree(t.path(), Mode::Hybrid).unwrap();
    let text =
        "9:name=systemd:/\n2:cpuacct:/\n1:cpu:/learn-containers/ch04-verify-7/ch04-8\n0::/\n";
    assert_eq!(
        fs.dir_in_proc_cgroup(text, "cpu"),
        Some(t.path().join("cpu/learn-containers/ch04-verify-7/ch04-8"))
    );
    assert_eq!(
        fs.dir_in_proc_cgroup(text, "cpuacct"),
        Some(t.path().join("cpuacct"))
    );
    assert_eq!(fs.dir_in_proc_cgroup(text, "pids"), None);

    let t = v1_tree();
    let fs = CgroupFs::from_tree(t.path(), Mode::V1).unwrap();
    let text = "3:memory:/\n2:cpu,cpuacct:/learn-containers/demo-1\n";
    assert_eq!(
        fs.dir_in_proc_cgroup(text, "cpu"),
        Some(t.path().join("cpu,cpuacct/learn-containers/demo-1"))
    );

    let t = v2_tree("cpu\n");
    let fs = CgroupFs::from_tree(t.path(), Mode::V2).unwrap();
    let text = "0::/learn-containers/demo-1\n";
    assert_eq!(
        fs.dir_in_proc_cgroup(text, "cpu"),
        Some(t.path().join("learn-containers/demo-1"))
    );
    assert_eq!(
        fs.dir_in_proc_cgroup("0::/\n", "cpu"),
        Some(t.path().to_path_buf())
    );
}

#[test]
fn enable_for_children_writes_subtree_control_on_v2_only() {
    let t = v2_tree("cpu\n");
    write(
        &t.path().join("learn-containers/cgroup.subtree_control"),
        "cpu\n",
    );
    let fs = CgroupFs::from_tree(t.path(), Mode::V2).unwrap();
    let cg = fs.create("cpu", "verify-1").unwrap();
    write(&cg.file("cgroup.subtree_control"), "");
    cg.enable_for_children("cpu").unwrap();
    assert_eq!(read(&cg.file("cgroup.subtree_control")), "+cpu");

    let t = v1_tree();
    let fs = CgroupFs::from_tree(t.path(), Mode::V1).unwrap();
    let cg = fs.create("cpu", "verify-1").unwrap();
    cg.enable_for_children("cpu").unwrap();
    assert!(!cg.file("cgroup.subtree_control").exists());
}

#[test]
fn the_learner_facing_mapping_between_v1_and_v2_files() {
    let half = CpuLimit::from_cpus(0.5).unwrap();
    let v1 = Cgroup::open(
        Path::new("/sys/fs/cgroup/cpu/learn-containers/demo-1"),
        Version::V1,
    );
    assert_eq!(
        v1.shell_writes(&half),
        [
            "echo 100000 > /sys/fs/cgroup/cpu/learn-containers/demo-1/cpu.cfs_period_us",
            "echo 50000 > /sys/fs/cgroup/cpu/learn-containers/demo-1/cpu.cfs_quota_us",
        ]
    );
    let v2 = Cgroup::open(
        Path::new("/sys/fs/cgroup/learn-containers/demo-1"),
        Version::V2,
    );
    assert_eq!(
        v2.shell_writes(&half),
        ["echo \"50000 100000\" > /sys/fs/cgroup/learn-containers/demo-1/cpu.max"]
    );

    // What a directory holds, whichever names were written into it.
    let t = tempdir();
    let cg = Cgroup::open(t.path(), Version::V2);
    assert!(cg.cpu_limit_files().is_empty());
    write(&cg.file("cpu.cfs_quota_us"), "50000\n");
    write(&cg.file("cpu.max"), "max 100000\n");
    let files = cg.cpu_limit_files();
    assert_eq!(files.get("cpu.max").map(String::as_str), Some("max 100000"));
    assert_eq!(
        files.get("cpu.cfs_quota_us").map(String::as_str),
        Some("50000")
    );
    assert_eq!(files.len(), 2);
}

#[test]
fn cpus_beyond_the_hosts_cores_are_explained() {
    assert_eq!(CpuLimit::for_host(1.5, 2).unwrap().quota_us, Some(150_000));
    assert_eq!(CpuLimit::for_host(2.0, 2).unwrap().quota_us, Some(200_000));
    let err = CpuLimit::for_host(4.0, 2).unwrap_err().to_string();
    assert!(err.contains("this machine has 2 CPUs"), "{err}");
    assert!(err.contains("400000us per 100000us"), "{err}");
    assert!(err.contains("would not limit anything"), "{err}");
    assert!(
        CpuLimit::for_host(1.5, 1)
            .unwrap_err()
            .to_string()
            .contains("1 CPU.")
    );
    // The usual refusals still come first.
    for bad in [0.0, -1.0, f64::NAN] {
        assert!(matches!(
            CpuLimit::for_host(bad, 64),
            Err(CgroupError::InvalidCpus { .. })
        ));
    }
    assert!(cgroup::host_cpus() >= 1);
}

#[test]
fn children_lists_child_cgroups_only() {
    let t = tempdir();
    fs::create_dir_all(t.path().join("b")).unwrap();
    fs::create_dir_all(t.path().join("a/deeper")).unwrap();
    write(&t.path().join("cpu.max"), "max 100000\n");
    symlink(t.path().join("a"), t.path().join("link")).unwrap();
    let cg = Cgroup::open(t.path(), Version::V2);
    assert_eq!(cg.children(), vec![t.path().join("a"), t.path().join("b")]);
}
