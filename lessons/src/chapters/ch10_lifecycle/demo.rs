//! The guided demo of chapter 10: one container through the states of the OCI runtime
//! spec, each read from the kernel. Created is a process that waits on a fifo before
//! exec, in its cgroup; start opens the fifo; pause freezes the cgroup (against SIGSTOP,
//! which the process tree sees); resume, kill and delete, with what is left after each;
//! then the same states with runc and docker.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use crate::error::{Context, Result};
use nix::sys::signal::{Signal, kill};
use nix::sys::stat::Mode;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, mkfifo};

use crate::kernel::cgroup::{Cgroup, CgroupFs, FreezerState, Version, freezer_files};
use crate::kernel::child::{Supervised, emit, exec};
use crate::kernel::procfs;
use crate::kernel::scratch::Scratch;
use crate::present::Presenter;

pub const STEPS: usize = 5;
/// How long CPU time is watched at each point.
const WATCH: Duration = Duration::from_millis(500);

pub fn run(p: &mut dyn Presenter) -> Result<()> {
    let fs = CgroupFs::detect()?;
    let freezer = fs.freezer()?;
    let scratch = Scratch::new()?;
    let fifo = scratch.path().join("exec.fifo");
    let cg = fs.create_owned_freezable("demo")?;
    let bash = rootfs_builder::resolve_binary("bash")?
        .display()
        .to_string();

    // 1
    p.step(
        "Created: a process waiting before exec",
        "An OCI runtime's `create` sets everything up (namespaces, cgroup, mounts) and stops \
         just short of running the user's command: the container's PID 1 exists, in its \
         cgroup, but it is still the runtime, blocked opening a fifo for writing. Opening a \
         fifo blocks until the other end is opened too.",
    )?;
    p.shell(&format!("mkfifo {}", fifo.display()));
    mkfifo(&fifo, Mode::from_bits_truncate(0o600))
        .with_context(|| format!("mkfifo {}", fifo.display()))?;
    p.shell(&format!("mkdir {}", cg.path.display()));
    let child = created(&fifo, &bash)?;
    let pid = child.pid();
    cg.add_process(pid)?;
    p.shell(&format!(
        "echo {pid} > {}",
        cg.file("cgroup.procs").display()
    ));
    std::thread::sleep(Duration::from_millis(50));
    p.shell(&format!("cat {}", cg.file("cgroup.procs").display()));
    p.kernel(&format!("cgroup.procs: {}", listed(&cg.procs()?)));
    p.shell(&format!("readlink /proc/{pid}/exe; cat /proc/{pid}/wchan"));
    p.kernel(&format!("exe {}\nwchan {}", exe(pid), wchan(pid)));
    p.say(
        "The exe is still this program, not bash: nothing of the user's command has run. \
         wchan names where it sleeps in the kernel: the fifo's open, waiting for its partner, \
         a reader (wait_for_partner on current kernels). `runc create` leaves its init \
         exactly so, on a fifo named exec.fifo.",
    );

    // 2
    p.step(
        "Start: open the other end",
        "`start` opens the fifo for reading. Both opens return, the waiting process writes a \
         byte and execs the command; the runtime reads the byte and removes the fifo.",
    )?;
    p.shell(&format!("cat {}", fifo.display()));
    let mut reader =
        std::fs::File::open(&fifo).with_context(|| format!("open {}", fifo.display()))?;
    let mut byte = [0u8; 1];
    reader
        .read_exact(&mut byte)
        .with_context(|| format!("read {}", fifo.display()))?;
    drop(reader);
    std::fs::remove_file(&fifo).with_context(|| format!("rm {}", fifo.display()))?;
    std::thread::sleep(Duration::from_millis(50));
    p.shell(&format!("readlink /proc/{pid}/exe"));
    p.kernel(&format!("exe {}", exe(pid)));
    let grew = watch(pid)?;
    p.kernel(&format!("CPU time of pid {pid}: {}", moved(grew)));
    p.say("Running: the exe is bash now, and its CPU clock moves.");

    // 3
    let files = freezer_files(cg.version);
    p.step(
        "Pause: the freezer",
        "`docker pause` and `runc pause` freeze the container's cgroup: the kernel stops every \
         process in it where it stands, and they cannot tell. SIGSTOP also stops a process, \
         but the process tree sees it: its state is T and its parent's waitpid(WUNTRACED) \
         reports it.",
    )?;
    p.shell(&format!(
        "echo {} > {}",
        files.freeze,
        cg.file(files.control).display()
    ));
    cg.freeze()?;
    let now = cg.wait_freezer(FreezerState::Frozen, Duration::from_secs(5))?;
    p.shell(&format!("cat {}", cg.file(files.report).display()));
    p.kernel(&report(&cg)?);
    let still = watch(pid)?;
    p.kernel(&format!(
        "freezer: {now:?}; CPU time of pid {pid}: {}; state {}",
        moved(still),
        letter(pid)
    ));
    p.say(&match freezer.version {
        Version::V1 => format!(
            "cgroup v1 freezer in {}: FREEZING until every task is frozen, then FROZEN. A \
             frozen task shows as D: asleep in the kernel, not stopped.",
            freezer.dir.display()
        ),
        Version::V2 => "cgroup v2: cgroup.freeze is the wish, `frozen 1` in cgroup.events is \
                        the kernel's word that it is done. A frozen task shows as S."
            .to_string(),
    });
    p.shell(&format!(
        "echo {} > {}",
        files.thaw,
        cg.file(files.control).display()
    ));
    cg.thaw()?;
    cg.wait_freezer(FreezerState::Thawed, Duration::from_secs(5))?;
    p.shell(&format!("kill -STOP {pid}"));
    kill(Pid::from_raw(pid), Signal::SIGSTOP).context("kill -STOP")?;
    let seen = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WUNTRACED)).context("waitpid")?;
    p.kernel(&format!(
        "state {}; the parent's waitpid(WUNTRACED): {}",
        letter(pid),
        match seen {
            WaitStatus::Stopped(_, s) => format!("stopped by {}", s.as_str()),
            other => format!("{other:?}"),
        }
    ));
    p.shell(&format!("kill -CONT {pid}"));
    kill(Pid::from_raw(pid), Signal::SIGCONT).context("kill -CONT")?;
    let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WCONTINUED));
    p.say(
        "SIGSTOP reaches one process, is visible to it and its parent (a shell's job control \
         reacts), and stops none of its children. The freezer takes the whole cgroup, \
         silently: that is what pause means.",
    );

    // 4
    p.step(
        "Resume, kill, delete",
        "Resume thaws the cgroup. Kill is a signal to PID 1: when it dies the container is \
         stopped, whoever killed it, and only the kernel knows. Delete removes what is left: \
         the cgroup (rmdir, once empty) and the runtime's state.",
    )?;
    let grew = watch(pid)?;
    p.kernel(&format!(
        "running again: CPU time of pid {pid}: {}",
        moved(grew)
    ));
    p.shell(&format!("kill -TERM {pid}"));
    kill(Pid::from_raw(pid), Signal::SIGTERM).context("kill -TERM")?;
    let ended = child.finish(Duration::from_secs(5));
    p.kernel(&format!(
        "pid {pid}: {}; /proc/{pid} {}; cgroup.procs: {}",
        ended.exit,
        if Path::new(&format!("/proc/{pid}")).exists() {
            "exists"
        } else {
            "is gone"
        },
        listed(&cg.procs()?)
    ));
    p.say("Stopped: the cgroup is still there, empty. Delete removes it.");
    let path = cg.path.display().to_string();
    p.shell(&format!("rmdir {path}"));
    cg.remove()?;
    p.kernel(if Path::new(&path).exists() {
        "the cgroup's directory is still there"
    } else {
        "the cgroup's directory is gone"
    });

    // 5
    p.step(
        "The same states with runc and docker",
        "runc keeps each container's state in a directory of its own (/run/runc/ID) and asks \
         the kernel for the status every time, as the exercise does.",
    )?;
    let rows = [
        (
            "runc create --bundle BUNDLE ID",
            "docker create",
            "runc init waits on /run/runc/ID/exec.fifo",
        ),
        (
            "runc start ID",
            "docker start",
            "opens exec.fifo: runc init execs the process",
        ),
        (
            "runc state ID",
            "docker inspect",
            "status read from the kernel, printed as OCI JSON",
        ),
        (
            "runc pause ID",
            "docker pause",
            "freezes the container's cgroup",
        ),
        ("runc resume ID", "docker unpause", "thaws it"),
        ("runc kill ID KILL", "docker kill", "a signal to PID 1"),
        (
            "runc delete ID",
            "docker rm",
            "removes the cgroup and /run/runc/ID",
        ),
    ];
    let table: Vec<String> = rows
        .iter()
        .map(|(runc, docker, what)| format!("  {runc:<32} {docker:<16} {what}"))
        .collect();
    p.output(&table.join("\n"));
    p.say(&match which::which("runc") {
        Ok(runc) => format!(
            "runc is installed here ({}): run these on chapter 5's bundle, with `runc --root DIR` \
             for a state dir of your own.",
            runc.display()
        ),
        Err(_) => "runc is not installed here: `apt install runc` to try these on chapter 5's \
                   bundle."
            .to_string(),
    });
    drop(scratch);
    Ok(())
}

