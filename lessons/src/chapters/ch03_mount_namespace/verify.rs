//! Verifying ch03_mount_namespace by the mount tables the kernel reports: the program's
//! /proc/PID/mountinfo against the one of the namespace it was started in, what a path
//! resolves to inside and outside (through /proc/PID/root, which follows each process's
//! mount namespace), and the ns/mnt inodes.
//!
//! The program runs twice, each time inside a sandbox mount namespace of the verifier's
//! own, cut off from the host: once with the sandbox's / private, once with it shared as
//! systemd mounts it, where a namespace that skips MS_PRIVATE leaks its tmpfs back out.
//! Either way the leak lands in the sandbox, never on the host.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use crate::kernel::child::Exit;
use crate::kernel::mountinfo::{self, Mount};
use crate::kernel::procfs;
use crate::kernel::sandbox::{Propagation, Sandbox};
use crate::verify::run::Finished;
use crate::verify::{Check, CheckId, Context, all_failed};

const TIMEOUT: Duration = Duration::from_secs(20);

crate::checks! {
    /// The checks of chapter 3, in report order.
    pub enum Ch03 {
        Mount => "mount: a tmpfs is mounted at PATH in the program's mount namespace",
        Hello => "hello: PATH/hello is written on that tmpfs",
        Namespace => "namespace: the program's ns/mnt differs from the one it was started in",
        Hidden => "hidden: from outside, neither the tmpfs nor PATH/hello can be seen",
        Shared => "systemd host: with / shared, nothing propagates out",
        Exit => "exit: it exits 0 once stdin closes, and no mount remains anywhere",
    }
}

pub fn verify(cx: &Context) -> Result<Vec<Check>> {
    let host_before = mountinfo::read(None)?;
    let private = match run(cx, Propagation::Private)? {
        Ok(o) => o,
        Err(first) => return Ok(all_failed::<Ch03>(first)),
    };
    let shared = run(cx, Propagation::Shared)?;
    let host_after = mountinfo::read(None)?;

    let mut checks = vec![
        judge_mount(&private),
        judge_hello(&private),
        judge_namespace(&private),
        judge_hidden(&private),
    ];
    checks.push(match &shared {
        Ok(s) => judge_shared(s),
        Err(why) => named(why.clone(), Ch03::Shared),
    });
    checks.push(judge_exit(
        cx,
        &private,
        shared.as_ref().ok(),
        &host_before,
        &host_after,
    ));
    Ok(checks)
}

/// What one run showed, inside and outside.
struct Run {
    propagation: Propagation,
    path: PathBuf,
    /// The process that holds the tmpfs: the program itself, or a child it cloned.
    holder: i32,
    holder_mnt: u64,
    sandbox_mnt: u64,
    /// The mount at PATH in the holder's mountinfo, and the one PATH lies on without it.
    inside: Option<Mount>,
    underneath: Option<Mount>,
    /// The holder's / line and the sandbox's (their shared:N fields tell propagation).
    holder_root: String,
    sandbox_root: String,
    /// `major:minor` of the filesystem PATH/hello is on, seen from inside.
    hello_dev: Option<String>,
    /// A new mount at PATH in the sandbox while the program waited.
    leaked: Option<Mount>,
    hello_in_sandbox: bool,
    hello_on_host: bool,
    done: Finished,
    /// A mount at PATH in the sandbox after the program exited.
    left: Option<Mount>,
}

