//! Chapter 1 · chroot: a directory becomes /
//!
//! Read the chapter first: book/src/ch01-chroot.md, or watch `learn-containers lesson 1`.
//!
//! This program has two subcommands.
//!
//!   ch01_chroot build <ROOTFS> <BINARY>...
//!       Copy each BINARY (an absolute host path such as /usr/bin/bash) to
//!       ROOTFS/bin/<its file name>, together with everything it needs to start:
//!       its ELF interpreter and its shared libraries, each at the same path inside
//!       ROOTFS as on the host (so /lib64/ld-linux-x86-64.so.2 goes to
//!       ROOTFS/lib64/ld-linux-x86-64.so.2).
//!
//!   ch01_chroot run <ROOTFS> <CMD> [ARGS]...
//!       Make ROOTFS the root directory of this process, move into it, and execute
//!       CMD (a path inside the new root, such as /bin/bash) with ARGS.
//!
//! Work where you see todo!(). Check your work with `learn-containers verify 1`;
//! stuck? `learn-containers hint 1`.

use std::path::{Path, PathBuf};
use std::process::{Command, exit};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("build") if args.len() >= 4 => {
            let binaries: Vec<PathBuf> = args[3..].iter().map(PathBuf::from).collect();
            build(Path::new(&args[2]), &binaries)
        }
        Some("run") if args.len() >= 4 => run(Path::new(&args[2]), &args[3], &args[4..]),
        _ => Err(
            "usage: ch01_chroot build <ROOTFS> <BINARY>... | run <ROOTFS> <CMD> [ARGS]...".into(),
        ),
    };
    if let Err(e) = result {
        eprintln!("ch01_chroot: {e}");
        exit(1);
    }
}

/// Copies `src` to `dest`, creating the directories on the way.
fn copy_file(src: &Path, dest: &Path) -> Result<(), String> {
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    }
    std::fs::copy(src, dest)
        .map_err(|e| format!("copy {} to {}: {e}", src.display(), dest.display()))?;
    Ok(())
}

/// The files `binary` needs in order to start: its ELF interpreter and its shared
/// libraries, as absolute host paths.
fn dependencies(binary: &Path) -> Result<Vec<PathBuf>, String> {
    let out = Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|e| format!("running ldd: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    // `ldd` prints one line per file, for example:
    //         linux-vdso.so.1 (0x00007ffd...)
    //         libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f...)
    //         /lib64/ld-linux-x86-64.so.2 (0x00007f...)
    // See the book, section "What bash needs", and `man 8 ld.so`.
    let _ = text;
    todo!("turn ldd's lines into the paths of the interpreter and the libraries")
}

fn build(rootfs: &Path, binaries: &[PathBuf]) -> Result<(), String> {
    for binary in binaries {
        let name = binary
            .file_name()
            .ok_or(format!("{} has no file name", binary.display()))?;
        copy_file(binary, &rootfs.join("bin").join(name))?;
        for dep in dependencies(binary)? {
            let _ = dep;
            todo!("copy the dependency to the same path inside ROOTFS")
        }
    }
    Ok(())
}

fn run(rootfs: &Path, cmd: &str, args: &[String]) -> Result<(), String> {
    // See `man 2 chroot` (DESCRIPTION: what it changes, and what it leaves alone), and
    // std::os::unix::fs::chroot or nix::unistd::chroot.
    let _ = (rootfs, cmd, args);
    todo!("chroot into ROOTFS, change directory to the new /, then exec CMD with ARGS")
}
