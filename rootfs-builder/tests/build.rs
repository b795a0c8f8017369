//! Tier 1: writing a rootfs safely, no root needed.

mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use common::{opts, tempdir};
use rootfs_builder::{BuildError, Entry, EntryKind, MARKER, Plan, build, plan};

fn small_plan() -> Plan {
    plan(&opts(&["bash"], true)).unwrap()
}

fn contents(dest: &str, text: &str) -> Entry {
    Entry {
        dest: dest.into(),
        kind: EntryKind::Contents(text.into()),
        why: "test".into(),
    }
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Every path below `dir`, for "nothing was written here" checks.
fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if fs::symlink_metadata(&p).unwrap().is_dir() {
            out.extend(listing(&p));
        }
        out.push(p);
    }
    out.sort();
    out
}

#[test]
fn builds_a_faithful_copy_and_calls_on_entry_once_per_entry() {
    let root = tempdir();
    let dir = root.path().join("rootfs");
    let plan = small_plan();
    let mut seen = vec![];
    build(&dir, &plan, &mut |e| seen.push(e.dest.clone())).unwrap();
    let planned: Vec<_> = plan.entries.iter().map(|e| e.dest.clone()).collect();
    assert_eq!(seen, planned);

    for e in &plan.entries {
        let path = dir.join(&e.dest);
        let meta = fs::symlink_metadata(&path).unwrap();
        match &e.kind {
            EntryKind::File { source } => {
                assert!(meta.is_file(), "{} is not a regular file", e.dest.display());
                assert_eq!(fs::read(&path).unwrap(), fs::read(source).unwrap());
                assert_eq!(mode(&path), mode(&source.canonicalize().unwrap()) & 0o777);
            }
            EntryKind::Contents(text) => assert_eq!(&fs::read_to_string(&path).unwrap(), text),
            EntryKind::Dir => assert!(meta.is_dir()),
            EntryKind::Symlink { target } => assert_eq!(&fs::read_link(&path).unwrap(), target),
        }
    }
    // Every directory on the way is real, including lib/ on a usrmerge host.
    for p in listing(&dir) {
        assert!(
            !fs::symlink_metadata(&p).unwrap().is_symlink(),
            "{}",
            p.display()
        );
    }
    assert_eq!(mode(&dir.join("tmp")), 0o1777);
    assert_eq!(mode(&dir.join("proc")), 0o755);
    let marker = fs::read_to_string(dir.join(MARKER)).unwrap();
    assert!(marker.lines().any(|l| l == "bin/bash"), "{marker}");
}

#[test]
fn building_twice_into_its_own_output_succeeds() {
    let root = tempdir();
    let plan = small_plan();
    build(root.path(), &plan, &mut |_| {}).unwrap();
    let first = listing(root.path());
    let mut count = 0;
    build(root.path(), &plan, &mut |_| count += 1).unwrap();
    assert_eq!(count, plan.entries.len());
    assert_eq!(
        listing(root.path()),
        first,
        "no leftovers from the second build"
    );
}

#[test]
fn refuses_the_hosts_root() {
    // An empty plan: even a broken check could write no more than the marker.
    let empty = Plan::default();
    let err = build(Path::new("/"), &empty, &mut |_| {}).unwrap_err();
    assert!(matches!(err, BuildError::RefusedRoot { .. }), "{err:?}");
    let err = build(Path::new("/tmp/.."), &empty, &mut |_| {}).unwrap_err();
    assert!(matches!(err, BuildError::RefusedRoot { .. }), "{err:?}");
    let tmp = tempdir();
    let link = tmp.path().join("slash");
    symlink("/", &link).unwrap();
    let err = build(&link, &empty, &mut |_| {}).unwrap_err();
    assert!(matches!(err, BuildError::RefusedRoot { .. }), "{err:?}");
    assert!(err.to_string().contains("pick a new directory"), "{err}");
}

#[test]
fn refuses_a_non_empty_directory_it_did_not_build() {
    let root = tempdir();
    fs::write(root.path().join("precious"), "keep me").unwrap();
    let err = build(root.path(), &small_plan(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, BuildError::NotEmpty { .. }), "{err:?}");
    assert_eq!(listing(root.path()), vec![root.path().join("precious")]);
    assert_eq!(
        fs::read_to_string(root.path().join("precious")).unwrap(),
        "keep me"
    );

    // A marker we did not write (wrong header) does not count.
    fs::write(root.path().join(MARKER), "something else\n").unwrap();
    let err = build(root.path(), &small_plan(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, BuildError::NotEmpty { .. }), "{err:?}");

    let file = root.path().join("precious");
    let err = build(&file, &small_plan(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, BuildError::NotADirectory { .. }), "{err:?}");
}

