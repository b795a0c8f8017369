//! Chapter 6's demo, continued: the children it runs as the unprivileged uid (run to
//! their end, or held while the host looks at them), and its last two steps: what a user
//! namespace unlocks, and util-linux's and Podman's rootless modes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::bail;
use crate::error::Result;
use nix::sched::{CloneFlags, unshare};
use nix::unistd::{ForkResult, fork, gethostname, getpid, sethostname};

use crate::kernel::child::{self, Supervised, emit, failed};
use crate::kernel::sys::SysError;
use crate::kernel::userns::{self, Ids, Unprivileged, show_map, status_field};
use crate::kernel::wire::Msg;
use crate::kernel::{mountinfo, ns, procfs};
use crate::present::Presenter;

pub(super) const LIMIT: Duration = Duration::from_secs(20);
/// The hostname the children of step 4 give their UTS namespaces.
const HOSTNAME: &str = "box";

/// In a forked child: become `who` before anything else, then do `work`, whose error
/// is printed as the child's last line.
fn as_user(who: Unprivileged, work: impl FnOnce() -> Result<()>) -> i32 {
    if let Err(e) = userns::become_in_child(&who) {
        emit(&format!("becoming uid {}: {e}", who.ids.uid));
        return 1;
    }
    match work() {
        Ok(()) => 0,
        Err(e) => {
            emit(&format!("{e:#}"));
            1
        }
    }
}

/// Runs `work` as `who` in a forked child, to its end: the lines it printed.
pub(super) fn once(who: Unprivileged, work: impl FnOnce() -> Result<()>) -> Result<Vec<String>> {
    let out = child::run_captured(LIMIT, || as_user(who, work))?;
    Ok(out.output.lines().map(str::to_owned).collect())
}

/// Starts `work` as `who` in a held child, which says it is ready and waits to be
/// released (its stdin closed), so the host can look at it.
pub(super) fn hold(who: Unprivileged, work: impl FnOnce() -> Result<()>) -> Result<Supervised> {
    let mut held = Supervised::fork_wired(move |tx| {
        as_user(who, || {
            work()?;
            tx.send(&Msg::Ready);
            child::wait_for_stdin_eof();
            Ok(())
        })
    })?;
    if let Err(e) = held.wait_ready(LIMIT) {
        bail!("the demo's child failed: {e}");
    }
    Ok(held)
}

/// A write to /proc/self/FILE, as the kernel answered it: `write(...): ok` or the errno.
pub(super) fn try_write(file: &str, text: &str) -> String {
    match userns::write_proc("self", file, text) {
        Ok(()) => format!("write(\"/proc/self/{file}\", \"{text}\"): ok"),
        Err(e) => e.to_string(),
    }
}

/// An unshare(2) as the kernel answered it.
pub(super) fn try_unshare(flags: CloneFlags) -> String {
    let call = format!("unshare({})", userns::flag_names(flags));
    match unshare(flags) {
        Ok(()) => format!("{call}: ok"),
        Err(e) => failed(&call, e),
    }
}

/// `/proc/PID/FILE: ...` as the host reads it: a map on one line, or setgroups.
pub(super) fn host_reads(pid: i32, file: &str) -> String {
    let text = userns::read_proc(pid, file);
    let shown = if file == "setgroups" {
        text.trim().to_owned()
    } else {
        show_map(&text)
    };
    format!("/proc/{pid}/{file}: {shown}")
}

/// `Uid: ... · CapEff: ...` of a status text.
pub(super) fn uid_and_caps(status: &str) -> String {
    format!(
        "{} · {}",
        status_field(status, "Uid"),
        status_field(status, "CapEff")
    )
}

pub(super) fn self_status() -> String {
    std::fs::read_to_string("/proc/self/status").unwrap_or_default()
}

