//! Chapter 10 · The container lifecycle: create, start, pause, resume, kill, delete
//!
//! ```text
//!   ch10_lifecycle --state DIR SUBCOMMAND
//!
//!   create ID --cgroup-parent CG -- CMD [ARGS]...
//!       Make the cgroup CG/ID, start a process in it that waits, before it execs CMD,
//!       until `start ID`; record what the other subcommands need under DIR/ID; exit 0
//!       while that process stays created. CG is in the freezer hierarchy on cgroup v1
//!       and hybrid hosts (/sys/fs/cgroup/freezer/...), in the one tree on v2.
//!   start ID          let the waiting process exec CMD (exit 1 unless it is created)
//!   pause ID          freeze the cgroup; return once the kernel reports it frozen
//!   resume ID         thaw it; return once the kernel reports it thawed
//!   state ID          print the OCI state, one JSON object:
//!                       {"ociVersion":"1.0.2","id":ID,"status":S,"pid":PID}
//!                     S is created, running, paused or stopped, read from the kernel
//!                     at that moment (never from a file you wrote)
//!   kill ID [SIGNAL]  send SIGNAL (TERM by default; KILL, INT, 9, SIGKILL...) to it
//!   delete ID         remove CG/ID and DIR/ID (exit 1, removing nothing, unless stopped)
//!
//!   Exit status: 0 when done, 1 when the container cannot do that now (or is unknown),
//!   2 for bad arguments.
//! ```
//!
//! You write four functions: `create_process` (the process that waits before exec),
//! `start` (the other end of its fifo), `freeze` (pause and resume) and `status` (the
//! kernel's view). Argument parsing, the record under DIR/ID, kill, delete and the JSON
//! are given.
//!
//! The book's sections "Created: a process waiting before exec", "The freezer" and
//! "Reading the state from the kernel" explain each step; man 7 fifo, man 3 mkfifo,
//! man 2 setsid, man 5 proc (/proc/pid/exe, /proc/pid/stat), and the kernel's
//! Documentation/admin-guide/cgroup-v2.rst ("Core Interface Files": cgroup.freeze,
//! cgroup.events) and cgroup-v1/freezer-subsystem.rst.
//!
//! Work where you see todo!(). Check your work with `learn-containers verify 10`;
//! stuck? `learn-containers hint 10`.

use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::exit;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The four states of the OCI runtime spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

/// What `create` records under DIR/ID: the process and its cgroup. The status is never
/// recorded: it is the kernel's to say.
struct Container {
    id: String,
    /// DIR/ID.
    dir: PathBuf,
    pid: i32,
    /// CG/ID.
    cgroup: PathBuf,
}

impl Container {
    /// The fifo the created process waits on: DIR/ID/exec.fifo.
    fn fifo(&self) -> PathBuf {
        self.dir.join("exec.fifo")
    }
}

// ANCHOR: create_process
/// Makes the cgroup `cgroup` and the fifo `fifo`, and forks the container's process:
/// the child takes a session of its own, then open(fifo, O_WRONLY) blocks it until
/// `start` opens the other end, then it execs CMD. The parent moves it into the cgroup
/// and returns its pid once it is there, while it waits.
fn create_process(cgroup: &Path, fifo: &Path, cmd: &[String]) -> Result<i32, String> {
    // In this order:
    //   1. mkdir the cgroup (std::fs::create_dir);
    //   2. mkfifo the fifo, mode 0600 (nix::unistd::mkfifo);
    //   3. fork (nix::unistd::fork, in `unsafe`, with a SAFETY comment as chapter 5's).
    //      The child: setsid() (a session of its own, so nothing aimed at the caller's
    //      process group reaches it); open the fifo for writing, which blocks until
    //      `start` opens it for reading; write one byte to it; then
    //      child_failed(&exec(cmd)). On any error: child_failed(&message).
    //   4. The parent writes the child's pid into the cgroup's cgroup.procs (before
    //      CMD exists: the child is still waiting on the fifo), then returns the pid.
    //      `create` returns only once the child is in its cgroup.
    let _ = (cgroup, fifo, cmd, exec, child_failed);
    todo!(
        "mkdir CG/ID, mkfifo, fork: the child joins the cgroup and blocks on the fifo before exec"
    )
}
// ANCHOR_END: create_process

// ANCHOR: start
/// Opens the created process's fifo for reading, which lets its open(O_WRONLY) return
/// and the process exec CMD; reads the byte it writes first, then removes the fifo.
fn start(c: &Container) -> Result<(), String> {
    // Open c.fifo() for reading (std::fs::File::open blocks until the writer is
    // there: the created process), read the one byte it writes, then remove the fifo.
    let _ = (c, Container::fifo);
    todo!("open the fifo for reading, read its byte, remove it")
}
// ANCHOR_END: start