/// Forks the container's process: it opens `fifo` for writing (and blocks there until a
/// reader comes), writes one byte, then execs a CPU burner.
fn created(fifo: &Path, bash: &str) -> Result<Supervised> {
    let fifo = fifo.to_path_buf();
    let bash = bash.to_string();
    Supervised::fork(move || {
        match std::fs::OpenOptions::new().write(true).open(&fifo) {
            Ok(mut f) => {
                let _ = f.write_all(b"0");
            }
            Err(e) => {
                emit(&format!("open {}: {e}", fifo.display()));
                return 1;
            }
        }
        emit(&exec(&[&bash, "-c", "while :; do :; done"]));
        127
    })
}

/// /proc/PID/exe; this lesson's own binary is named by its file name only (where the
/// workshop is cloned is nobody's business in a transcript).
fn exe(pid: i32) -> String {
    let exe = match std::fs::read_link(format!("/proc/{pid}/exe")) {
        Ok(p) => p,
        Err(e) => return format!("unreadable ({e})"),
    };
    match std::fs::read_link("/proc/self/exe") {
        Ok(me) if me == exe => format!(
            ".../{} (this program: the same file as /proc/self/exe)",
            exe.file_name().unwrap_or_default().to_string_lossy()
        ),
        _ => exe.display().to_string(),
    }
}