/// Step 4: what a user namespace of one's own allows, in both orders.
pub(super) fn unlocked(p: &mut dyn Presenter, who: &Unprivileged, at: &Path) -> Result<()> {
    let pre = who.shell_prefix();
    let me = std::process::id() as i32;
    p.step(
        "What the user namespace unlocks",
        "Every other namespace records the user namespace it was created in, its owner, and a \
         capability counts over a namespace only from its owner's side. Without a user \
         namespace of its own, an unprivileged process asks the host's, where it has nothing.",
    )?;
    p.shell(&format!(
        "{pre}unshare --mount true; {pre}unshare --uts true"
    ));
    let lines = once(*who, || {
        emit(&try_unshare(CloneFlags::CLONE_NEWNS));
        emit(&try_unshare(CloneFlags::CLONE_NEWUTS));
        Ok(())
    })?;
    lines.iter().for_each(|l| p.kernel(l));
    p.kernel(&format!(
        "/proc/self/ns/mnt and /proc/self/ns/uts are owned by (ioctl NS_GET_USERNS) user:[{}] and user:[{}], the host's",
        userns::owner(me, "mnt")?,
        userns::owner(me, "uts")?
    ));
    let t = at.display();
    p.say("First the user namespace and its maps, then the rest, as `learn-containers run` does:");
    p.shell(&format!(
        "{pre}unshare --user --map-root-user sh -c 'unshare --mount --uts --pid --fork sh -c \"hostname {HOSTNAME}; mount -t tmpfs learn-containers {t}; echo \\$\\$\"'"
    ));
    let held = hold(*who, owned(who.ids, at.to_path_buf(), false))?;
    show_owned(p, held, at)?;
    p.say("util-linux's order: one unshare(2) with every flag, and the maps written after it:");
    p.shell(&format!(
        "{pre}unshare --user --map-root-user --mount --uts --pid --fork sh -c 'hostname {HOSTNAME}; mount -t tmpfs learn-containers {t}; echo $$'"
    ));
    let held = hold(*who, owned(who.ids, at.to_path_buf(), true))?;
    show_owned(p, held, at)?;
    p.say(
        "Both work, and for the same reason: within one unshare(2) the kernel makes the user \
         namespace first, so the mount, UTS and PID namespaces are owned by it, and its creator \
         has every capability there. The maps only have to be in place before anything that \
         uses ids: exec, a new file, setuid. What no namespace owns stays out of reach: modules, \
         the clock, mknod, block devices, cgroups nobody delegated.",
    );
    Ok(())
}

/// Step 4's child: a user namespace with its maps, and mount, PID and UTS namespaces
/// (`together`: in the same unshare(2), the maps after it; otherwise after the maps);
/// then / made private, a hostname, a tmpfs at `at`, and PID 1 of the new namespace.
fn owned(ids: Ids, at: PathBuf, together: bool) -> impl FnOnce() -> Result<()> {
    move || {
        let rest = CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWUTS;
        if together {
            userns::unshare_user(rest)?;
            emit(&format!(
                "unshare({}): ok",
                userns::flag_names(CloneFlags::CLONE_NEWUSER | rest)
            ));
            userns::map_root("self", ids)?;
            emit("then setgroups, uid_map, gid_map: ok");
        } else {
            userns::unshare_user(CloneFlags::empty())?;
            userns::map_root("self", ids)?;
            emit("unshare(CLONE_NEWUSER), then setgroups, uid_map, gid_map: ok");
            let call = format!("unshare({})", userns::flag_names(rest));
            unshare(rest).map_err(|e| SysError::new(&call, e))?;
            emit(&format!("{call}: ok"));
        }
        ns::make_root_private()?;
        sethostname(HOSTNAME)
            .map_err(|e| SysError::new(format!("sethostname(\"{HOSTNAME}\")"), e))?;
        let name = gethostname().map_err(|e| SysError::new("gethostname", e))?;
        emit(&format!(
            "sethostname(\"{HOSTNAME}\"): ok · gethostname() = {}",
            name.to_string_lossy()
        ));
        ns::mount_tmpfs(&at, "size=1m")?;
        emit(&format!("mount(tmpfs, \"{}\"): ok", at.display()));
        // SAFETY: this forked child has one thread; its child only formats, writes and exits.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                child::die_with_parent();
                emit(&format!("in its first child: getpid() = {}", getpid()));
                child::exit_now(0)
            }
            Ok(ForkResult::Parent { child }) => {
                child::wait_exit(child).map_err(|e| SysError::new("waitpid", e))?;
            }
            Err(e) => return Err(SysError::new("fork", e).into()),
        }
        Ok(())
    }
}

