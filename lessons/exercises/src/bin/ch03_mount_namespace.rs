//! Chapter 3 · mount namespace: a tmpfs nobody else sees
//!
//! Read the chapter first: book/src/ch03-mount-namespace.md, or watch `learn-containers lesson 3`.
//!
//!   ch03_mount_namespace PATH
//!       Enter a new mount namespace and make / recursively private in it, so that
//!       nothing mounted here can propagate back to the host. Create PATH if it does not
//!       exist, mount a tmpfs at PATH, and write the file PATH/hello on it. Then print
//!       READY on a line of its own, wait until stdin is closed, and exit with status 0.
//!
//!   While it waits, the tmpfs and PATH/hello exist for this process only: the host's
//!   /proc/self/mountinfo has no line for PATH, and `ls PATH` on the host shows an empty
//!   directory. When it exits, its namespace and the tmpfs are gone.
//!
//! The book's sections "A mount table of its own" and "Propagation: the trap" explain each
//! call; man 7 mount_namespaces, man 2 unshare, man 2 mount, man 5 tmpfs.
//!
//! Work where you see todo!(). Check your work with `learn-containers verify 3`;
//! stuck? `learn-containers hint 3`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::exit;

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

/// Gives this process a mount namespace of its own, cut off from the host's. (Chapter 2
/// gave you this one ready-made, in src/pid_namespace.rs; here you write it.)
fn private_mount_namespace() -> Result<(), String> {
    // unshare(CLONE_NEWNS) copies the mount table into a new namespace. On systemd hosts
    // / is a *shared* mount, and the copy stays its peer: mounts made here would appear on
    // the host too. Make / private, recursively, right away: mount(2) with no source, no
    // type and the flags MS_REC | MS_PRIVATE (`mount --make-rprivate /`). See
    // nix::sched::unshare, nix::mount::mount, man 7 mount_namespaces ("Shared subtrees").
    todo!("unshare(CLONE_NEWNS), then make / private recursively (MS_REC | MS_PRIVATE)")
}

/// Mounts a fresh tmpfs at `path`.
fn mount_tmpfs(path: &Path) -> Result<(), String> {
    // The source of a tmpfs is only a name shown in mountinfo: "learn-containers" makes
    // it easy to spot. See nix::mount::mount, man 2 mount and man 5 tmpfs (size=).
    let _ = path;
    todo!("mount a tmpfs at PATH")
}
