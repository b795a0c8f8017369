//! chroot(2) as the chapters use it in forked children: enter a root and exec, and the
//! classic escape from a chroot (chapter 1 shows it works, chapter 5 that pivot_root
//! defeats it).

use std::path::Path;

use crate::error::{Context, Result};
use nix::unistd::{chdir, chroot, mkdir};

use super::child::{emit, exec, failed};

/// chroot into `root`, chdir there and exec `argv`. Runs in a forked child; returns its
/// exit code when something fails (having said why).
pub fn chroot_exec(root: &Path, argv: &[&str]) -> i32 {
    if let Err(e) = chroot(root) {
        emit(&failed(&format!("chroot(\"{}\")", root.display()), e));
        return 1;
    }
    if let Err(e) = chdir("/") {
        emit(&failed("chdir(\"/\")", e));
        return 1;
    }
    emit(&exec(argv));
    127
}

/// The classic escape, in a forked child: chroot into `root`, then into a subdirectory
/// (leaving the working directory above the new root), climb with "..", and chroot(".").
/// Prints what / holds afterwards.
pub fn escape(root: &Path) -> i32 {
    if let Err(e) = chroot(root).and_then(|_| chdir("/")) {
        emit(&failed("chroot", e));
        return 1;
    }
    let _ = mkdir("/escape", nix::sys::stat::Mode::from_bits_truncate(0o700));
    if let Err(e) = chroot("/escape") {
        emit(&failed("chroot(\"/escape\")", e));
        return 1;
    }
    for _ in 0..64 {
        let _ = chdir("..");
    }
    if let Err(e) = chroot(".") {
        emit(&failed("chroot(\".\")", e));
        return 1;
    }
    match list(Path::new("/")) {
        Ok(names) => emit(&format!("after the escape, / holds:  {}", names.join(" "))),
        Err(e) => emit(&format!("reading / failed: {e}")),
    }
    0
}

/// The names in `dir`, sorted, without dotfiles.
pub fn list(dir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}
