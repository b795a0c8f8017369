//! Tier 1: planning and ELF inspection, no root needed.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use common::{opts, tempdir};
use rootfs_builder::{BuildError, EntryKind, build, inspect, plan, resolve_binary};

fn file_source(plan: &rootfs_builder::Plan, dest: &Path) -> PathBuf {
    match &plan
        .get(dest)
        .unwrap_or_else(|| panic!("{} not planned", dest.display()))
        .kind
    {
        EntryKind::File { source } => source.clone(),
        other => panic!("{} is {other:?}, not a file", dest.display()),
    }
}

#[test]
fn bash_plan_has_binary_interpreter_and_every_needed_library() {
    let plan = plan(&opts(&["bash"], false)).unwrap();
    let bash = file_source(&plan, Path::new("bin/bash"));
    assert_eq!(bash, resolve_binary("bash").unwrap());

    let info = inspect(Path::new("/bin/bash")).unwrap();
    assert!(!info.is_static);
    // The literal PT_INTERP path, not the file it resolves to on the host.
    let interp = info.interpreter.expect("bash is dynamically linked");
    let dest = interp.strip_prefix("/").unwrap();
    let source = file_source(&plan, dest);
    assert_eq!(source, interp.canonicalize().unwrap());
    let why = &plan.get(dest).unwrap().why;
    assert!(why.contains("PT_INTERP") && why.contains("bash"), "{why}");

    assert!(!info.needed.is_empty());
    for needed in &info.needed {
        let entry = plan
            .entries
            .iter()
            .find(|e| e.dest.file_name() == Some(needed.as_ref()))
            .unwrap_or_else(|| panic!("{needed} missing from the plan"));
        assert!(matches!(entry.kind, EntryKind::File { .. }));
        assert!(entry.why.contains("DT_NEEDED"), "{}", entry.why);
        assert!(entry.why.contains("bash"), "{}", entry.why);
    }
    for e in &plan.entries {
        assert!(e.dest.is_relative(), "{}", e.dest.display());
        assert!(!e.why.is_empty(), "{} has no why", e.dest.display());
    }
    assert!(plan.total_bytes() >= std::fs::metadata(&bash).unwrap().len());
}

#[test]
fn libraries_go_where_the_loader_looks_without_a_cache() {
    let plan = plan(&opts(&["bash", "ls"], false)).unwrap();
    let interp = inspect(Path::new("/bin/bash"))
        .unwrap()
        .interpreter
        .unwrap();
    for e in &plan.entries {
        if e.dest.starts_with("bin") || Path::new("/").join(&e.dest) == interp {
            continue;
        }
        let dir = Path::new("/").join(e.dest.parent().unwrap());
        let dir = dir
            .strip_prefix("/usr")
            .map_or(dir.clone(), |d| Path::new("/").join(d));
        let default_dir = dir == Path::new("/lib")
            || dir.parent() == Some(Path::new("/lib"))
            || dir == interp.canonicalize().unwrap().parent().unwrap();
        assert!(
            default_dir,
            "{} is outside the loader's default dirs",
            e.dest.display()
        );
    }
}

#[test]
fn shared_libraries_are_planned_once_and_name_both_users() {
    let plan = plan(&opts(&["bash", "ls"], false)).unwrap();
    let mut seen = HashSet::new();
    for e in &plan.entries {
        assert!(seen.insert(&e.dest), "{} planned twice", e.dest.display());
    }
    let libc = plan
        .entries
        .iter()
        .find(|e| e.dest.file_name() == Some("libc.so.6".as_ref()))
        .expect("libc planned");
    assert!(
        libc.why.contains("bash") && libc.why.contains("ls"),
        "{}",
        libc.why
    );
    // libc lists the loader as DT_NEEDED; it must not appear a second time.
    let interp_name = inspect(Path::new("/bin/bash"))
        .unwrap()
        .interpreter
        .unwrap()
        .file_name()
        .unwrap()
        .to_owned();
    let loaders = plan
        .entries
        .iter()
        .filter(|e| e.dest.file_name() == Some(interp_name.as_ref()))
        .count();
    assert_eq!(loaders, 1);
    // Asking twice for the same program is not an error.
    let twice = rootfs_builder::plan(&opts(&["bash", "bash"], false)).unwrap();
    assert_eq!(
        twice,
        rootfs_builder::plan(&opts(&["bash"], false)).unwrap()
    );
}

