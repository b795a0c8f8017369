//! Chapter 3 · mount namespace: a tmpfs nobody else sees (reference solution)
//!
//!   ch03_mount_namespace PATH
//!       unshare(CLONE_NEWNS), make / rprivate, mount a tmpfs at PATH, write PATH/hello,
//!       print READY, wait for stdin to close.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::exit;

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};

fn main() {
    let Some(path) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: ch03_mount_namespace PATH");
        exit(2);
    };
    if let Err(e) = run(&path) {
        eprintln!("ch03_mount_namespace: {e}");
        exit(1);
    }
}

// ANCHOR: run
fn run(path: &Path) -> Result<(), String> {
    private_mount_namespace()?;
    std::fs::create_dir_all(path).map_err(|e| format!("mkdir {}: {e}", path.display()))?;
    mount_tmpfs(path)?;
    let hello = path.join("hello");
    std::fs::write(&hello, "hello from a mount namespace\n")
        .map_err(|e| format!("write {}: {e}", hello.display()))?;
    println!("READY");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    // Closing our stdin is how we are told to finish.
    std::io::stdin()
        .read_to_end(&mut Vec::new())
        .map_err(|e| format!("read stdin: {e}"))?;
    Ok(())
}
// ANCHOR_END: run

// ANCHOR: private_mount_namespace
/// Gives this process a mount namespace of its own, cut off from the host's.
fn private_mount_namespace() -> Result<(), String> {
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare(CLONE_NEWNS): {e}"))?;
    // The copy of / is still a peer of the host's / if that is shared (systemd): cut the
    // tie, for / and every mount below it, before mounting anything.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| format!("making / private: {e}"))
}
// ANCHOR_END: private_mount_namespace

// ANCHOR: mount_tmpfs
/// Mounts a fresh tmpfs at `path`.
fn mount_tmpfs(path: &Path) -> Result<(), String> {
    mount(
        Some("learn-containers"),
        path,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("size=1m,mode=0755"),
    )
    .map_err(|e| format!("mount tmpfs at {}: {e}", path.display()))
}
// ANCHOR_END: mount_tmpfs
