//! The guided demo of chapter 2: two chroot "containers" that can kill each other, then
//! the PID namespace, step by step. Every namespace is made in a forked child
//! and looked at from the host through /proc.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::bail;
use crate::error::{Context, Result};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{ForkResult, Pid, chdir, chroot, fork, getpid};

use crate::kernel::child::Supervised;
use crate::kernel::child::{self, Exit, emit, exec, failed};
use crate::kernel::chroot::chroot_exec;
use crate::kernel::ns;
use crate::kernel::{mountinfo, procfs, scratch::Scratch};
use crate::present::Presenter;

pub const STEPS: usize = 5;
const LIMIT: Duration = Duration::from_secs(20);

/// `unshare --pid --fork`: unshare(CLONE_NEWPID), then fork; `f` runs in the child, which
/// is PID 1 of the new namespace. Returns how the child ended. In a forked child only.
fn in_new_pid_namespace(f: impl FnOnce() -> i32) -> Exit {
    if let Err(e) = unshare(CloneFlags::CLONE_NEWPID) {
        emit(&failed("unshare(CLONE_NEWPID)", e));
        return Exit::Code(1);
    }
    // SAFETY: this forked child has one thread.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            child::die_with_parent();
            let c = f();
            child::exit_now(c)
        }
        Ok(ForkResult::Parent { child }) => child::wait_exit(child).unwrap_or(Exit::Code(1)),
        Err(e) => {
            emit(&failed("fork", e));
            Exit::Code(1)
        }
    }
}

