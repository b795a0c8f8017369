//! What chapter 6's verifier sees of one run. It runs the program as an unprivileged uid
//! (as root, one that owns nothing here; as a user, the user), under the adversary, with
//! a script as CMD, in a dir of its scratch dir that uid can reach: a directory owned by
//! that uid for CMD to create a file in, and a root-only file to fail to read. From
//! outside, while CMD waits, it reads CMD's user namespace, maps, setgroups and
//! capabilities, then who owns the file CMD made; then how the program ended, and what
//! of the run is still alive. A second, short run has CMD kill itself with SIGTERM.
//! Judging is verify.rs's.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Context as _, Result};
use crate::kernel::child::Exit;
use crate::kernel::procfs;
use crate::kernel::userns::{self, Ids, RootOnly};
use crate::verify::Context;
use crate::verify::probe::tagged::{find_cmd, kill_tagged, tagged};
use crate::verify::run::Finished;

pub(super) const START_TIMEOUT: Duration = Duration::from_secs(10);
pub(super) const EXIT_TIMEOUT: Duration = Duration::from_secs(5);
/// What the script exits with once stdin closes: the program must pass it on.
pub(super) const STATUS: i32 = 7;
/// What the program must exit with when CMD is killed by SIGTERM (15).
pub(super) const SIGNAL_STATUS: i32 = 128 + 15;
/// The file CMD makes, in the directory owned by the uid the program runs as.
pub(super) const MADE: &str = "made-by-cmd";

/// CMD: its uid as bash took it at its start (before the program's parent could write
/// a map late), a fork (which ends the adversary's hold on the program's parent), its uid
/// as `id -u` says it where there is an `id`, its CapEff as it reads it, a file made in
/// DIR, an attempt to open the root-only file; then it waits for stdin to close.
pub(super) fn script(dir: &Path, root_only: Option<&Path>) -> String {
    let made = dir.join(MADE);
    let try_root_only = match root_only {
        Some(f) => format!(
            "if {{ : < '{}'; }} 2>/dev/null; then echo root-only-read; else echo root-only-denied; fi; ",
            f.display()
        ),
        None => String::new(),
    };
    format!(
        "echo \"uid $EUID\"; \
         (exit 0); \
         if command -v id >/dev/null; then echo \"id-u $(id -u)\"; fi; \
         while read -r k v; do [ \"$k\" = CapEff: ] && echo \"capeff $v\"; done < /proc/self/status; \
         if out=$({{ : > '{}'; }} 2>&1); then echo made; else echo \"not-made $out\"; fi; \
         {try_root_only}\
         echo READY; read -r _; exit {STATUS}",
        made.display()
    )
}

/// CMD, seen from the host while it waits.
#[derive(Debug, Clone, Default)]
pub(super) struct Cmd {
    pub(super) pid: i32,
    /// The inode of its user namespace.
    pub(super) userns: u64,
    pub(super) uid_map: String,
    pub(super) gid_map: String,
    pub(super) setgroups: String,
    /// Its `Uid:` line, as the host reads it.
    pub(super) status_uid: String,
    pub(super) cap_eff: Option<u64>,
    pub(super) cap_bnd: Option<u64>,
}

/// Everything seen of the runs.
#[derive(Debug)]
pub(super) struct Run {
    /// Who the program ran as, outside.
    pub(super) ids: Ids,
    /// Whether root chose that uid for it (otherwise it is the user who verifies).
    pub(super) dropped: bool,
    /// The user namespace the program was started in: the verifier's.
    pub(super) outer_userns: u64,
    /// The directory CMD makes its file in, and the root-only file.
    pub(super) dir: PathBuf,
    pub(super) root_only: RootOnly,
    /// CMD as found from the host, None when it never printed READY.
    pub(super) cmd: Option<Cmd>,
    /// What CMD printed.
    pub(super) lines: Vec<String>,
    pub(super) finished: Finished,
    /// The owner (uid, gid) of the file CMD made, stat-ed from the host.
    pub(super) made: Option<(u32, u32)>,
    /// How the program ended when CMD killed itself with SIGTERM (None: not run).
    pub(super) killed: Option<Finished>,
    /// Processes of the runs still alive once the program had ended: (pid, comm).
    pub(super) left: Vec<(i32, String)>,
    /// The program's pid, if it ended while CMD still waited: it let CMD outlive it.
    pub(super) orphaned: Option<i32>,
}

impl Run {
    /// The value of CMD's line `key value`, e.g. `uid 0`.
    pub(super) fn said(&self, key: &str) -> Option<&str> {
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
            .map(str::trim)
    }

    pub(super) fn has(&self, line: &str) -> bool {
        self.lines.iter().any(|l| l == line)
    }
}