// ANCHOR: freeze
/// Freezes (`frozen`) or thaws the container's cgroup, and returns only once the kernel
/// reports it done: v2 writes 1 or 0 to cgroup.freeze and waits for `frozen 1` or
/// `frozen 0` in cgroup.events; v1 writes FROZEN or THAWED to freezer.state and waits
/// until reading it gives the same word back (FREEZING means not yet).
fn freeze(c: &Container, frozen: bool) -> Result<(), String> {
    // Which file and which value: is_v2(&c.cgroup) says which interface the cgroup
    // speaks. v2: "1" or "0" into cgroup.freeze; done when cgroup.events has the line
    // `frozen 1` (or `frozen 0`). v1: "FROZEN" or "THAWED" into freezer.state; done
    // when reading freezer.state gives that word (FREEZING: not yet).
    // Write, then read the kernel's report again every millisecond or so until it says
    // done; give up with an error after a few seconds.
    let _ = (c, frozen, is_v2);
    todo!("write the freezer file, then wait until the kernel reports it done")
}
// ANCHOR_END: freeze

// ANCHOR: status
/// The container's status as the kernel sees it now: stopped when its process is no
/// longer in its cgroup (or is a zombie), paused when the cgroup is frozen, created
/// while the process is still this program (it has not exec'd CMD: /proc/PID/exe is
/// the same file as /proc/self/exe), running otherwise.
fn status(c: &Container) -> Result<Status, String> {
    // Ask the kernel, in this order:
    //   - is c.pid still in c.cgroup's cgroup.procs, and not a zombie (the state letter
    //     in /proc/PID/stat, after the name in parentheses, is Z)? If not: Stopped;
    //   - is the cgroup frozen (cgroup.events `frozen 1`, freezer.state FROZEN)? Paused;
    //   - is /proc/PID/exe still the same file as /proc/self/exe (it has not exec'd)?
    //     Created;
    //   - otherwise Running.
    // Never read a status you wrote down yourself: a container can die while nobody
    // is looking.
    let _ = (
        c,
        [
            Status::Created,
            Status::Running,
            Status::Paused,
            Status::Stopped,
        ],
    );
    todo!("read it from the kernel: in the cgroup? frozen? exec yet?")
}
// ANCHOR_END: status

// ---- Given: nothing to change below. ----

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (state, rest) = match args.as_slice() {
        [flag, dir, rest @ ..] if flag == "--state" => (PathBuf::from(dir), rest),
        _ => usage("missing --state DIR"),
    };
    let code = match rest {
        [sub, id, cg_flag, cg, dashes, cmd @ ..]
            if sub == "create" && cg_flag == "--cgroup-parent" && dashes == "--" =>
        {
            if cmd.is_empty() {
                usage("create needs a CMD after --");
            }
            create(&state, id, Path::new(cg), cmd)
        }
        [sub, id] if sub == "start" => with(&state, id, |c| match status(c)? {
            Status::Created => start(c),
            s => Err(format!("{} is {}, not created", c.id, name(s))),
        }),
        [sub, id] if sub == "pause" => with(&state, id, |c| match status(c)? {
            Status::Running | Status::Paused => freeze(c, true),
            s => Err(format!("{} is {}, not running", c.id, name(s))),
        }),
        [sub, id] if sub == "resume" => with(&state, id, |c| match status(c)? {
            Status::Paused | Status::Running => freeze(c, false),
            s => Err(format!("{} is {}, not paused", c.id, name(s))),
        }),
        [sub, id] if sub == "state" => with(&state, id, |c| {
            print_state(c, status(c)?);
            Ok(())
        }),
        [sub, id, signal @ ..] if sub == "kill" && signal.len() <= 1 => {
            let signal = signal
                .first()
                .map_or(Ok(Signal::SIGTERM), |s| parse_signal(s));
            let signal = signal.unwrap_or_else(|e| usage(&e));
            with(&state, id, |c| match status(c)? {
                Status::Stopped => Err(format!("{} is stopped", c.id)),
                _ => kill(Pid::from_raw(c.pid), signal).map_err(|e| format!("kill: {e}")),
            })
        }
        [sub, id] if sub == "delete" => with(&state, id, |c| match status(c)? {
            Status::Stopped => delete(c),
            s => Err(format!("{} is {}: kill it first", c.id, name(s))),
        }),
        _ => usage("unknown subcommand or wrong arguments"),
    };
    exit(code)
}