fn wchan(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/wchan"))
        .ok()
        .filter(|w| !w.is_empty() && w != "0")
        .unwrap_or_else(|| "(hidden)".into())
}

/// A cgroup's members as `cat cgroup.procs` would show them, on one line.
fn listed(pids: &[i32]) -> String {
    if pids.is_empty() {
        return "(empty)".into();
    }
    let v: Vec<String> = pids.iter().map(i32::to_string).collect();
    v.join(" ")
}

fn letter(pid: i32) -> char {
    procfs::state(pid).unwrap_or('?')
}

fn report(cg: &Cgroup) -> Result<String> {
    let f = freezer_files(cg.version);
    std::fs::read_to_string(cg.file(f.report))
        .map(|t| t.trim_end().to_string())
        .with_context(|| format!("read {}", cg.file(f.report).display()))
}

/// What a CPU clock did over WATCH, as the lesson prints it.
fn moved(d: Duration) -> String {
    if d.is_zero() {
        format!("did not move in {:.1} s", WATCH.as_secs_f64())
    } else {
        format!("+{:.2} s in {:.1} s", d.as_secs_f64(), WATCH.as_secs_f64())
    }
}

/// How much CPU time `pid` used over WATCH.
fn watch(pid: i32) -> Result<Duration> {
    let before = procfs::cpu_clock(pid)?;
    std::thread::sleep(WATCH);
    Ok(procfs::cpu_clock(pid)?.saturating_sub(before))
}
