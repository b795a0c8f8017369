//! The memory and pids controllers against fake cgroupfs trees in temporary directories
//! (tier 1, no root): which files a limit goes to on v1 and v2, what is skipped where the
//! kernel has no swap accounting, how the counters are read, and how one purpose gets a
//! cgroup in each hierarchy (v1, hybrid) or one for both (v2).
//!
//! A fake tree is plain directories and regular files: the kernel's interface files that
//! a real mkdir would create are written by the test where the code needs them.

use std::fs;
use std::path::Path;

use lessons::kernel::cgroup::{
    Cgroup, CgroupFs, MemoryLimit, Mode, PidsMax, Version, error::CgroupError,
};
use tempfile::TempDir;

const MIB64: u64 = 64 << 20;

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

/// The files a real v1 memory cgroup has that the code reads or writes; `memsw`: whether
/// the kernel accounts swap (`swapaccount=1`).
fn populate_v1_memory(dir: &Path, memsw: bool) {
    write(&dir.join("cgroup.procs"), "");
    write(&dir.join("memory.limit_in_bytes"), "9223372036854771712\n");
    write(&dir.join("memory.usage_in_bytes"), "0\n");
    write(&dir.join("memory.max_usage_in_bytes"), "0\n");
    write(
        &dir.join("memory.oom_control"),
        "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
    );
    if memsw {
        write(
            &dir.join("memory.memsw.limit_in_bytes"),
            "9223372036854771712\n",
        );
    }
}

fn populate_pids(dir: &Path) {
    write(&dir.join("cgroup.procs"), "");
    write(&dir.join("pids.max"), "max\n");
    write(&dir.join("pids.current"), "0\n");
    write(&dir.join("pids.events"), "max 0\n");
}

/// A hybrid host like the development machines: memory and pids in hierarchies of their
/// own, and an empty cgroup2 tree at unified/.
fn hybrid_tree() -> TempDir {
    let t = tempdir();
    let root = t.path();
    for h in ["cpu", "memory", "pids"] {
        write(&root.join(h).join("cgroup.procs"), "1\n");
    }
    write(&root.join("unified/cgroup.controllers"), "");
    write(&root.join("unified/cgroup.subtree_control"), "");
    t
}

/// A v2 host with memory and pids enabled at the root already.
fn v2_tree() -> TempDir {
    let t = tempdir();
    let root = t.path();
    write(&root.join("cgroup.controllers"), "cpu memory pids\n");
    write(&root.join("cgroup.subtree_control"), "cpu memory pids\n");
    write(&root.join("cgroup.procs"), "1\n");
    write(
        &root.join("learn-containers/cgroup.subtree_control"),
        "memory pids\n",
    );
    t
}

/// Empties a fake cgroup of its plain files, so that rmdir works as on cgroupfs.
fn unfake(dir: &Path) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_file() {
            fs::remove_file(e.path()).unwrap();
        }
    }
}

#[test]
fn v2_gives_memory_and_pids_one_cgroup() {
    let t = v2_tree();
    let fs = CgroupFs::from_tree(t.path(), Mode::V2).unwrap();
    let joint = fs
        .create_owned_joint(&["memory", "pids"], "ch09-test")
        .unwrap();
    let dir = t
        .path()
        .join(format!("learn-containers/ch09-test-{}", std::process::id()));
    assert_eq!(joint.cgroups().count(), 1);
    assert_eq!(joint.of("memory").unwrap().path, dir);
    assert_eq!(joint.of("pids").unwrap().path, dir);
    assert!(joint.of("cpu").is_none());
    unfake(&dir);
    joint.remove().unwrap();
    assert!(!dir.exists());
}

#[test]
fn hybrid_gives_memory_and_pids_a_cgroup_each() {
    let t = hybrid_tree();
    let fs = CgroupFs::from_tree(t.path(), Mode::Hybrid).unwrap();
    let joint = fs
        .create_owned_joint(&["memory", "pids"], "ch09-test")
        .unwrap();
    let name = format!("learn-containers/ch09-test-{}", std::process::id());
    let memory = joint.of("memory").unwrap().clone();
    let pids = joint.of("pids").unwrap().clone();
    assert_eq!(memory.path, t.path().join("memory").join(&name));
    assert_eq!(pids.path, t.path().join("pids").join(&name));
    assert_eq!(memory.version, Version::V1);
    // Children for the program itself, one in each.
    let run = joint.make_children("run").unwrap();
    assert_eq!(run[0].path, memory.path.join("run"));
    assert_eq!(run[1].path, pids.path.join("run"));
    joint.remove().unwrap();
    assert!(!memory.path.exists() && !pids.path.exists());
}

#[test]
fn controllers_in_different_v1_hierarchies_cannot_share_one_cgroup() {
    let t = hybrid_tree();
    let fs = CgroupFs::from_tree(t.path(), Mode::Hybrid).unwrap();
    let err = fs.create_for(&["memory", "pids"], "both").unwrap_err();
    assert!(matches!(err, CgroupError::NotTogether { .. }), "{err}");
    assert!(!t.path().join("memory/learn-containers/both").exists());
}

#[test]
fn v2_memory_limit_goes_to_memory_max_and_swap_max() {
    let t = v2_tree();
    let cg = Cgroup::open(&t.path().join("learn-containers"), Version::V2);
    write(&cg.file("memory.max"), "max\n");
    write(&cg.file("memory.swap.max"), "max\n");
    cg.set(&MemoryLimit::no_swap(MIB64)).unwrap();
    assert_eq!(read(&cg.file("memory.max")), "67108864");
    assert_eq!(read(&cg.file("memory.swap.max")), "0");
    assert_eq!(
        cg.limit::<MemoryLimit>().unwrap(),
        MemoryLimit::no_swap(MIB64)
    );
    assert_eq!(cg.swap_file(), Some("memory.swap.max"));
    assert_eq!(
        cg.shell_writes(&MemoryLimit::no_swap(MIB64)),
        vec![
            format!("echo 67108864 > {}", cg.file("memory.max").display()),
            format!("echo 0 > {}", cg.file("memory.swap.max").display()),
        ]
    );
}

