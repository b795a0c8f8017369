//! Chapter 1 · chroot: a directory becomes / (reference solution)
//!
//!   ch01_chroot build <ROOTFS> <BINARY>...   copy binaries and what they need
//!   ch01_chroot run <ROOTFS> <CMD> [ARGS]... chroot, chdir("/"), exec

use std::os::unix::process::CommandExt;
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

fn copy_file(src: &Path, dest: &Path) -> Result<(), String> {
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    }
    std::fs::copy(src, dest)
        .map_err(|e| format!("copy {} to {}: {e}", src.display(), dest.display()))?;
    Ok(())
}

// ANCHOR: dependencies
/// The files `binary` needs in order to start: its ELF interpreter and its shared
/// libraries, as absolute host paths.
fn dependencies(binary: &Path) -> Result<Vec<PathBuf>, String> {
    let out = Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|e| format!("running ldd: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut deps = Vec::new();
    for line in text.lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)": the path after "=>".
        // "/lib64/ld-linux-x86-64.so.2 (0x...)": the interpreter, already a path.
        // "linux-vdso.so.1 (0x...)": provided by the kernel, no file to copy.
        let path = match line.split_once("=>") {
            Some((_, right)) => right.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            deps.push(PathBuf::from(p));
        }
    }
    Ok(deps)
}
// ANCHOR_END: dependencies

// ANCHOR: build
fn build(rootfs: &Path, binaries: &[PathBuf]) -> Result<(), String> {
    for binary in binaries {
        let name = binary
            .file_name()
            .ok_or(format!("{} has no file name", binary.display()))?;
        copy_file(binary, &rootfs.join("bin").join(name))?;
        for dep in dependencies(binary)? {
            // Same path inside the rootfs: that is where the loader will look.
            let inside = dep.strip_prefix("/").expect("ldd prints absolute paths");
            copy_file(&dep, &rootfs.join(inside))?;
        }
    }
    Ok(())
}
// ANCHOR_END: build

// ANCHOR: run
fn run(rootfs: &Path, cmd: &str, args: &[String]) -> Result<(), String> {
    std::os::unix::fs::chroot(rootfs).map_err(|e| format!("chroot {}: {e}", rootfs.display()))?;
    // chroot(2) does not move the working directory: without this it still points
    // into the old tree, outside the new root.
    std::env::set_current_dir("/").map_err(|e| format!("chdir /: {e}"))?;
    // exec only returns on failure.
    let err = Command::new(cmd).args(args).exec();
    Err(format!("exec {cmd}: {err}"))
}
// ANCHOR_END: run
