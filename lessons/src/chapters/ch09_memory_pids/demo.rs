//! The guided demo of chapter 9: a memory hog climbing to memory.max and killed by the
//! OOM killer, memory.high throttling the same hog instead (v2), a fork bomb stopped at
//! pids.max 20 and then ended, and the v1 and v2 files side by side. Every hog and bomb
//! runs inside a cgroup of the lesson's own that already has a memory and a pids ceiling.

use std::ffi::CString;
use std::io::Read;
use std::time::{Duration, Instant};

use crate::error::Result;

use crate::kernel::cgroup::{
    Cgroup, CgroupFs, Joint, MemoryLimit, PidsMax, Version, memory_files, show_bytes,
};
use crate::kernel::child::{Exit, Supervised, emit, exec};
use crate::kernel::procfs;
use crate::present::Presenter;
use crate::verify::limits::join;

pub const STEPS: usize = 4;
const LIMIT: u64 = 64 << 20;
const HIGH: u64 = 32 << 20;
const CEILING: u64 = 4 * LIMIT;
const CEILING_PIDS: u64 = 64;
const BOMB_PIDS: u64 = 20;
const TICK: Duration = Duration::from_millis(50);
/// One more MiB each round, with a breath between: a climb the meter can follow.
const HOG: &str = "m=$(printf '%1048576s' ''); a=; while :; do a=$a$m; sleep 0.03; done";
const BOMB: &str = "bomb() { bomb | bomb & }; bomb";