/// Waits up to two seconds for `pid` to be running `comm` (after its exec).
fn wait_comm(pid: i32, comm: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(2);
    while procfs::comm(pid).as_deref() != Some(comm) {
        if Instant::now() > deadline {
            bail!("PID {pid} did not start {comm}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// The first child of `parent` running `comm`, waiting up to two seconds for it.
fn child_running(parent: i32, comm: &str) -> Result<i32> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let found = procfs::children(parent)
            .into_iter()
            .find(|c| procfs::comm(*c).as_deref() == Some(comm));
        if let Some(c) = found {
            return Ok(c);
        }
        if Instant::now() > deadline {
            bail!("no {comm} was started under PID {parent}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `NSpid:` as the kernel wrote it, with its tabs shown as spaces.
fn nspid_line(pid: i32) -> String {
    procfs::status_line(pid, "NSpid")
        .map(|l| l.replace('\t', " "))
        .unwrap_or_else(|e| format!("{e:#}"))
}

fn ns_link(pid: i32, kind: &str) -> String {
    procfs::ns_link(pid, kind).unwrap_or_else(|e| format!("{e:#}"))
}

/// Lists the tail processes /proc shows, and the number of all processes.
const LIST_TAILS: &str = r#"shopt -s nullglob; n=0; tails=; victim=
for d in /proc/[0-9]*; do
  n=$((n+1))
  { read -r c < $d/comm; } 2>/dev/null || continue
  [ "$c" = tail ] || continue
  { mapfile -d '' -t a < $d/cmdline; } 2>/dev/null || continue
  # This demo's two tails only (a host may run tails of its own).
  case "${a[2]}" in /a.txt|/b.txt) ;; *) continue ;; esac
  tails+="  PID ${d#/proc/}  ${a[*]}"$'\n'
  [ "${a[2]}" = /b.txt ] && victim=${d#/proc/}
done
echo "/proc inside container 1 lists $n processes. This demo's tails among them:"
printf '%s' "$tails""#;

pub fn run(p: &mut dyn Presenter) -> Result<()> {
    let scratch = Scratch::new()?;
    let c1 = scratch.rootfs("container-1", &["bash", "tail", "sleep"])?;
    let c2 = scratch.rootfs("container-2", &["bash", "tail", "sleep"])?;
    std::fs::write(c1.join("a.txt"), "")?;
    std::fs::write(c2.join("b.txt"), "")?;
    let (r1, r2) = (c1.display().to_string(), c2.display().to_string());

    // 1
    p.step(
        "Two chroot containers can see and kill each other",
        "Chapter 1's root filesystem, twice: container-1 and container-2, each with bash, tail \
         and sleep. Each runs a long-lived `tail -f` on a file of its own. Then, from inside \
         container 1, we list the processes and kill container 2's.",
    )?;
    p.shell(&format!(
        "rootfs-builder {r1} --bin bash --bin tail --bin sleep   (and the same for {r2})"
    ));
    p.shell(&format!("chroot {r1} /bin/tail -f /a.txt &"));
    p.shell(&format!("chroot {r2} /bin/tail -f /b.txt &"));
    let tail1 = Supervised::fork(|| chroot_exec(&c1, &["/bin/tail", "-f", "/a.txt"]))?;
    let tail2 = Supervised::fork(|| chroot_exec(&c2, &["/bin/tail", "-f", "/b.txt"]))?;
    let (t1, t2) = (tail1.pid(), tail2.pid());
    wait_comm(t1, "tail")?;
    wait_comm(t2, "tail")?;
    p.shell(&format!("mount -t proc proc {r1}/proc"));
    p.shell(&format!(
        "chroot {r1} /bin/bash -c 'ps; kill -9 <PID of tail -f /b.txt>'"
    ));
    let script = format!(
        "{LIST_TAILS}\n[ -n \"$victim\" ] && kill -9 $victim && echo \"kill -9 $victim: done\""
    );
    let proc1 = c1.join("proc");
    let out = child::run_captured(LIMIT, || {
        // The host's processes, seen from a chroot: the problem this chapter solves.
        let shown = ns::private_mount_namespace().and_then(|_| ns::mount_host_proc(&proc1));
        if let Err(e) = shown {
            emit(&e.to_string());
            return 1;
        }
        chroot_exec(&c1, &["/bin/bash", "-c", &script])
    })?;
    p.output(out.output.trim_end());
    let mut tail2 = tail2;
    let deadline = Instant::now() + Duration::from_secs(2);
    let fate = loop {
        match tail2.try_wait()? {
            Some(exit) => break exit.to_string(),
            None if Instant::now() > deadline => break "still running".to_owned(),
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    p.kernel(&format!("waitpid({t2}) on the host: {fate}"));
    p.kernel(&format!(
        "/proc/{t1}/status: {} · /proc/{t1}/ns/pid → {}",
        nspid_line(t1),
        ns_link(t1, "pid")
    ));
    p.kernel(&format!(
        "/proc/self/ns/pid → {}",
        ns_link(std::process::id() as i32, "pid")
    ));
    p.say(
        "One level of NSpid, and the same pid namespace as the host: chroot changed what the \
         containers see of the filesystem, not of the processes. Any of them can list and signal \
         every process on the machine.",
    );
    drop(tail1);
    drop(tail2);

    // 2
    p.step(
        "unshare(CLONE_NEWPID) moves the children, not the caller",
        "A process's PID never changes, so unshare(2) with CLONE_NEWPID cannot move its caller. \
         It sets the namespace that the caller's next children are born in, and the first of \
         them becomes PID 1 there. That is why util-linux needs --fork.",
    )?;
    p.shell("unshare --pid sh -c 'echo $$'          # prints the host PID");
    p.shell("unshare --pid --fork sh -c 'echo $$'   # prints 1");
    let mut held = Supervised::fork(|| {
        emit(&format!("before unshare: getpid() = {}", getpid()));
        if let Err(e) = unshare(CloneFlags::CLONE_NEWPID) {
            emit(&failed("unshare(CLONE_NEWPID)", e));
            return 1;
        }
        emit(&format!(
            "after unshare(CLONE_NEWPID): getpid() = {}, unchanged",
            getpid()
        ));
        // SAFETY: this forked child has one thread.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                child::die_with_parent();
                emit(&format!("in the child it forks: getpid() = {}", getpid()));
                child::wait_for_stdin_eof();
                0
            }
            Ok(ForkResult::Parent { child }) => {
                child::wait_exit(child).unwrap_or(Exit::Code(1)).status()
            }
            Err(e) => {
                emit(&failed("fork", e));
                1
            }
        }
    })?;
    if held
        .wait_for(LIMIT, |l| l.starts_with("in the child"))
        .is_none()
    {
        bail!(
            "the PID namespace child failed: {}",
            held.lines().join("; ")
        );
    }
    for l in held.lines() {
        p.output(l);
    }
    let parent = held.pid();
    let kid = procfs::children(parent)
        .first()
        .copied()
        .context("the forked child is gone")?;
    p.kernel(&format!("/proc/{parent}/status: {}", nspid_line(parent)));
    p.kernel(&format!("/proc/{kid}/status: {}", nspid_line(kid)));
    p.kernel(&format!(
        "/proc/{parent}/ns/pid → {}",
        ns_link(parent, "pid")
    ));
    p.kernel(&format!(
        "/proc/{parent}/ns/pid_for_children → {}",
        ns_link(parent, "pid_for_children")
    ));
    p.kernel(&format!("/proc/{kid}/ns/pid → {}", ns_link(kid, "pid")));
    p.say(&format!(
        "The child has two PIDs: {kid} in the host's namespace and 1 in the new one (NSpid lists \
         them outermost first). The caller stays in the host's namespace; only its \
         pid_for_children link points at the new one."
    ));
    held.finish(Duration::from_secs(5));

    // 3
    p.step(
        "A new PID namespace still shows the host's /proc",
        "ps and ls read /proc, and a proc filesystem shows the PID namespace of whoever mounted \
         it. PID 1 of the new namespace inherited the host's /proc: it lists the host's \
         processes. It needs a proc of its own, mounted from inside, in a mount namespace of \
         its own (made private first, so the host's /proc is never touched).",
    )?;
    let bash = rootfs_builder::resolve_binary("bash")?
        .display()
        .to_string();
    let count = "shopt -s nullglob; n=0; for d in /proc/[0-9]*; do n=$((n+1)); done; \
                 read -r c < /proc/1/comm; \
                 echo \"echo \\$\\$ → $$ · processes in /proc: $n · /proc/1 is $c\"";
    p.shell("unshare --pid --fork bash -c 'echo $$; ls /proc'");
    let out = child::run_captured(LIMIT, || {
        in_new_pid_namespace(|| {
            emit(&exec(&[&bash, "-c", count]));
            127
        })
        .status()
    })?;
    p.output(out.output.trim_end());
    p.shell("unshare --pid --fork --mount-proc bash -c 'echo $$; ls /proc'");
    let out = child::run_captured(LIMIT, || {
        in_new_pid_namespace(|| {
            if let Err(e) =
                ns::private_mount_namespace().and_then(|_| ns::mount_proc(Path::new("/proc")))
            {
                emit(&e.to_string());
                return 1;
            }
            if let Some(m) = mountinfo::read(None)
                .ok()
                .and_then(|ms| mountinfo::mount_at(&ms, Path::new("/proc")).map(|m| m.line()))
            {
                emit(&format!("mountinfo: {m}"));
            }
            emit(&exec(&[&bash, "-c", count]));
            127
        })
        .status()
    })?;
    for l in out.output.lines() {
        match l.strip_prefix("mountinfo: ") {
            Some(m) => p.kernel(&format!("/proc/self/mountinfo inside: {m}")),
            None => p.output(l),
        }
    }
    let host = mountinfo::read(None)?;
    if let Some(m) = mountinfo::mount_at(&host, Path::new("/proc")) {
        p.kernel(&format!(
            "/proc/self/mountinfo on the host, unchanged: {}",
            m.line()
        ));
    }
    p.say(
        "Inside, $$ is 1 both times. Only with its own proc does /proc agree: one process, and \
         /proc/1 is bash itself. The new proc exists only in the child's mount namespace; the \
         host's /proc line is the one it always was.",
    );

    // 4
    p.step(
        "Each container in its own PID namespace",
        "The two containers again, each started as PID 1 of a new PID namespace with its own \
         /proc. Then we enter container 1 (its PID and mount namespaces, with setns(2), as \
         nsenter does) and look around.",
    )?;
    p.shell(&format!(
        "unshare --pid --fork --mount-proc --root={r1} /bin/tail -f /a.txt &"
    ));
    p.shell(&format!(
        "unshare --pid --fork --mount-proc --root={r2} /bin/tail -f /b.txt &"
    ));
    let container = |root: &Path, file: &'static str| {
        let root = root.to_owned();
        Supervised::fork(move || {
            in_new_pid_namespace(|| {
                if let Err(e) = ns::private_mount_namespace() {
                    emit(&e.to_string());
                    return 1;
                }
                if let Err(e) = chroot(&root).and_then(|_| chdir("/")) {
                    emit(&failed("chroot", e));
                    return 1;
                }
                if let Err(e) = ns::mount_proc(Path::new("/proc")) {
                    emit(&e.to_string());
                    return 1;
                }
                emit(&exec(&["/bin/tail", "-f", file]));
                127
            })
            .status()
        })
    };
    let box1 = container(&c1, "/a.txt")?;
    let box2 = container(&c2, "/b.txt")?;
    let t1 = child_running(box1.pid(), "tail")?;
    let t2 = child_running(box2.pid(), "tail")?;
    p.say(&format!(
        "On the host, container 1's tail is PID {t1} and container 2's is PID {t2}."
    ));
    p.shell(&format!(
        "nsenter --target {t1} --pid --mount --root /bin/bash -c 'ps; kill -9 {t2}'"
    ));
    // The listing shell shows itself as the command the learner just read, not as the
    // script that does the listing.
    let script = format!(
        "shopt -s nullglob; echo \"/proc inside container 1:\"; \
         for d in /proc/[0-9]*; do p=${{d#/proc/}}; \
         if [ \"$p\" = $$ ]; then echo \"  PID $p  /bin/bash -c 'ps; kill -9 {t2}'   (this shell, started by nsenter)\"; continue; fi; \
         mapfile -d '' -t a < $d/cmdline; c=\"${{a[*]}}\"; echo \"  PID $p  ${{c:0:48}}\"; done; \
         kill -9 {t2}"
    );
    let out = child::run_captured(LIMIT, || enter_and_run(t1, &c1, &script))?;
    p.output(out.output.trim_end());
    p.kernel(&format!(
        "/proc/{t1}/status: {} · ns/pid → {}",
        nspid_line(t1),
        ns_link(t1, "pid")
    ));
    p.kernel(&format!(
        "/proc/{t2}/status: {} · ns/pid → {}",
        nspid_line(t2),
        ns_link(t2, "pid")
    ));
    p.kernel(&format!(
        "PID {t2} on the host: {}",
        if procfs::alive(t2) {
            "still running"
        } else {
            "gone"
        }
    ));
    p.say(&format!(
        "Both tails are PID 1, each in a namespace of its own. From inside container 1, PID \
         {t2} does not exist: kill(2) answers ESRCH. The host still sees and can signal both: \
         the isolation only goes one way, from a namespace down to its children."
    ));
    drop(box1);
    drop(box2);

    // 5
    p.step(
        "PID 1 is special",
        "The first process of a PID namespace is its init. The kernel only delivers signals to \
         it that it has a handler for (SIGKILL and SIGSTOP too, but only from an ancestor \
         namespace). And when it exits, the kernel SIGKILLs every other process in the \
         namespace: the container ends with its PID 1.",
    )?;
    let script = "sleep 300 & sleep 300 & \
        bash -c 'kill -TERM 1; echo \"PID $$: kill -TERM 1\"'; \
        echo \"PID 1: still running; it has no SIGTERM handler, so the kernel dropped the signal\"; \
        kill -TERM $!; wait $!; \
        echo \"PID $! (a sleep): the same SIGTERM ended it, wait status $?\"; \
        echo READY; wait";
    p.shell(
        "unshare --pid --fork bash -c 'sleep 300 & sleep 300 & bash -c \"kill -TERM 1\"; kill -TERM $!; wait'",
    );
    let mut held = Supervised::fork(|| {
        let exit = in_new_pid_namespace(|| {
            emit(&exec(&[&bash, "-c", script]));
            127
        });
        emit(&format!("waitpid(PID 1) in its parent: {exit}"));
        0
    })?;
    if held.wait_for(LIMIT, |l| l == "READY").is_none() {
        bail!("the PID 1 demo failed: {}", held.lines().join("; "));
    }
    for l in held.lines().iter().filter(|l| *l != "READY") {
        p.output(l);
    }
    let init = child_running(held.pid(), "bash")?;
    let pidns = procfs::ns_inode(init, "pid")?;
    for m in procfs::members("pid", pidns) {
        p.kernel(&format!(
            "/proc/{m}/status: {}  ({})",
            nspid_line(m),
            procfs::comm(m).unwrap_or_default()
        ));
    }
    p.shell(&format!(
        "kill -KILL {init}      # from the host: its PID 1"
    ));
    kill(Pid::from_raw(init), Signal::SIGKILL)?;
    let deadline = Instant::now() + Duration::from_secs(2);
    while !procfs::members("pid", pidns).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let left = procfs::members("pid", pidns);
    let lines = held.finish(Duration::from_secs(5)).stdout;
    if let Some(l) = lines.iter().find(|l| l.starts_with("waitpid(")) {
        p.kernel(l);
    }
    p.kernel(&format!(
        "processes left in pid:[{pidns}]: {}",
        if left.is_empty() {
            "none".to_owned()
        } else {
            format!("{left:?}")
        }
    ));
    p.say(
        "The sleep that was PID 2 had no say: the kernel killed it when PID 1 died. This is why a \
         container's PID 1 must reap children and handle SIGTERM itself (or run a small init such \
         as tini, `docker run --init`), and why `docker stop` falls back to SIGKILL.",
    );
    drop(scratch);
    Ok(())
}

/// `nsenter --target PID --pid --mount --root`: join `target`'s PID and mount namespaces,
/// fork (a PID namespace only applies to children), and in the child chroot into `root`
/// (which is `target`'s root) and run `script` with bash.
fn enter_and_run(target: i32, root: &Path, script: &str) -> i32 {
    let join = |kind: &str, flag: CloneFlags| -> Result<(), String> {
        let path = format!("/proc/{target}/ns/{kind}");
        let f = std::fs::File::open(&path).map_err(|e| format!("open {path}: {e}"))?;
        setns(&f, flag).map_err(|e| failed(&format!("setns({path})"), e))
    };
    if let Err(e) =
        join("pid", CloneFlags::CLONE_NEWPID).and_then(|_| join("mnt", CloneFlags::CLONE_NEWNS))
    {
        emit(&e.to_string());
        return 1;
    }
    // SAFETY: this forked child has one thread.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            child::die_with_parent();
            let c = chroot_exec(root, &["/bin/bash", "-c", script]);
            child::exit_now(c)
        }
        Ok(ForkResult::Parent { child }) => {
            child::wait_exit(child).unwrap_or(Exit::Code(1)).status()
        }
        Err(e) => {
            emit(&failed("fork", e));
            1
        }
    }
}