fn run(cx: &Context, propagation: Propagation) -> Result<std::result::Result<Run, Check>> {
    let name = match propagation {
        Propagation::Private => "mnt-private-host",
        Propagation::Shared => "mnt-shared-host",
    };
    // PATH does not exist yet: the program creates it.
    let path = cx.scratch.path().join(name);
    let sandbox = Sandbox::start(propagation)?;
    let before = sandbox.mounts()?;
    let sandbox_mnt = sandbox.mnt_inode()?;
    let new_at = |ms: &[Mount]| {
        mountinfo::mount_at(ms, &path)
            .filter(|m| !before.iter().any(|b| b.id == m.id))
            .cloned()
    };
    let mut running = cx.start_in(&[&path], &[sandbox.entry()])?;
    if running.wait_for(TIMEOUT, |l| l == "READY").is_none() {
        let done = running.finish(Duration::from_secs(5));
        let host = match propagation {
            Propagation::Private => "",
            Propagation::Shared => " (on a host whose / is shared)",
        };
        return Ok(Err(Ch03::Mount
            .fail(format!(
                "`{} PATH`{host} {}",
                cx.source(),
                cx.describe(&done)
            ))
            .expected("the program mounts, writes PATH/hello, prints READY and waits")
            .hint(format!("fix what the message names in {}", cx.source()))));
    }
    let holder = holder(running.pid(), &path, sandbox_mnt);
    let inside_table = mountinfo::read(Some(holder)).unwrap_or_default();
    let inside = mountinfo::mount_at(&inside_table, &path).cloned();
    let underneath = mountinfo::containing(&inside_table, path.parent().unwrap_or(&path)).cloned();
    let through_holder = PathBuf::from(format!("/proc/{holder}/root"))
        .join(path.strip_prefix("/").unwrap())
        .join("hello");
    let hello_dev = std::fs::metadata(&through_holder).ok().map(|md| {
        let dev = md.dev();
        format!("{}:{}", libc::major(dev), libc::minor(dev))
    });
    let outside = sandbox.mounts().unwrap_or_default();
    let run = Run {
        propagation,
        holder,
        holder_mnt: procfs::ns_inode(holder, "mnt").unwrap_or(0),
        sandbox_mnt,
        inside,
        underneath,
        holder_root: root_line(&inside_table),
        sandbox_root: root_line(&before),
        hello_dev,
        leaked: new_at(&outside),
        hello_in_sandbox: sandbox.sees(&path.join("hello")),
        hello_on_host: path.join("hello").symlink_metadata().is_ok(),
        done: running.finish(Duration::from_secs(5)),
        left: None,
        path: path.clone(),
    };
    let left = new_at(&sandbox.mounts()?);
    Ok(Ok(Run { left, ..run }))
}

/// The program, or the process in its group that made a namespace of its own and holds
/// the tmpfs (a program may clone(2) a child to do the work while it waits). A tmpfs that
/// propagated back shows in the waiting parent's table too, so a namespace of its own
/// comes first.
fn holder(program: i32, path: &Path, sandbox_mnt: u64) -> i32 {
    let group: Vec<i32> = procfs::pids()
        .into_iter()
        .filter(|p| procfs::pgid(*p) == Some(program) && procfs::alive(*p))
        .collect();
    let has_tmpfs = |p: i32| {
        mountinfo::read(Some(p))
            .ok()
            .and_then(|ms| mountinfo::mount_at(&ms, path).map(|m| m.fstype == "tmpfs"))
            .unwrap_or(false)
    };
    let own_ns = |p: i32| {
        procfs::ns_inode(p, "mnt")
            .ok()
            .is_some_and(|i| i != sandbox_mnt)
    };
    let find = |pred: &dyn Fn(i32) -> bool| group.iter().copied().find(|p| pred(*p));
    find(&|p| own_ns(p) && has_tmpfs(p))
        .or_else(|| find(&own_ns))
        .or_else(|| find(&has_tmpfs))
        .unwrap_or(program)
}

fn root_line(ms: &[Mount]) -> String {
    mountinfo::mount_at(ms, Path::new("/"))
        .map(Mount::line)
        .unwrap_or_default()
}

fn peer(line: &str) -> String {
    line.split(' ')
        .find(|f| f.starts_with("shared:"))
        .map_or("private (no shared:N)".to_owned(), str::to_owned)
}

fn mnt(inode: u64) -> String {
    format!("mnt:[{inode}]")
}