/// What step 4's child printed, then its namespaces and their owner, its tmpfs, and the
/// host's view of the same place.
fn show_owned(p: &mut dyn Presenter, held: Supervised, at: &Path) -> Result<()> {
    let pid = held.pid();
    held.lines().iter().for_each(|l| p.output(l));
    p.kernel(&format!(
        "/proc/{pid}/ns/user → {}",
        procfs::ns_link(pid, "user")?
    ));
    for kind in ["mnt", "uts", "pid_for_children"] {
        p.kernel(&format!(
            "/proc/{pid}/ns/{kind} → {}, owned by user:[{}]",
            procfs::ns_link(pid, kind)?,
            userns::owner(pid, kind)?
        ));
    }
    let line = |pid: Option<i32>| {
        mountinfo::read(pid)
            .ok()
            .and_then(|ms| mountinfo::mount_at(&ms, at).map(|m| m.line()))
            .unwrap_or_else(|| format!("no line for {}", at.display()))
    };
    p.kernel(&format!("/proc/{pid}/mountinfo: {}", line(Some(pid))));
    p.kernel(&format!("/proc/self/mountinfo on the host: {}", line(None)));
    p.kernel(&format!(
        "hostname on the host: {}",
        gethostname()?.to_string_lossy()
    ));
    held.finish(Duration::from_secs(5));
    Ok(())
}

/// Step 5: `unshare --user --map-root-user`, and rootless Podman.
pub(super) fn side_by_side(p: &mut dyn Presenter, who: &Unprivileged) -> Result<()> {
    let pre = who.shell_prefix();
    p.step(
        "Side by side: unshare --map-root-user and rootless Podman",
        "util-linux's `unshare --user --map-root-user` (-r) is this chapter's exercise in one \
         command: a user namespace, deny in setgroups, one line in each map, the caller's uid \
         and gid as 0. It execs its command, which waits here while the host looks at it.",
    )?;
    let script = "id -u; cat /proc/self/uid_map /proc/self/setgroups; echo READY; read -r _";
    match which::which("unshare") {
        Ok(bin) => {
            p.shell(&format!(
                "{pre}unshare --user --map-root-user sh -c 'id -u; cat /proc/self/uid_map /proc/self/setgroups'"
            ));
            let (bin, sh) = (
                bin.display().to_string(),
                rootfs_builder::resolve_binary("sh")?,
            );
            let sh = sh.display().to_string();
            let who = *who;
            let mut held = Supervised::fork(move || {
                as_user(who, || {
                    emit(&child::exec(&[
                        &bin,
                        "--user",
                        "--map-root-user",
                        &sh,
                        "-c",
                        script,
                    ]));
                    Ok(())
                })
            })?;
            if held.wait_for(LIMIT, |l| l == "READY").is_none() {
                bail!(
                    "unshare --user --map-root-user failed: {}",
                    held.lines().join("; ")
                );
            }
            let pid = held.pid();
            held.lines()
                .iter()
                .filter(|l| *l != "READY")
                .for_each(|l| p.output(l));
            p.kernel(&host_reads(pid, "uid_map"));
            p.kernel(&format!(
                "/proc/{pid}/status from the host: {}",
                uid_and_caps(&userns::read_proc(pid, "status"))
            ));
            held.finish(Duration::from_secs(5));
        }
        Err(_) => p.say("util-linux unshare is not installed: apt install util-linux"),
    }
    p.say(
        "Rootless Podman maps a range. For each container it runs newuidmap and newgidmap \
         (setuid root) with the user's uid as 0 and the user's /etc/subuid range as 1 to 65536, \
         so an image's www-data (uid 33) is uid 100032 on the host, a uid no real user has. \
         `podman unshare` runs a command in that user namespace.",
    );
    p.shell("podman unshare cat /proc/self/uid_map");
    match which::which("podman") {
        Ok(podman) if !who.dropped => {
            let mut cmd = Command::new(podman);
            cmd.args(["unshare", "cat", "/proc/self/uid_map"]);
            let done = Supervised::spawn(&mut cmd)?.finish(LIMIT);
            done.stdout.iter().for_each(|l| p.output(l));
            if !done.stderr.trim().is_empty() {
                p.output(done.stderr.trim_end());
            }
        }
        Ok(_) => p.say(
            "Podman is installed, but its rootless mode needs a user with a range in \
             /etc/subuid, which the uid this lesson works as has not: run the command above \
             as yourself. Run by root, Podman uses no user namespace at all.",
        ),
        Err(_) => p.say(
            "Podman is not installed here, so it does not run. For a user ana with \
             `ana:100000:65536` in /etc/subuid and uid 1000, it prints two lines, `0 1000 1` \
             and `1 100000 65536`: root inside is ana, and every other uid inside is one of \
             her subordinate ids.",
        ),
    }
    p.say(
        "Same kernel feature, same files: a map of one line makes you root inside and changes \
         nothing outside; a range needs the administrator's grant and a setuid helper. The \
         exercise: write the three files yourself, without root.",
    );
    Ok(())
}