fn usage(why: &str) -> ! {
    eprintln!(
        "ch10_lifecycle: {why}\nusage: ch10_lifecycle --state DIR (create ID --cgroup-parent CG -- CMD [ARGS]... | start ID | pause ID | resume ID | state ID | kill ID [SIGNAL] | delete ID)"
    );
    exit(2)
}

/// `create`: DIR/ID made first (an existing one means the id is taken), then the
/// process, then its record.
fn create(state: &Path, id: &str, cg: &Path, cmd: &[String]) -> i32 {
    if id.is_empty() || id.contains('/') || id.starts_with('.') {
        usage("ID must be one path component");
    }
    let dir = state.join(id);
    if let Err(e) = fs::create_dir_all(state).and_then(|_| fs::create_dir(&dir)) {
        eprintln!("ch10_lifecycle: {}: {e}", dir.display());
        return 1;
    }
    let cgroup = cg.join(id);
    let result = create_process(&cgroup, &dir.join("exec.fifo"), cmd).and_then(|pid| {
        fs::write(dir.join("pid"), pid.to_string())
            .and_then(|_| fs::write(dir.join("cgroup"), cgroup.as_os_str().as_encoded_bytes()))
            .map_err(|e| format!("recording {}: {e}", dir.display()))
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ch10_lifecycle: create {id}: {e}");
            1
        }
    }
}

/// Loads DIR/ID and runs `f` on it: exit 0 if it succeeds, 1 with its message if not.
fn with(state: &Path, id: &str, f: impl FnOnce(&Container) -> Result<(), String>) -> i32 {
    let dir = state.join(id);
    let load = || -> Result<Container, String> {
        let pid = read(&dir.join("pid"))?;
        let pid = pid.trim().parse().map_err(|_| format!("bad pid {pid:?}"))?;
        let cgroup = PathBuf::from(read(&dir.join("cgroup"))?);
        Ok(Container {
            id: id.to_string(),
            dir: dir.clone(),
            pid,
            cgroup,
        })
    };
    let result = if id.is_empty() || id.contains('/') || !dir.is_dir() {
        Err(format!("no container {id:?} in {}", state.display()))
    } else {
        load().and_then(|c| f(&c))
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ch10_lifecycle: {e}");
            1
        }
    }
}

/// `delete` of a stopped container: whatever is still in its cgroup is killed (the
/// children its process left), the cgroup removed, then DIR/ID.
fn delete(c: &Container) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let procs = fs::read_to_string(c.cgroup.join("cgroup.procs")).unwrap_or_default();
        for p in procs.split_whitespace().filter_map(|p| p.parse().ok()) {
            let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
        }
        match fs::remove_dir(&c.cgroup) {
            Ok(()) => break,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) if Instant::now() > deadline => {
                return Err(format!("rmdir {}: {e}", c.cgroup.display()));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    fs::remove_dir_all(&c.dir).map_err(|e| format!("rm -r {}: {e}", c.dir.display()))
}

fn name(s: Status) -> &'static str {
    match s {
        Status::Created => "created",
        Status::Running => "running",
        Status::Paused => "paused",
        Status::Stopped => "stopped",
    }
}

/// The OCI state, as `runc state` prints it (the fields this program knows).
fn print_state(c: &Container, s: Status) {
    let id: String =
        c.id.chars()
            .flat_map(|ch| match ch {
                '"' | '\\' => vec!['\\', ch],
                _ => vec![ch],
            })
            .collect();
    println!(
        "{{\"ociVersion\":\"1.0.2\",\"id\":\"{id}\",\"status\":\"{}\",\"pid\":{}}}",
        name(s),
        c.pid
    );
}

/// Does this cgroup speak v2 (every v2 cgroup has cgroup.controllers; v1 ones do not)?
fn is_v2(cgroup: &Path) -> bool {
    cgroup.join("cgroup.controllers").exists()
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))
}

/// TERM, SIGTERM, 15, ...
fn parse_signal(s: &str) -> Result<Signal, String> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| format!("no signal {n}"));
    }
    let upper = s.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    full.parse().map_err(|_| format!("no signal {s:?}"))
}

/// execvp(CMD): returns only on failure, with the message.
fn exec(cmd: &[String]) -> String {
    let argv: Result<Vec<CString>, _> = cmd.iter().map(|a| CString::new(a.as_str())).collect();
    let Ok(argv) = argv else {
        return "an argument contains a NUL byte".into();
    };
    let err = nix::unistd::execvp(&argv[0], &argv).unwrap_err();
    format!("exec {}: {err}", cmd[0])
}

/// Ends the forked child that could not become CMD, with a message and status 1.
fn child_failed(why: &str) -> ! {
    eprintln!("ch10_lifecycle: {why}");
    exit(1)
}