#[test]
fn paths_with_spaces_and_non_ascii_work() {
    let root = tempdir();
    // A program whose host path has a space and an ü.
    let host = root.path().join("host dir ü");
    fs::create_dir(&host).unwrap();
    let prog = host.join("grüß dich");
    fs::copy(rootfs_builder::resolve_binary("true").unwrap(), &prog).unwrap();
    let mut plan = plan(&opts(&[prog.to_str().unwrap()], true)).unwrap();
    plan.entries.push(contents("etc/naïve notes.txt", "ü\n"));

    let dir = root.path().join("rootfs with space ü");
    build(&dir, &plan, &mut |_| {}).unwrap();
    let copied = dir.join("bin/grüß dich");
    assert_eq!(fs::read(&copied).unwrap(), fs::read(&prog).unwrap());
    assert_eq!(
        fs::read_to_string(dir.join("etc/naïve notes.txt")).unwrap(),
        "ü\n"
    );
    build(&dir, &plan, &mut |_| {}).unwrap();
}

#[test]
fn a_symlinked_directory_planted_in_the_rootfs_is_never_written_through() {
    let root = tempdir();
    let outside = tempdir();
    let plan = small_plan();
    build(root.path(), &plan, &mut |_| {}).unwrap();

    for planted in ["bin", "lib", "etc"] {
        let p = root.path().join(planted);
        fs::rename(&p, root.path().join(format!("{planted}.real"))).unwrap();
        symlink(outside.path(), &p).unwrap();
        let err = build(root.path(), &plan, &mut |_| {}).unwrap_err();
        assert!(
            matches!(err, BuildError::SymlinkInDest { .. }),
            "{planted}: {err:?}"
        );
        assert!(err.to_string().contains("symlink"), "{err}");
        assert_eq!(listing(outside.path()), Vec::<PathBuf>::new(), "{planted}");
        fs::remove_file(&p).unwrap();
        fs::rename(root.path().join(format!("{planted}.real")), &p).unwrap();
    }
    build(root.path(), &plan, &mut |_| {}).unwrap();
}

#[test]
fn a_symlinked_file_planted_in_the_rootfs_is_replaced_not_followed() {
    let root = tempdir();
    let outside = tempdir();
    let victim = outside.path().join("victim");
    fs::write(&victim, "host data\n").unwrap();
    let plan = small_plan();
    build(root.path(), &plan, &mut |_| {}).unwrap();

    for planted in ["etc/hostname", "bin/bash"] {
        let p = root.path().join(planted);
        fs::remove_file(&p).unwrap();
        symlink(&victim, &p).unwrap();
    }
    build(root.path(), &plan, &mut |_| {}).unwrap();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "host data\n");
    let hostname = root.path().join("etc/hostname");
    assert!(fs::symlink_metadata(&hostname).unwrap().is_file());
    assert_eq!(fs::read_to_string(hostname).unwrap(), "learn-containers\n");
    assert!(
        fs::symlink_metadata(root.path().join("bin/bash"))
            .unwrap()
            .is_file()
    );
}

#[test]
fn entries_cannot_escape_the_rootfs() {
    let root = tempdir();
    let dir = root.path().join("rootfs");
    for dest in ["../escape", "/etc/escape", "bin/../../escape", ""] {
        let plan = Plan {
            entries: vec![contents(dest, "x")],
        };
        let err = build(&dir, &plan, &mut |_| {}).unwrap_err();
        assert!(matches!(err, BuildError::BadDest { .. }), "{dest}: {err:?}");
    }
    assert!(!root.path().join("escape").exists());
}

#[test]
fn a_file_in_the_way_of_a_directory_is_reported() {
    let root = tempdir();
    let plan = small_plan();
    build(root.path(), &plan, &mut |_| {}).unwrap();
    fs::remove_dir_all(root.path().join("bin")).unwrap();
    fs::write(root.path().join("bin"), "not a dir").unwrap();
    let err = build(root.path(), &plan, &mut |_| {}).unwrap_err();
    assert!(matches!(err, BuildError::NotADirectory { .. }), "{err:?}");

    fs::remove_file(root.path().join("bin")).unwrap();
    fs::remove_file(root.path().join("etc/hostname")).unwrap();
    fs::create_dir_all(root.path().join("etc/hostname/inner")).unwrap();
    let err = build(root.path(), &plan, &mut |_| {}).unwrap_err();
    assert!(matches!(err, BuildError::Occupied { .. }), "{err:?}");
}

#[test]
fn symlink_entries_are_written_and_rewritten() {
    let root = tempdir();
    let plan = Plan {
        entries: vec![Entry {
            dest: "bin/ps".into(),
            kind: EntryKind::Symlink {
                target: "busybox".into(),
            },
            why: "test".into(),
        }],
    };
    build(root.path(), &plan, &mut |_| {}).unwrap();
    let link = root.path().join("bin/ps");
    assert_eq!(fs::read_link(&link).unwrap(), Path::new("busybox"));
    fs::remove_file(&link).unwrap();
    symlink("/usr/bin/elsewhere", &link).unwrap();
    build(root.path(), &plan, &mut |_| {}).unwrap();
    assert_eq!(fs::read_link(&link).unwrap(), Path::new("busybox"));
}