#[test]
fn v1_memory_limit_holds_memsw_to_it_where_swap_is_accounted() {
    let t = hybrid_tree();
    let dir = t.path().join("memory/learn-containers/a");
    populate_v1_memory(&dir, true);
    let cg = Cgroup::open(&dir, Version::V1);
    cg.set(&MemoryLimit::no_swap(MIB64)).unwrap();
    assert_eq!(read(&cg.file("memory.limit_in_bytes")), "67108864");
    assert_eq!(read(&cg.file("memory.memsw.limit_in_bytes")), "67108864");
    assert_eq!(
        cg.limit::<MemoryLimit>().unwrap(),
        MemoryLimit::no_swap(MIB64)
    );
}

#[test]
fn without_swap_accounting_the_swap_file_is_skipped_and_never_made_up() {
    let t = hybrid_tree();
    let dir = t.path().join("memory/learn-containers/a");
    populate_v1_memory(&dir, false);
    let cg = Cgroup::open(&dir, Version::V1);
    cg.set(&MemoryLimit::no_swap(MIB64)).unwrap();
    assert_eq!(read(&cg.file("memory.limit_in_bytes")), "67108864");
    assert!(!cg.file("memory.memsw.limit_in_bytes").exists());
    assert_eq!(cg.swap_file(), None);
    // Read back: no swap limit known.
    assert_eq!(
        cg.limit::<MemoryLimit>().unwrap(),
        MemoryLimit {
            max: Some(MIB64),
            swap: None
        }
    );
}

#[test]
fn a_missing_memory_limit_file_is_an_error_naming_it() {
    let t = hybrid_tree();
    let dir = t.path().join("pids/learn-containers/a");
    populate_pids(&dir);
    let cg = Cgroup::open(&dir, Version::V1);
    let err = cg.set(&MemoryLimit::no_swap(MIB64)).unwrap_err();
    assert!(err.to_string().contains("memory.limit_in_bytes"), "{err}");
    assert!(!cg.file("memory.limit_in_bytes").exists());
}

#[test]
fn pids_max_is_the_same_file_on_both_versions() {
    for (version, t) in [(Version::V1, hybrid_tree()), (Version::V2, v2_tree())] {
        let dir = t.path().join("pids/learn-containers/a");
        populate_pids(&dir);
        let cg = Cgroup::open(&dir, version);
        cg.set(&PidsMax::new(20)).unwrap();
        assert_eq!(read(&cg.file("pids.max")), "20");
        assert_eq!(cg.limit::<PidsMax>().unwrap(), PidsMax::new(20));
        write(&cg.file("pids.events"), "max 7\n");
        write(&cg.file("pids.current"), "20\n");
        assert_eq!(cg.pids_events().unwrap().max, 7);
        assert_eq!(cg.pids_current().unwrap(), 20);
    }
}

#[test]
fn oom_kills_peak_and_usage_are_read_from_each_versions_files() {
    let t = hybrid_tree();
    let dir = t.path().join("memory/learn-containers/a");
    populate_v1_memory(&dir, true);
    let v1 = Cgroup::open(&dir, Version::V1);
    write(
        &v1.file("memory.oom_control"),
        "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
    );
    write(&v1.file("memory.max_usage_in_bytes"), "67108864\n");
    write(&v1.file("memory.usage_in_bytes"), "4096\n");
    assert_eq!(v1.oom_kills().unwrap(), 1);
    assert_eq!(v1.memory_peak().unwrap(), Some(MIB64));
    assert_eq!(v1.memory_current().unwrap(), 4096);
    // A kernel before 4.13 has no oom_kill line.
    write(
        &v1.file("memory.oom_control"),
        "oom_kill_disable 0\nunder_oom 0\n",
    );
    assert!(v1.oom_kills().is_err());

    let t = v2_tree();
    let v2 = Cgroup::open(&t.path().join("learn-containers"), Version::V2);
    write(
        &v2.file("memory.events"),
        "low 0\nhigh 3\nmax 20\noom 1\noom_kill 1\n",
    );
    write(&v2.file("memory.current"), "8192\n");
    assert_eq!(v2.oom_kills().unwrap(), 1);
    assert_eq!(v2.memory_events().unwrap().high, 3);
    assert_eq!(v2.memory_current().unwrap(), 8192);
    // memory.peak came in Linux 5.19.
    assert_eq!(v2.memory_peak().unwrap(), None);
    write(&v2.file("memory.peak"), "67100000\n");
    assert_eq!(v2.memory_peak().unwrap(), Some(67_100_000));
}

#[test]
fn memory_high_is_v2_only() {
    let t = hybrid_tree();
    let dir = t.path().join("memory/learn-containers/a");
    populate_v1_memory(&dir, true);
    let err = Cgroup::open(&dir, Version::V1)
        .set_memory_high(Some(MIB64))
        .unwrap_err();
    assert!(err.to_string().contains("cgroup v2 only"), "{err}");

    let t = v2_tree();
    let v2 = Cgroup::open(&t.path().join("learn-containers"), Version::V2);
    write(&v2.file("memory.high"), "max\n");
    v2.set_memory_high(Some(MIB64)).unwrap();
    assert_eq!(read(&v2.file("memory.high")), "67108864");
    v2.set_memory_high(None).unwrap();
    assert_eq!(read(&v2.file("memory.high")), "max");
}