fn judge_mount(r: &Run) -> Check {
    let p = r.path.display();
    match &r.inside {
        Some(m) if m.fstype == "tmpfs" => Ch03::Mount.pass( m.line()),
        Some(m) => Ch03::Mount.fail(
            format!("a {} is mounted at {p}, not a tmpfs: `{}`", m.fstype, m.line()),
        )
        .expected(format!("a tmpfs at {p}"))
        .hint("the filesystem type is mount(2)'s third argument: Some(\"tmpfs\")"),
        None => Ch03::Mount.fail(
            format!(
                "/proc/{}/mountinfo has no mount at {p}; it lies on `{}`",
                r.holder,
                r.underneath.as_ref().map(Mount::line).unwrap_or_default()
            ),
        )
        .expected(format!("a tmpfs at {p}"))
        .hint("after entering the namespace, mount a tmpfs at PATH: mount(Some(\"learn-containers\"), PATH, Some(\"tmpfs\"), flags, None)"),
    }
}

fn judge_hello(r: &Run) -> Check {
    let p = r.path.display();
    let tmpfs = r.inside.as_ref().filter(|m| m.fstype == "tmpfs");
    match (&r.hello_dev, tmpfs) {
        (Some(dev), Some(m)) if *dev == m.dev => Ch03::Hello.pass(
            format!("{p}/hello is on device {dev}, the tmpfs"),
        ),
        (None, _) => Ch03::Hello.fail( format!("{p}/hello does not exist inside"))
            .expected(format!("{p}/hello on the tmpfs"))
            .hint("write PATH/hello after mounting the tmpfs, before printing READY"),
        (Some(dev), None) => Ch03::Hello.fail(
            format!("{p}/hello is on device {dev}, the disk underneath: nothing is mounted at {p}"),
        )
        .expected(format!("{p}/hello on a tmpfs mounted at {p}"))
        .hint("mount the tmpfs at PATH (see the first check); until then, files written there land on the host's disk"),
        (Some(dev), Some(m)) => Ch03::Hello.fail(
            format!(
                "{p}/hello is on device {dev}, but the tmpfs at {p} is device {}",
                m.dev
            ),
        )
        .expected(format!("{p}/hello on the tmpfs (device {})", m.dev))
        .hint("write hello after mounting: a file written before is hidden under the tmpfs, on the disk"),
    }
}

fn judge_namespace(r: &Run) -> Check {
    if r.holder_mnt != r.sandbox_mnt {
        Ch03::Namespace.pass(format!(
            "/proc/{}/ns/mnt → {} · started in {}",
            r.holder,
            mnt(r.holder_mnt),
            mnt(r.sandbox_mnt)
        ))
    } else {
        Ch03::Namespace.fail(
            format!(
                "/proc/{}/ns/mnt → {}, the namespace it was started in",
                r.holder,
                mnt(r.holder_mnt)
            ),
        )
        .expected("a mount namespace of its own")
        .hint(
            "call unshare(CLONE_NEWNS) before mounting anything (`unshare --mount`); man 2 unshare",
        )
    }
}

/// Why a mount reached the namespace the program was started in.
fn leak(r: &Run, m: &Mount, when: &str) -> Check {
    let p = r.path.display();
    if r.holder_mnt == r.sandbox_mnt {
        Check::fail(
            "",
            format!(
                "{when}, the tmpfs is mounted at {p} in the namespace the program was started in: `{}`. It never made a namespace of its own",
                m.line()
            ),
        )
        .expected(format!("no mount at {p} outside the program"))
        .hint("unshare(CLONE_NEWNS) first: without it the mount lands in the host's mount table, for every process")
    } else {
        Check::fail(
            "",
            format!(
                "{when}, the tmpfs appeared at {p} outside the program too: `{}`. Outside, / is {}; in the program's namespace / was still {}, the same peer group, so the mount propagated back",
                m.line(),
                peer(&r.sandbox_root),
                peer(&r.holder_root)
            ),
        )
        .expected(format!("no mount at {p} outside the program"))
        .hint(
            "propagation: unshare(CLONE_NEWNS) copies / with its shared:N peer group, as on every \
             systemd host. Make / private right after unshare: mount(None, \"/\", None, \
             MS_REC | MS_PRIVATE, None) (`mount --make-rprivate /`; util-linux unshare does it \
             by default, `--propagation private`)",
        )
    }
}

