//! The guided demo of chapter 3: the classic tmpfs at /mnt/test that the host cannot see,
//! the propagation trap of systemd hosts (shown in a sandbox whose / is made shared, never
//! on the host itself), and a mount table that is the container's own.

use std::path::Path;
use std::time::Duration;

use crate::bail;
use crate::error::{Context, Result};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};

use crate::kernel::child::{self, Supervised, SysError, emit, failed};
use crate::kernel::ns::{self, Entry};
use crate::kernel::sandbox::{Propagation, Sandbox};
use crate::kernel::wire::Msg;
use crate::kernel::{mountinfo, procfs, scratch::Scratch};
use crate::present::Presenter;

pub const STEPS: usize = 3;
const LIMIT: Duration = Duration::from_secs(20);
fn mount_tmpfs(at: &Path) -> Result<()> {
    std::fs::create_dir_all(at).with_context(|| format!("mkdir {}", at.display()))?;
    Ok(ns::mount_tmpfs(at, "size=1m")?)
}

/// The line of this process's mountinfo for `at`, as the kernel wrote it.
fn my_line(at: &Path) -> String {
    mountinfo::read(None)
        .ok()
        .and_then(|ms| mountinfo::mount_at(&ms, at).map(|m| m.line()))
        .unwrap_or_else(|| format!("(no mount at {})", at.display()))
}

/// A process's mountinfo line for `at`, or what stands in its place.
fn line_of(pid: i32, at: &Path) -> String {
    match mountinfo::read(Some(pid)) {
        Ok(ms) => mountinfo::mount_at(&ms, at)
            .map(|m| m.line())
            .unwrap_or_else(|| format!("no line for {}", at.display())),
        Err(e) => e.to_string(),
    }
}

fn count(pid: Option<i32>) -> usize {
    mountinfo::read(pid).map(|m| m.len()).unwrap_or(0)
}

fn listing(dir: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    if names.is_empty() {
        "(empty)".into()
    } else {
        names.join(" ")
    }
}

/// Starts a held child that enters `sandbox` (if any), does `work`, says it is ready and
/// waits to be released.
fn hold(sandbox: Option<Entry>, work: impl FnOnce() -> Result<()>) -> Result<Supervised> {
    let mut held = Supervised::fork_wired(move |tx| {
        if let Some(entry) = &sandbox
            && let Err(e) = entry.enter()
        {
            emit(&format!("setns into the sandbox failed: {e}"));
            return 1;
        }
        if let Err(e) = work() {
            emit(&format!("{e:#}"));
            return 1;
        }
        tx.send(&Msg::Ready);
        child::wait_for_stdin_eof();
        0
    })?;
    if let Err(e) = held.wait_ready(LIMIT) {
        bail!("the demo's child failed: {e}");
    }
    Ok(held)
}

fn said(held: &Supervised) -> Vec<String> {
    held.lines().to_vec()
}

