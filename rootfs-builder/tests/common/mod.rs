//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;

use rootfs_builder::{Options, inspect};
use tempfile::TempDir;

/// Every temp dir carries the learn-containers prefix so `clean` can find leftovers.
pub fn tempdir() -> TempDir {
    tempfile::Builder::new()
        .prefix("learn-containers-")
        .tempdir()
        .expect("create a temp dir")
}

pub fn opts(bins: &[&str], skeleton: bool) -> Options {
    Options {
        bins: bins.iter().map(|s| s.to_string()).collect(),
        busybox: false,
        skeleton,
    }
}

/// A statically linked program, how to run it, and what it prints.
pub struct StaticBin {
    pub path: PathBuf,
    pub args: Vec<&'static str>,
    pub expect: &'static str,
}

/// Compiles a tiny static C program into `dir`; falls back to static
/// binaries a Debian host may already have. None only if there is none at all.
pub fn static_binary(dir: &Path) -> Option<StaticBin> {
    let src = dir.join("hello.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\nint main(void) { puts(\"hello from a static binary\"); return 0; }\n",
    )
    .expect("write hello.c");
    let out = dir.join("hello-static");
    let compiled = Command::new("cc")
        .arg("-static")
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .status()
        .is_ok_and(|s| s.success());
    if compiled {
        return Some(StaticBin {
            path: out,
            args: vec![],
            expect: "hello from a static binary",
        });
    }
    let fallbacks: [(&str, &[&'static str], &'static str); 3] = [
        ("/bin/busybox", &["echo", "hi"], "hi"),
        ("/usr/bin/busybox", &["echo", "hi"], "hi"),
        ("/sbin/ldconfig", &["--version"], "ldconfig"),
    ];
    fallbacks.into_iter().find_map(|(path, args, expect)| {
        inspect(Path::new(path))
            .is_ok_and(|i| i.is_static)
            .then(|| StaticBin {
                path: path.into(),
                args: args.to_vec(),
                expect,
            })
    })
}

/// Tier-2 gate: true when root. Otherwise prints "skipped: needs root", or
/// fails under CI=true where a test that cannot run counts as a failure.
pub fn require_root(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: needs root, and CI=true makes a skip a failure");
    }
    println!("{test}: skipped: needs root");
    false
}

/// Same idea for tests that need a static binary.
pub fn require_static(test: &str, dir: &Path) -> Option<StaticBin> {
    let found = static_binary(dir);
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{test}: no static binary could be built or found (install gcc and libc6-dev)");
        }
        println!("{test}: skipped: no static binary could be built or found");
    }
    found
}