fn named(mut c: Check, id: Ch03) -> Check {
    id.title().clone_into(&mut c.name);
    c
}

fn judge_hidden(r: &Run) -> Check {
    let p = r.path.display();
    if let Some(m) = &r.leaked {
        return named(leak(r, m, "while it waited"), Ch03::Hidden);
    }
    if r.hello_in_sandbox || r.hello_on_host {
        let tmpfs = r.inside.as_ref().is_some_and(|m| m.fstype == "tmpfs");
        let hint = if tmpfs {
            "write hello after mounting the tmpfs, so it goes to the tmpfs and not to the disk under it"
        } else {
            "nothing is mounted at PATH, so hello went to the directory on the host's disk: mount the tmpfs first (see the first check)"
        };
        return Ch03::Hidden
            .fail(format!(
                "{p}/hello can be seen from outside the program: it is on the disk"
            ))
            .expected(format!("{p} empty from outside"))
            .hint(hint);
    }
    Ch03::Hidden.pass(format!(
        "outside: no mountinfo line for {p}, and {p} is empty"
    ))
}

fn judge_shared(r: &Run) -> Check {
    if let Some(m) = &r.leaked {
        return named(leak(r, m, "on a host whose / is shared"), Ch03::Shared);
    }
    if r.inside.is_none() {
        return Ch03::Shared
            .fail("nothing was mounted at PATH, so there was nothing to keep from propagating")
            .expected("a tmpfs inside that stays inside")
            .hint("mount the tmpfs first (see the first check)");
    }
    if r.hello_in_sandbox {
        return Ch03::Shared
            .fail(format!(
                "{}/hello can be seen from outside the program",
                r.path.display()
            ))
            .expected("nothing of PATH visible outside")
            .hint("write hello on the tmpfs, after mounting it");
    }
    Ch03::Shared.pass(format!(
        "outside, / is {} (as systemd mounts it); inside, / is {}; the tmpfs stayed inside",
        peer(&r.sandbox_root),
        peer(&r.holder_root)
    ))
}

fn judge_exit(
    cx: &Context,
    private: &Run,
    shared: Option<&Run>,
    host_before: &[Mount],
    host_after: &[Mount],
) -> Check {
    for r in std::iter::once(private).chain(shared) {
        let host = match r.propagation {
            Propagation::Private => "private",
            Propagation::Shared => "shared",
        };
        if r.done.exit != Exit::Code(0) {
            return Ch03::Exit
                .fail(format!(
                    "with / {host}, after stdin closed the program {}",
                    cx.describe(&r.done)
                ))
                .expected("exit status 0")
                .hint("read stdin to the end, then return normally");
        }
        if let Some(m) = &r.left {
            return named(
                leak(r, m, &format!("with / {host}, after the program exited")),
                Ch03::Exit,
            );
        }
    }
    let old: Vec<String> = host_before.iter().map(Mount::line).collect();
    let new: Vec<String> = host_after
        .iter()
        .map(Mount::line)
        .filter(|l| !old.contains(l))
        .collect();
    if !new.is_empty() {
        return Ch03::Exit
            .fail(format!(
                "the verifier's own mount table gained: {}",
                new.join(" | ")
            ))
            .expected("the host's mounts untouched")
            .hint("mount only in a new mount namespace whose / was made private first");
    }
    Ch03::Exit
        .pass("exit status 0; no mount at PATH in the namespace it was started in, nor on the host")
}