/// The runs, as chapter 6's verifier makes them: `traced` under the adversary (always,
/// but for tests of the judging itself), `signal` with the second run.
pub(super) fn observe(cx: &Context, traced: bool, signal: bool) -> Result<Run> {
    let token = format!("{}{}", crate::kernel::scratch::PREFIX, cx.token());
    let me = cx.unprivileged("ch06")?;
    let dir = me.dir.join("made-here");
    std::fs::create_dir(&dir).with_context(|| format!("mkdir {}", dir.display()))?;
    if me.who.dropped {
        nix::unistd::chown(
            &dir,
            Some(nix::unistd::Uid::from_raw(me.who.ids.uid)),
            Some(nix::unistd::Gid::from_raw(me.who.ids.gid)),
        )
        .with_context(|| format!("chown {}", dir.display()))?;
    }
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let root_only = userns::root_only(&me.dir)?;
    let bash = rootfs_builder::resolve_binary("bash")?;
    let args = [
        "--".to_owned(),
        bash.display().to_string(),
        "-c".into(),
        script(&dir, root_only.path()),
        token.clone(),
    ];
    let outer_userns = procfs::ns_inode(std::process::id() as i32, "user")?;
    let mut running = cx.start_as(&me, &args, traced)?;
    let ready = running.wait_for(START_TIMEOUT, |l| l == "READY").is_some();
    let cmd = find_cmd(&token).filter(|_| ready).map(look);
    let orphaned = cmd.as_ref().and_then(|c| left_alone(running.pid(), c.pid));
    let made = std::fs::symlink_metadata(dir.join(MADE))
        .ok()
        .map(|m| (m.uid(), m.gid()));
    let lines = running.seen().to_vec();
    let finished = if traced {
        running.finish_traced(EXIT_TIMEOUT).0
    } else {
        running.finish(EXIT_TIMEOUT)
    };
    let mut left = alive(&token);
    kill_tagged(&token);
    let killed = if signal && cmd.is_some() {
        let kill = [
            "--",
            &bash.display().to_string(),
            "-c",
            "kill -TERM $$",
            &token,
        ];
        let done = cx.start_as(&me, &kill, false)?.finish(EXIT_TIMEOUT);
        left.extend(alive(&token));
        kill_tagged(&token);
        Some(done)
    } else {
        None
    };
    Ok(Run {
        ids: me.who.ids,
        dropped: me.who.dropped,
        outer_userns,
        dir,
        root_only,
        cmd,
        lines,
        finished,
        made,
        killed,
        left,
        orphaned,
    })
}

/// How long the program is watched, running on its own, while CMD waits for stdin:
/// closing stdin ends CMD, so once the verifier has closed it nothing is left to see of a
/// program that never waited.
const ORPHAN_WATCH: Duration = Duration::from_millis(150);

/// The program's pid, if it ends while CMD still waits. Watched for [`ORPHAN_WATCH`] of
/// running free: time the adversary holds it stopped (state `t`) does not count, up to
/// its [`HOLD`](crate::verify::adversary::HOLD). A program that exec'd CMD itself is CMD,
/// and cannot.
fn left_alone(program: i32, cmd: i32) -> Option<i32> {
    use std::time::Instant;
    if program == cmd {
        return None;
    }
    let limit = Instant::now() + crate::verify::adversary::HOLD + ORPHAN_WATCH;
    let mut free = Instant::now();
    while Instant::now() < limit {
        if !procfs::alive(program) && procfs::alive(cmd) {
            return Some(program);
        }
        if procfs::state(program) == Some('t') {
            free = Instant::now();
        } else if free.elapsed() >= ORPHAN_WATCH {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// CMD, read from the host.
fn look(pid: i32) -> Cmd {
    let status = userns::read_proc(pid, "status");
    Cmd {
        pid,
        userns: procfs::ns_inode(pid, "user").unwrap_or(0),
        uid_map: userns::read_proc(pid, "uid_map"),
        gid_map: userns::read_proc(pid, "gid_map"),
        setgroups: userns::read_proc(pid, "setgroups"),
        status_uid: status
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default(),
        cap_eff: userns::caps(&status, "CapEff"),
        cap_bnd: userns::caps(&status, "CapBnd"),
    }
}

/// The processes of the runs still alive (the program has ended): (pid, comm).
fn alive(token: &str) -> Vec<(i32, String)> {
    tagged(token)
        .into_iter()
        .map(|p| (p, procfs::comm(p).unwrap_or_default()))
        .collect()
}

/// How a finished program ended, for the exit check: its status as a shell reports it.
pub(super) fn status(f: &Finished) -> Option<i32> {
    match f.exit {
        Exit::Code(c) => Some(c),
        Exit::Signal(s) => Some(128 + s as i32),
        Exit::TimedOut => None,
    }
}