pub fn run(p: &mut dyn Presenter) -> Result<()> {
    let scratch = Scratch::new()?;
    let test = scratch.path().join("mnt/test");
    let t = test.display().to_string();

    // 1
    p.step(
        "A tmpfs that only one process can see",
        "The classic first experiment, for real, with a learn-containers directory standing \
         in for /mnt/test: in a new mount namespace, mount a tmpfs, write a file and list it. \
         Then look from the host.",
    )?;
    p.shell("unshare --mount /bin/bash");
    p.shell(&format!("mkdir -p {t}"));
    p.shell(&format!("mount -t tmpfs learn-containers {t}"));
    p.shell(&format!("echo hello > {t}/hello; ls {t}"));
    let at = test.clone();
    let held = hold(None, move || {
        ns::private_mount_namespace()?;
        mount_tmpfs(&at)?;
        std::fs::write(at.join("hello"), "hello\n")?;
        emit(&format!("ls {}: {}", at.display(), listing(&at)));
        emit(&format!("mountinfo: {}", my_line(&at)));
        Ok(())
    })?;
    let pid = held.pid();
    for l in said(&held) {
        match l.strip_prefix("mountinfo: ") {
            Some(m) => p.kernel(&format!("/proc/{pid}/mountinfo: {m}")),
            None => p.output(&l),
        }
    }
    p.shell(&format!(
        "grep {t} /proc/self/mountinfo; ls {t}      # on the host"
    ));
    let host = mountinfo::read(None)?;
    p.kernel(&format!(
        "/proc/self/mountinfo on the host: {}",
        mountinfo::mount_at(&host, &test)
            .map(|m| m.line())
            .unwrap_or_else(|| format!("no line for {t}"))
    ));
    p.output(&format!("ls {t}: {}", listing(&test)));
    p.kernel(&format!(
        "/proc/{pid}/ns/mnt → {} · /proc/self/ns/mnt → {}",
        procfs::ns_link(pid, "mnt")?,
        procfs::ns_link(std::process::id() as i32, "mnt")?
    ));
    p.say(
        "Same directory, two answers: the tmpfs is an entry in the child's mount table only. \
         When the last process in the namespace exits, the kernel takes the namespace and its \
         mounts down with it.",
    );
    p.shell("exit");
    let mnt = procfs::ns_inode(pid, "mnt")?;
    let exit = held.finish(Duration::from_secs(5)).exit;
    let left = procfs::members("mnt", mnt);
    p.kernel(&format!(
        "child {pid} ended ({exit}); processes left in mnt:[{mnt}]: {}",
        if left.is_empty() {
            "none".to_owned()
        } else {
            format!("{left:?}")
        }
    ));
    p.output(&format!("ls {t}: {}", listing(&test)));

    // 2
    p.step(
        "Propagation: why a bare unshare(CLONE_NEWNS) can leak",
        "systemd mounts / as *shared*: mounts made under it propagate to every peer, and a new \
         mount namespace starts out as a peer of the one it was copied from. We do not touch \
         this host's /: a sandbox namespace plays the systemd host, its / first made private \
         (cut off from the real host) and then shared again.",
    )?;
    p.shell(
        "unshare --mount --propagation private sh -c 'mount --make-rshared /; ...'   # the sandbox",
    );
    let sandbox = Sandbox::start(Propagation::Shared)?;
    let sb = sandbox.pid();
    let sandbox_root = line_of(sb, Path::new("/"));
    p.kernel(&format!(
        "/proc/{sb}/mountinfo, the sandbox's /: {sandbox_root}"
    ));
    let leaky = scratch.path().join("leaky");
    let half = scratch.path().join("half");
    let tight = scratch.path().join("tight");
    crate::kernel::undo::making(|| {
        std::fs::create_dir_all(&leaky)?;
        std::fs::create_dir_all(&half)?;
        std::fs::create_dir_all(&tight)
    })?;

    p.say("First, a new namespace that keeps the propagation it inherited:");
    p.shell(&format!(
        "unshare --mount --propagation unchanged mount -t tmpfs learn-containers {}",
        leaky.display()
    ));
    let at = leaky.clone();
    let bare = hold(Some(sandbox.entry()), move || {
        unshare(CloneFlags::CLONE_NEWNS).map_err(|e| SysError::new("unshare(CLONE_NEWNS)", e))?;
        mount_tmpfs(&at)
    })?;
    show_both(p, bare.pid(), sb, &leaky);
    p.say(
        "Inside, / still carries the sandbox's shared:N: the same peer group. The mount \
         propagated back, and it stays there after the process that made it is gone:",
    );
    let child = bare.pid();
    bare.finish(Duration::from_secs(5));
    p.kernel(&format!(
        "child {child} gone; /proc/{sb}/mountinfo: {}",
        line_of(sb, &leaky)
    ));

    let tmp = std::env::temp_dir();
    p.say(&format!(
        "Making / private without MS_REC is only half the fix. {} is a mount of its own here, \
         as systemd's tmp.mount makes /tmp, and MS_PRIVATE alone changes / and nothing under it:",
        tmp.display()
    ));
    p.shell(&format!(
        "unshare --mount --propagation unchanged sh -c 'mount --make-private /; mount -t tmpfs learn-containers {}'",
        half.display()
    ));
    let at = half.clone();
    let halfway = hold(Some(sandbox.entry()), move || {
        unshare(CloneFlags::CLONE_NEWNS).map_err(|e| SysError::new("unshare(CLONE_NEWNS)", e))?;
        // The mistake, on purpose: no MS_REC.
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(|e| SysError::new("mount(\"/\", MS_PRIVATE)", e))?;
        mount_tmpfs(&at)
    })?;
    let child = halfway.pid();
    p.kernel(&format!(
        "/proc/{child}/mountinfo, its /: {}",
        line_of(child, Path::new("/"))
    ));
    p.kernel(&format!(
        "/proc/{child}/mountinfo, {}: {}",
        tmp.display(),
        line_of(child, &tmp)
    ));
    p.kernel(&format!(
        "/proc/{sb}/mountinfo (the sandbox): {}",
        line_of(sb, &half)
    ));
    p.say(
        "/ lost its shared:N, the temp dir kept it, and the tmpfs made under it reached the \
         sandbox all the same. Chapter 5 meets the same mistake from the other side: detaching \
         an old root whose submounts are still peers unmounts them in the namespace it came from.",
    );
    halfway.finish(Duration::from_secs(5));

    p.say(
        "Now the same, with / made private recursively (MS_REC | MS_PRIVATE) right after unshare:",
    );
    p.shell(&format!(
        "unshare --mount mount -t tmpfs learn-containers {}      # --propagation private is the default",
        tight.display()
    ));
    let at = tight.clone();
    let careful = hold(Some(sandbox.entry()), move || {
        ns::private_mount_namespace()?;
        mount_tmpfs(&at)
    })?;
    show_both(p, careful.pid(), sb, &tight);
    p.say(
        "No shared:N inside any more, so no peers to tell: the tmpfs stays in the child. Every \
         container runtime does this first, and so does chapter 1's /proc mount.",
    );
    careful.finish(Duration::from_secs(5));
    drop(sandbox);

    // 3
    p.step(
        "The container's mount table is its own",
        "A new mount namespace starts as a copy of its parent's mount table and from then on \
         changes alone: mount and unmount inside, and the host's table stays as it was.",
    )?;
    p.shell("unshare --mount sh -c 'mount -t tmpfs learn-containers /tmp/...; umount -l /sys'");
    let extra = scratch.path().join("extra");
    let at = extra.clone();
    let own = hold(None, move || {
        ns::private_mount_namespace()?;
        let start = count(None);
        mount_tmpfs(&at)?;
        let mounted = count(None);
        let gone = match umount2("/sys", MntFlags::MNT_DETACH) {
            Ok(()) => "/sys and everything under it",
            Err(e) => {
                // Rootless: in a user namespace, mounts inherited from the host are
                // locked and cannot be taken apart; our own tmpfs can.
                emit(&format!(
                    "{} (rootless: what a user namespace inherits from the host is locked; unmounting our own tmpfs instead)",
                    failed("umount2(\"/sys\", MNT_DETACH)", e)
                ));
                umount2(&at, MntFlags::MNT_DETACH)
                    .map_err(|e| SysError::new("umount2(tmpfs)", e))?;
                "the tmpfs"
            }
        };
        emit(&format!(
            "inside: {start} mounts at first, {mounted} after mounting the tmpfs, {} after unmounting {gone}",
            count(None)
        ));
        Ok(())
    })?;
    for l in said(&own) {
        p.output(&l);
    }
    let pid = own.pid();
    p.kernel(&format!(
        "/proc/{pid}/mountinfo: {} lines · /proc/self/mountinfo on the host: {} lines",
        count(Some(pid)),
        count(None)
    ));
    p.kernel(&format!(
        "/proc/{pid}/mountinfo: {}",
        line_of(pid, Path::new("/sys"))
    ));
    p.kernel(&format!(
        "/proc/self/mountinfo on the host: {}",
        my_line(Path::new("/sys"))
    ));
    p.say(
        "Unmounting /sys inside changed nothing outside: the host still has it. This is how a \
         container gets a /proc, a /dev and in the end a root filesystem of its own \
         (pivot_root(2) swaps the root itself) without the host noticing.",
    );
    own.finish(Duration::from_secs(5));
    drop(scratch);
    Ok(())
}

/// The child's / and `at`, then the sandbox's `at`: where the tmpfs is, and why.
fn show_both(p: &mut dyn Presenter, child: i32, sandbox: i32, at: &Path) {
    p.kernel(&format!(
        "/proc/{child}/mountinfo, its /: {}",
        line_of(child, Path::new("/"))
    ));
    p.kernel(&format!("/proc/{child}/mountinfo: {}", line_of(child, at)));
    p.kernel(&format!(
        "/proc/{sandbox}/mountinfo (the sandbox): {}",
        line_of(sandbox, at)
    ));
}