#[test]
fn binary_keeps_the_name_it_was_asked_by() {
    // On Debian /usr/bin/sh -> dash: the rootfs needs bin/sh, with dash's bytes.
    let plan = plan(&opts(&["sh"], false)).unwrap();
    let source = file_source(&plan, Path::new("bin/sh"));
    assert_eq!(source, resolve_binary("sh").unwrap());
}

#[test]
fn a_script_is_not_elf() {
    let dir = tempdir();
    let script = dir.path().join("hello.sh");
    std::fs::write(&script, "#!/bin/sh\necho hello\n").unwrap();
    let err = inspect(&script).unwrap_err();
    assert!(matches!(err, BuildError::NotElf { .. }), "{err:?}");
    assert!(
        err.to_string().contains("a script starting with #!/bin/sh"),
        "{err}"
    );

    let err = plan(&opts(&[script.to_str().unwrap()], false)).unwrap_err();
    assert!(matches!(err, BuildError::NotElf { .. }), "{err:?}");

    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    assert!(matches!(inspect(&empty), Err(BuildError::NotElf { .. })));
    assert!(matches!(
        inspect(dir.path()),
        Err(BuildError::NotElf { .. })
    ));
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "just some text\n").unwrap();
    assert!(matches!(inspect(&text), Err(BuildError::NotElf { .. })));
}

#[test]
fn a_missing_binary_is_not_found() {
    let err = resolve_binary("learn-containers-no-such-program").unwrap_err();
    assert!(matches!(err, BuildError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("--bin /usr/bin/"), "{err}");
    let err = plan(&opts(&["/nonexistent/learn-containers/prog"], false)).unwrap_err();
    assert!(matches!(err, BuildError::NotFound { .. }), "{err:?}");
    assert!(matches!(
        resolve_binary(""),
        Err(BuildError::NotFound { .. })
    ));
}

#[test]
fn resolve_binary_canonicalizes_paths_and_names() {
    let bash = resolve_binary("bash").unwrap();
    assert!(bash.is_absolute());
    assert_eq!(bash, bash.canonicalize().unwrap());
    let dir = tempdir();
    let link = dir.path().join("my bash");
    std::os::unix::fs::symlink(&bash, &link).unwrap();
    assert_eq!(resolve_binary(link.to_str().unwrap()).unwrap(), bash);
}

#[test]
fn a_static_binary_needs_nothing_else_and_runs_from_the_rootfs() {
    let work = tempdir();
    let Some(bin) = common::require_static("static binary", work.path()) else {
        return;
    };
    let info = inspect(&bin.path).unwrap();
    assert!(info.is_static, "{info:?}");
    assert_eq!(info.interpreter, None);
    assert!(info.needed.is_empty());

    let plan = plan(&opts(&[bin.path.to_str().unwrap()], false)).unwrap();
    assert_eq!(plan.entries.len(), 1, "{:#?}", plan.entries);
    let name = bin.path.file_name().unwrap();
    let entry = &plan.entries[0];
    assert_eq!(entry.dest, Path::new("bin").join(name));
    assert!(entry.why.contains("statically linked"), "{}", entry.why);

    // No chroot needed to prove the copy is complete and executable.
    let root = tempdir();
    build(root.path(), &plan, &mut |_| {}).unwrap();
    let out = std::process::Command::new(root.path().join(&entry.dest))
        .args(&bin.args)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(bin.expect));
}