pub fn run(p: &mut dyn Presenter) -> Result<()> {
    let fs = CgroupFs::detect()?;
    fs.require("memory")?;
    fs.require("pids")?;
    let bash = rootfs_builder::resolve_binary("bash")?
        .display()
        .to_string();
    // The lesson's ceiling: whatever goes wrong below, it stops here.
    let ceiling = fs.create_owned_joint(&["memory", "pids"], "demo9")?;
    let (mem, pids) = (of(&ceiling, "memory"), of(&ceiling, "pids"));
    mem.set(&MemoryLimit::no_swap(CEILING))?;
    pids.set(&PidsMax::new(CEILING_PIDS))?;
    ceiling.enable_for_children()?;
    let version = mem.version;

    // 1
    p.step(
        "A memory hog meets its limit: the OOM killer",
        "memory.max (v2) or memory.limit_in_bytes (v1) caps the memory a cgroup may use, in \
         bytes. When reclaim cannot keep it under, the kernel's OOM killer picks the biggest \
         process in the cgroup and sends it SIGKILL. Swap is held to the limit too (0 extra), \
         or the hog would swap instead of dying.",
    )?;
    let hog = ceiling.make_children("hog")?;
    let hog_mem = Cgroup::open(&hog[0].path, version);
    let limit = MemoryLimit::no_swap(LIMIT);
    p.shell(&format!("mkdir {}", hog_mem.path.display()));
    for s in hog_mem.shell_writes(&limit) {
        p.shell(&s);
    }
    hog_mem.set(&limit)?;
    p.kernel(&limit_line(&hog_mem));
    p.shell(&format!("bash -c \"{HOG}\"   # joined before exec"));
    let mut kmsg = Kmsg::open();
    let child = start_in(&hog, &bash, HOG)?;
    let pid = child.pid();
    let (child, exit) = climb(p, child, &hog_mem, LIMIT, Duration::from_secs(20))?;
    drop(child);
    p.kernel(&format!("bash, pid {pid}: {}", ended(exit)));
    p.kernel(&oom_line(&hog_mem));
    match kmsg
        .as_mut()
        .and_then(|k| k.find(&format!("Killed process {pid} ")))
    {
        Some(line) => p.kernel(&format!("kernel log: {line}")),
        None => p.say("(The kernel's log is not readable here; `dmesg` shows its line.)"),
    }
    if let Ok(Some(peak)) = hog_mem.memory_peak() {
        p.kernel(&format!(
            "{}: {peak} ({})",
            memory_files(version).peak,
            show_bytes(peak)
        ));
    }
    p.say(
        "Exit status 137 is 128 + 9: SIGKILL. Nothing in the program could catch it or clean \
         up. `docker run --memory 64m` ends the same way, and `docker inspect` says OOMKilled.",
    );

    // 2
    p.step(
        "memory.high: throttled, not killed",
        "cgroup v2 has a softer limit beside memory.max: above memory.high the kernel makes \
         the cgroup's own allocations reclaim memory and then sleep. The hog slows down and \
         lives; memory.events counts `high` each time.",
    )?;
    match version {
        Version::V2 => high(p, &ceiling, &bash)?,
        Version::V1 => {
            p.shell(&format!("ls {}/memory.high", hog_mem.path.display()));
            p.kernel(&format!(
                "{}/memory.high: {}",
                hog_mem.path.display(),
                if hog_mem.file("memory.high").exists() {
                    "exists"
                } else {
                    "No such file or directory"
                }
            ));
            p.say(
                "This host's memory controller speaks v1, which has no memory.high: the \
                 nearest, memory.soft_limit_in_bytes, only acts when the whole machine runs \
                 short. On a v2 host this step runs the hog under memory.high = 32 MiB.",
            );
        }
    }

    // 3
    p.step(
        "A fork bomb stopped at pids.max",
        "A function that calls itself twice in the background doubles its processes until \
         something stops it. pids.max caps how many tasks the cgroup may hold: fork() then \
         fails with EAGAIN, and pids.events counts each refusal as `max`.",
    )?;
    let bomb = ceiling.make_children("bomb")?;
    let bomb_pids = Cgroup::open(&of_path(&bomb, &pids.path), version);
    p.shell(&format!(
        "echo {BOMB_PIDS} > {}",
        bomb_pids.file("pids.max").display()
    ));
    bomb_pids.set(&PidsMax::new(BOMB_PIDS))?;
    let before = procfs::pids().len();
    p.shell(&format!("bash -c '{BOMB}'   # joined before exec"));
    let mut child = start_in(&bomb, &bash, BOMB)?;
    let said = child.wait_for(Duration::from_secs(5), |l| l.contains("fork"));
    let start = Instant::now();
    let mut most = 0;
    while start.elapsed() < Duration::from_secs(2) {
        let now = bomb_pids.pids_current().unwrap_or(0);
        most = most.max(now);
        p.meter(
            "pids.current",
            now as f64 / BOMB_PIDS as f64,
            &format!("pids.max {BOMB_PIDS}"),
        );
        std::thread::sleep(TICK);
    }
    p.meter_done();
    if let Some(line) = said
        .as_deref()
        .and_then(|l| l.find("fork:").map(|i| &l[i..]))
    {
        p.output(&format!("bash: {}", line.trim()));
    }
    p.kernel(&format!(
        "pids.current: {} (at most {most} seen), pids.max: {}, pids.events: max {}",
        bomb_pids.pids_current()?,
        bomb_pids.limit::<PidsMax>()?.line(),
        bomb_pids.pids_events()?.max
    ));
    p.kernel(&format!(
        "processes on the whole host before the bomb: {before} (process count now: {})",
        procfs::pids().len()
    ));
    p.shell(&match version {
        Version::V2 => format!("echo 1 > {}/cgroup.kill", bomb_pids.path.display()),
        Version::V1 => format!(
            "while kill -9 $(cat {}/cgroup.procs) 2>/dev/null; do :; done",
            bomb_pids.path.display()
        ),
    });
    for g in &bomb {
        g.remove()?;
    }
    let _ = child.kill();
    drop(child);
    p.kernel(&format!(
        "{}: {}",
        bomb_pids.path.display(),
        if bomb_pids.path.exists() {
            "still there"
        } else {
            "emptied and removed"
        }
    ));
    p.say(
        "The bomb never got past 20 processes, and the machine never noticed. Killing it \
         needs care: a process killed one at a time may fork again first. cgroup.kill (v2, \
         Linux 5.14) kills the whole cgroup at once; on v1, kill in a loop until cgroup.procs \
         is empty.",
    );

    // 4
    p.step(
        "Two trees or one: the files on v1 and v2",
        "On cgroup v1 and hybrid hosts each controller has its own tree, so one container \
         gets a directory in the memory tree and another in the pids tree. On v2 a single \
         directory holds both, with the controllers enabled in cgroup.subtree_control on the \
         way down.",
    )?;
    for (controllers, g) in ceiling.by_controller() {
        p.kernel(&format!("{}: {}", controllers.join(","), g.path.display()));
    }
    let (v1, v2) = (memory_files(Version::V1), memory_files(Version::V2));
    let rows = [
        ("limit", v1.limit, v2.limit),
        ("swap", v1.swap, v2.swap),
        ("usage", v1.usage, v2.usage),
        ("peak", v1.peak, v2.peak),
        ("OOM kills", v1.oom_kills, v2.oom_kills),
        ("pids limit", "pids.max", "pids.max"),
        ("forks refused", "pids.events", "pids.events"),
    ];
    let mut table = vec![format!("  {:<14} {:<32} {}", "", "cgroup v1", "cgroup v2")];
    table.extend(
        rows.iter()
            .map(|(what, a, b)| format!("  {what:<14} {a:<32} {b}")),
    );
    p.output(&table.join("\n"));
    p.say("The same limits with libcgroup's tools and with docker:");
    for s in [
        "cgcreate -g memory,pids:mygroup",
        "cgset -r memory.limit_in_bytes=64M -r memory.memsw.limit_in_bytes=64M mygroup   # v2: -r memory.max=64M -r memory.swap.max=0",
        "cgset -r pids.max=20 mygroup",
        "cgexec -g memory,pids:mygroup bash",
        "docker run --memory 64m --memory-swap 64m --pids-limit 20 IMAGE",
    ] {
        p.shell(s);
    }
    ceiling.remove()?;
    p.say(
        "Next, write it yourself: the exercise limits any command's memory and processes, on \
         v1 and on v2, and reports what the kernel counted.",
    );
    Ok(())
}

