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

use crate::error::Result;

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
        &|f| cx.describe(f),
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
        return Ok(Err(not_ready(
            cx.source(),
            propagation,
            &cx.describe(&done),
        )));
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

/// The first check, failed: the program never printed READY (`described`: how it ended).
fn not_ready(source: &str, propagation: Propagation, described: &str) -> Check {
    let host = match propagation {
        Propagation::Private => "",
        Propagation::Shared => " (on a host whose / is shared)",
    };
    Ch03::Mount
        .fail(format!("`{source} PATH`{host} {described}"))
        .expected("the program mounts, writes PATH/hello, prints READY and waits")
        .hint(format!("fix what the message names in {source}"))
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
        (Some(dev), None) if r.inside.is_some() => Ch03::Hello.fail(
            format!(
                "{p}/hello is on device {dev}, a {} mounted at {p}, not a tmpfs",
                r.inside.as_ref().map_or("", |m| m.fstype.as_str())
            ),
        )
        .expected(format!("{p}/hello on a tmpfs mounted at {p}"))
        .hint("mount a tmpfs at PATH (see the first check): its filesystem type is the third argument of mount(2)"),
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
    } else if !r.holder_root.contains("shared:") {
        Check::fail(
            "",
            format!(
                "{when}, the tmpfs appeared at {p} outside the program too: `{}`. In the program's namespace / is private, but {p} lies on another mount under it ({}), which was still a peer of the one outside, so the mount propagated back",
                m.line(),
                r.underneath
                    .as_ref()
                    .map_or_else(|| "a submount".to_owned(), |u| format!("{} at {}, {}", u.fstype, u.mount_point.display(), u.propagation()))
            ),
        )
        .expected(format!("no mount at {p} outside the program"))
        .hint(
            "MS_PRIVATE alone changes only /: every mount under it stays shared, and on a systemd host \
             /tmp is a mount of its own. Add MS_REC: mount(None, \"/\", None, MS_REC | MS_PRIVATE, \
             None) (`mount --make-rprivate /`)",
        )
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

/// How each run ended, with no mount left behind (`describe` says how a program ended).
fn judge_exit(
    describe: &dyn Fn(&Finished) -> String,
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
                    describe(&r.done)
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

#[cfg(test)]
mod tests {
    //! The judges, fed made-up runs: mount tables as text, no namespace, no mount.

    use super::*;
    use crate::verify::Status;
    use crate::verify::run::describe;

    const SOURCE: &str = "exercises/src/bin/ch03_mount_namespace.rs";
    const SANDBOX_MNT: u64 = 4026532700;
    const HOLDER_MNT: u64 = 4026532799;
    const PRIVATE_PATH: &str = "/tmp/learn-containers-AbC123/mnt-private-host";
    const SHARED_PATH: &str = "/tmp/learn-containers-AbC123/mnt-shared-host";
    /// The disk everything lies on, as / of a namespace whose / is private.
    const DISK: &str = "600 599 8:1 / / rw,relatime - ext4 /dev/sda1 rw";
    /// The same, shared as systemd mounts it.
    const DISK_SHARED: &str = "600 599 8:1 / / rw,relatime shared:201 - ext4 /dev/sda1 rw";

    fn mount(line: &str) -> Mount {
        mountinfo::parse(line).unwrap().remove(0)
    }

    /// The program's tmpfs at `path`, as a mountinfo line (id `id`, device 0:80).
    fn tmpfs(id: u32, path: &str) -> Mount {
        mount(&format!(
            "{id} 600 0:80 / {path} rw,nosuid,nodev,relatime - tmpfs learn-containers rw,size=1024k"
        ))
    }

    fn ended(code: i32) -> Finished {
        Finished {
            exit: Exit::Code(code),
            stdout: Vec::new(),
            stderr: String::new(),
            took: Duration::from_millis(300),
        }
    }

    /// What a correct program shows in a sandbox whose / is `propagation`: a clone of its
    /// own holds the tmpfs in a namespace of its own, hello is on it, nothing outside.
    fn correct(propagation: Propagation) -> Run {
        let (path, sandbox_root) = match propagation {
            Propagation::Private => (PRIVATE_PATH, DISK),
            Propagation::Shared => (SHARED_PATH, DISK_SHARED),
        };
        Run {
            propagation,
            path: PathBuf::from(path),
            holder: 4243,
            holder_mnt: HOLDER_MNT,
            sandbox_mnt: SANDBOX_MNT,
            inside: Some(tmpfs(620, path)),
            underneath: Some(mount(DISK)),
            holder_root: DISK.into(),
            sandbox_root: sandbox_root.into(),
            hello_dev: Some("0:80".into()),
            leaked: None,
            hello_in_sandbox: false,
            hello_on_host: false,
            done: ended(0),
            left: None,
        }
    }

    fn describe_it(f: &Finished) -> String {
        describe(f, None)
    }

    fn saw(c: &Check) -> &str {
        c.saw.as_deref().unwrap_or("")
    }

    fn hint(c: &Check) -> &str {
        c.hint.as_deref().unwrap_or("")
    }

    /// Every judge on `private` and `shared`, as verify() calls them.
    fn all(private: &Run, shared: &Run, host_after: &[Mount]) -> Vec<Check> {
        let host = vec![mount(DISK)];
        vec![
            judge_mount(private),
            judge_hello(private),
            judge_namespace(private),
            judge_hidden(private),
            judge_shared(shared),
            judge_exit(&describe_it, private, Some(shared), &host, host_after),
        ]
    }

    fn failing(checks: &[Check]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| !c.passed())
            .map(|c| c.name.as_str())
            .collect()
    }

    #[test]
    fn a_correct_program_passes_everything() {
        let checks = all(
            &correct(Propagation::Private),
            &correct(Propagation::Shared),
            &[mount(DISK)],
        );
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        let titles: Vec<&str> = Ch03::ALL.iter().map(|c| c.title()).collect();
        assert_eq!(names, titles);
        assert!(failing(&checks).is_empty(), "{checks:#?}");
        assert_eq!(saw(&checks[0]), tmpfs(620, PRIVATE_PATH).line());
        assert_eq!(
            saw(&checks[1]),
            format!("{PRIVATE_PATH}/hello is on device 0:80, the tmpfs")
        );
        assert_eq!(
            saw(&checks[2]),
            "/proc/4243/ns/mnt → mnt:[4026532799] · started in mnt:[4026532700]"
        );
        assert_eq!(
            saw(&checks[3]),
            format!("outside: no mountinfo line for {PRIVATE_PATH}, and {PRIVATE_PATH} is empty")
        );
        assert_eq!(
            saw(&checks[4]),
            "outside, / is shared:201 (as systemd mounts it); inside, / is private (no shared:N); the tmpfs stayed inside"
        );
        assert_eq!(
            saw(&checks[5]),
            "exit status 0; no mount at PATH in the namespace it was started in, nor on the host"
        );
    }

    #[test]
    fn skipping_ms_private_fails_only_on_a_shared_host() {
        // ch03_no_private: the clone's / stays a peer of the sandbox's, and the tmpfs
        // comes back out, where it outlives the program.
        let leaked = tmpfs(470, SHARED_PATH);
        let shared = Run {
            holder_root: DISK_SHARED.into(),
            leaked: Some(leaked.clone()),
            left: Some(leaked.clone()),
            ..correct(Propagation::Shared)
        };
        let checks = all(&correct(Propagation::Private), &shared, &[mount(DISK)]);
        assert_eq!(
            failing(&checks),
            vec![Ch03::Shared.title(), Ch03::Exit.title()],
            "{checks:#?}"
        );
        let c = &checks[4];
        assert_eq!(
            saw(c),
            format!(
                "on a host whose / is shared, the tmpfs appeared at {SHARED_PATH} outside the program too: `{}`. Outside, / is shared:201; in the program's namespace / was still shared:201, the same peer group, so the mount propagated back",
                leaked.line()
            )
        );
        assert_eq!(
            c.expected.as_deref(),
            Some(format!("no mount at {SHARED_PATH} outside the program").as_str())
        );
        assert!(hint(c).starts_with("propagation"), "{c:#?}");
        assert!(hint(c).contains("MS_REC | MS_PRIVATE"), "{c:#?}");
        let exit = &checks[5];
        assert!(
            saw(exit).starts_with("with / shared, after the program exited, the tmpfs appeared at"),
            "{exit:#?}"
        );
        assert!(hint(exit).starts_with("propagation"), "{exit:#?}");
    }

    #[test]
    fn a_private_root_without_ms_rec_is_named() {
        // ch03_private_not_recursive: the program's / is private, but PATH lies on a /tmp
        // of its own (as on a systemd host) that is still a peer of the sandbox's.
        let leaked = tmpfs(470, SHARED_PATH);
        let tmp = mount("601 600 0:50 / /tmp rw,relatime shared:14 - tmpfs tmpfs rw");
        let shared = Run {
            holder_root: DISK.into(),
            underneath: Some(tmp),
            leaked: Some(leaked.clone()),
            left: Some(leaked.clone()),
            ..correct(Propagation::Shared)
        };
        let checks = all(&correct(Propagation::Private), &shared, &[mount(DISK)]);
        assert_eq!(
            failing(&checks),
            vec![Ch03::Shared.title(), Ch03::Exit.title()],
            "{checks:#?}"
        );
        let c = &checks[4];
        assert!(
            saw(c).contains("In the program's namespace / is private, but"),
            "{c:#?}"
        );
        assert!(saw(c).contains("(tmpfs at /tmp, shared)"), "{c:#?}");
        assert!(
            hint(c).starts_with("MS_PRIVATE alone changes only /"),
            "{c:#?}"
        );
    }

    #[test]
    fn mounting_without_unshare_is_named() {
        // ch03_no_unshare: the program mounts in the namespace it was started in.
        let without = |propagation: Propagation, path: &str| {
            let m = tmpfs(470, path);
            Run {
                holder: 4242,
                holder_mnt: SANDBOX_MNT,
                holder_root: correct(propagation).sandbox_root,
                inside: Some(m.clone()),
                leaked: Some(m.clone()),
                left: Some(m),
                hello_in_sandbox: true,
                ..correct(propagation)
            }
        };
        let checks = all(
            &without(Propagation::Private, PRIVATE_PATH),
            &without(Propagation::Shared, SHARED_PATH),
            &[mount(DISK)],
        );
        assert_eq!(
            failing(&checks),
            vec![
                Ch03::Namespace.title(),
                Ch03::Hidden.title(),
                Ch03::Shared.title(),
                Ch03::Exit.title()
            ],
            "{checks:#?}"
        );
        let ns = &checks[2];
        assert_eq!(
            saw(ns),
            "/proc/4242/ns/mnt → mnt:[4026532700], the namespace it was started in"
        );
        assert!(hint(ns).starts_with("call unshare(CLONE_NEWNS)"), "{ns:#?}");
        let hidden = &checks[3];
        assert_eq!(hidden.name, Ch03::Hidden.title());
        assert!(
            saw(hidden).starts_with(&format!(
                "while it waited, the tmpfs is mounted at {PRIVATE_PATH} in the namespace the program was started in:"
            )),
            "{hidden:#?}"
        );
        assert!(saw(hidden).ends_with("It never made a namespace of its own"));
        assert!(hint(hidden).starts_with("unshare(CLONE_NEWNS) first"));
        // Not mistaken for propagation.
        let shared = &checks[4];
        assert_eq!(shared.name, Ch03::Shared.title());
        assert!(saw(shared).contains("never made a namespace of its own"));
        assert!(!hint(shared).contains("propagation"), "{shared:#?}");
        assert!(saw(&checks[5]).starts_with("with / private, after the program exited"));
    }

    #[test]
    fn unshare_without_mounting_is_named() {
        // ch03_no_mount: a namespace of its own, nothing mounted: hello lands on the disk.
        let without = |propagation: Propagation| Run {
            inside: None,
            hello_dev: Some("8:1".into()),
            hello_in_sandbox: true,
            hello_on_host: true,
            ..correct(propagation)
        };
        let checks = all(
            &without(Propagation::Private),
            &without(Propagation::Shared),
            &[mount(DISK)],
        );
        assert_eq!(
            failing(&checks),
            vec![
                Ch03::Mount.title(),
                Ch03::Hello.title(),
                Ch03::Hidden.title(),
                Ch03::Shared.title()
            ],
            "{checks:#?}"
        );
        assert_eq!(
            saw(&checks[0]),
            format!("/proc/4243/mountinfo has no mount at {PRIVATE_PATH}; it lies on `{DISK}`")
        );
        assert!(hint(&checks[0]).starts_with("after entering the namespace, mount a tmpfs"));
        assert_eq!(
            saw(&checks[1]),
            format!(
                "{PRIVATE_PATH}/hello is on device 8:1, the disk underneath: nothing is mounted at {PRIVATE_PATH}"
            )
        );
        assert_eq!(
            saw(&checks[3]),
            format!("{PRIVATE_PATH}/hello can be seen from outside the program: it is on the disk")
        );
        assert!(
            hint(&checks[3]).contains("mount the tmpfs first"),
            "{:#?}",
            checks[3]
        );
        assert_eq!(
            saw(&checks[4]),
            "nothing was mounted at PATH, so there was nothing to keep from propagating"
        );
    }

    #[test]
    fn a_wrong_exit_status_when_stdin_closes_is_named() {
        // ch03_exit_one.
        let private = Run {
            done: ended(1),
            ..correct(Propagation::Private)
        };
        let checks = all(&private, &correct(Propagation::Shared), &[mount(DISK)]);
        assert_eq!(failing(&checks), vec![Ch03::Exit.title()], "{checks:#?}");
        assert_eq!(
            saw(&checks[5]),
            "with / private, after stdin closed the program exited with status 1"
        );
        assert_eq!(checks[5].expected.as_deref(), Some("exit status 0"));
        assert_eq!(
            hint(&checks[5]),
            "read stdin to the end, then return normally"
        );
        // The shared run is judged too.
        let shared = Run {
            done: ended(3),
            ..correct(Propagation::Shared)
        };
        let c = judge_exit(
            &describe_it,
            &correct(Propagation::Private),
            Some(&shared),
            &[],
            &[],
        );
        assert_eq!(
            saw(&c),
            "with / shared, after stdin closed the program exited with status 3"
        );
    }

    #[test]
    fn a_program_that_never_gets_ready_is_named() {
        // The untouched exercise.
        let todo = "thread 'main' panicked at exercises/src/bin/ch03_mount_namespace.rs:25:5:\nnot yet implemented: unshare(CLONE_NEWNS)\n";
        let done = Finished {
            stderr: todo.into(),
            ..ended(101)
        };
        let c = not_ready(SOURCE, Propagation::Private, &describe(&done, None));
        assert_eq!(c.name, Ch03::Mount.title());
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(&c),
            "`exercises/src/bin/ch03_mount_namespace.rs PATH` reached a todo!() at exercises/src/bin/ch03_mount_namespace.rs:25:5: unshare(CLONE_NEWNS)"
        );
        assert_eq!(
            hint(&c),
            "fix what the message names in exercises/src/bin/ch03_mount_namespace.rs"
        );
        let c = not_ready(SOURCE, Propagation::Shared, "exited with status 1");
        assert_eq!(
            saw(&c),
            "`exercises/src/bin/ch03_mount_namespace.rs PATH` (on a host whose / is shared) exited with status 1"
        );
        // Whatever ended the shared run, the report still has all six checks.
        let named_shared = named(c, Ch03::Shared);
        assert_eq!(named_shared.name, Ch03::Shared.title());
        assert!(saw(&named_shared).contains("(on a host whose / is shared)"));
    }

    #[test]
    fn another_filesystem_at_path_is_named() {
        // Not provoked by a fixture: mount(2) with another type.
        let r = Run {
            inside: Some(mount(&format!(
                "620 600 0:81 / {PRIVATE_PATH} rw,relatime - ramfs learn-containers rw"
            ))),
            ..correct(Propagation::Private)
        };
        let c = judge_mount(&r);
        assert_eq!(c.status, Status::Fail);
        assert!(
            saw(&c).starts_with(&format!(
                "a ramfs is mounted at {PRIVATE_PATH}, not a tmpfs: `620 600"
            )),
            "{c:#?}"
        );
        assert!(hint(&c).contains("mount(2)'s third argument"));
        // hello on it is then on no tmpfs at all.
        let h = judge_hello(&Run {
            hello_dev: Some("0:81".into()),
            ..r
        });
        assert!(saw(&h).contains("a ramfs mounted at"), "{h:#?}");
    }

    #[test]
    fn hello_missing_or_under_the_tmpfs_is_named() {
        // Not provoked by a fixture.
        let c = judge_hello(&Run {
            hello_dev: None,
            ..correct(Propagation::Private)
        });
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(&c),
            format!("{PRIVATE_PATH}/hello does not exist inside")
        );
        assert!(hint(&c).starts_with("write PATH/hello after mounting the tmpfs"));

        // Written before mounting: on the disk, under the tmpfs, and visible outside.
        let before = Run {
            hello_dev: Some("8:1".into()),
            hello_in_sandbox: true,
            ..correct(Propagation::Private)
        };
        let c = judge_hello(&before);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(&c),
            format!(
                "{PRIVATE_PATH}/hello is on device 8:1, but the tmpfs at {PRIVATE_PATH} is device 0:80"
            )
        );
        assert!(hint(&c).starts_with("write hello after mounting"));
        let c = judge_hidden(&before);
        assert_eq!(c.status, Status::Fail);
        assert!(
            hint(&c).starts_with("write hello after mounting the tmpfs"),
            "{c:#?}"
        );
        let c = judge_shared(&Run {
            hello_dev: Some("8:1".into()),
            hello_in_sandbox: true,
            ..correct(Propagation::Shared)
        });
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(&c),
            format!("{SHARED_PATH}/hello can be seen from outside the program")
        );
        assert_eq!(hint(&c), "write hello on the tmpfs, after mounting it");
    }

    #[test]
    fn a_mount_that_reached_the_host_is_named() {
        // Not provoked by a fixture (the sandbox is there to keep it from happening).
        let extra = "700 600 0:90 / /mnt rw,relatime - tmpfs tmpfs rw";
        let checks = all(
            &correct(Propagation::Private),
            &correct(Propagation::Shared),
            &[mount(DISK), mount(extra)],
        );
        assert_eq!(failing(&checks), vec![Ch03::Exit.title()]);
        assert_eq!(
            saw(&checks[5]),
            format!("the verifier's own mount table gained: {extra}")
        );
        assert!(hint(&checks[5]).contains("whose / was made private first"));
    }
}