fn of<'a>(joint: &'a Joint, controller: &str) -> &'a Cgroup {
    joint.of(controller).expect("made for it")
}

/// The one of `groups` that lies under `parent`.
fn of_path(groups: &[Cgroup], parent: &std::path::Path) -> std::path::PathBuf {
    groups
        .iter()
        .find(|g| g.path.starts_with(parent))
        .map_or_else(|| groups[0].path.clone(), |g| g.path.clone())
}

/// Starts `bash -c SCRIPT` in the cgroups `groups`, joined between fork and exec.
fn start_in(groups: &[Cgroup], bash: &str, script: &str) -> Result<Supervised> {
    let procs: Vec<CString> = groups
        .iter()
        .map(|g| CString::new(g.file("cgroup.procs").as_os_str().as_encoded_bytes()))
        .collect::<std::result::Result<_, _>>()?;
    let (bash, script) = (bash.to_owned(), script.to_owned());
    Supervised::fork(move || {
        for p in &procs {
            if let Err(e) = join(p) {
                emit(&format!("joining a cgroup: {e}"));
                return 1;
            }
        }
        emit(&exec(&[&bash, "-c", &script]));
        127
    })
}

/// Shows memory.current climbing towards `limit` until the child ends (or `within`).
fn climb(
    p: &mut dyn Presenter,
    mut child: Supervised,
    cg: &Cgroup,
    limit: u64,
    within: Duration,
) -> Result<(Supervised, Option<Exit>)> {
    let start = Instant::now();
    let usage = memory_files(cg.version).usage;
    let exit = loop {
        if let Some(e) = child.try_wait()? {
            break Some(e);
        }
        if start.elapsed() > within {
            break None;
        }
        let now = cg.memory_current().unwrap_or(0);
        p.meter(
            usage,
            now as f64 / limit as f64,
            &format!(
                "{:.1} MiB of {} MiB",
                now as f64 / (1 << 20) as f64,
                limit >> 20
            ),
        );
        std::thread::sleep(TICK);
    };
    p.meter_done();
    Ok((child, exit))
}

fn ended(exit: Option<Exit>) -> String {
    match exit {
        Some(Exit::Signal(s)) => format!("killed by {} (status {})", s.as_str(), 128 + s as i32),
        Some(Exit::Code(c)) => format!("exited {c}"),
        Some(Exit::TimedOut) | None => "still running".to_owned(),
    }
}

fn limit_line(cg: &Cgroup) -> String {
    let f = memory_files(cg.version);
    [f.limit, f.swap]
        .iter()
        .filter_map(|n| {
            let t = std::fs::read_to_string(cg.file(n)).ok()?;
            Some(format!("{n} = {}", t.trim()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn oom_line(cg: &Cgroup) -> String {
    let f = memory_files(cg.version).oom_kills;
    let text = std::fs::read_to_string(cg.file(f)).unwrap_or_default();
    let shown: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("oom") || l.starts_with("max ") || l.starts_with("under_oom"))
        .collect();
    format!("{f}: {}", shown.join(", "))
}

/// Step 2 on v2: the hog under memory.high, alive and slowed.
fn high(p: &mut dyn Presenter, ceiling: &Joint, bash: &str) -> Result<()> {
    let groups = ceiling.make_children("high")?;
    let cg = groups[0].clone();
    p.shell(&format!(
        "echo {HIGH} > {}",
        cg.file("memory.high").display()
    ));
    cg.set_memory_high(Some(HIGH))?;
    cg.set(&MemoryLimit {
        max: None,
        swap: Some(0),
    })?;
    p.shell(&format!("bash -c \"{HOG}\" &"));
    let child = start_in(&groups, bash, HOG)?;
    let pid = child.pid();
    let (mut child, exit) = climb(p, child, &cg, HIGH, Duration::from_secs(3))?;
    let events = cg.memory_events()?;
    p.kernel(&format!(
        "bash, pid {pid}: {}; memory.current {}; memory.events: high {}, max {}, oom_kill {}",
        ended(exit),
        show_bytes(cg.memory_current()?),
        events.high,
        events.max,
        events.oom_kill
    ));
    let _ = child.kill();
    drop(child);
    for g in groups {
        g.remove()?;
    }
    p.say(
        "Above 32 MiB every allocation pays with reclaim and a sleep: the hog is throttled, \
         not killed. docker has no flag for it; systemd calls it MemoryHigh=.",
    );
    Ok(())
}

/// The kernel's log from now on (/dev/kmsg, read without blocking), when readable.
struct Kmsg(std::fs::File);

impl Kmsg {
    fn open() -> Option<Kmsg> {
        use std::io::Seek;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg")
            .ok()?;
        // SEEK_END on /dev/kmsg: only records written from now on.
        f.seek(std::io::SeekFrom::End(0)).ok()?;
        Some(Kmsg(f))
    }

    /// The first new record containing `needle`, its text up to the process's name.
    fn find(&mut self, needle: &str) -> Option<String> {
        let mut buf = vec![0u8; 8192];
        // Each read returns one record; EAGAIN when there are no more.
        while let Ok(n) = self.0.read(&mut buf) {
            let rec = String::from_utf8_lossy(&buf[..n]);
            let text = rec.split_once(';').map_or(&*rec, |(_, t)| t).trim_end();
            if let Some(at) = text.find(needle) {
                let end = text[at..].find(')').map_or(text.len(), |i| at + i + 1);
                return Some(text[..end].to_owned());
            }
        }
        None
    }
}
