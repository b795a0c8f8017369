//! The guided demo of chapter 4: a cgroup under learn-containers/, a CPU burner measured
//! live from its kernel CPU clock, the quota written in this host's format, throttling in
//! cpu.stat, a quota above one CPU, the period's effect, and removal (EBUSY first).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::error::{Context, Result};
use nix::errno::Errno;

use crate::kernel::cgroup::{self, Cgroup, CgroupFs, CpuLimit, Version};
use crate::kernel::child::{Supervised, emit, exec};
use crate::kernel::procfs;
use crate::present::Presenter;
use crate::verify::probe::cpu_share::{Share, load_average};

pub const STEPS: usize = 6;
/// How long each live measurement runs.
const WATCH: Duration = Duration::from_secs(2);
/// The meter shows the share over the last half second.
const SLIDING: usize = 5;
const TICK: Duration = Duration::from_millis(100);

pub fn run(p: &mut dyn Presenter) -> Result<()> {
    // A host without a cpu controller stops here, with an error naming `doctor`.
    let fs = CgroupFs::detect()?;
    let ctrl = fs.require("cpu")?;
    let version = ctrl.version;

    // 1
    p.step(
        "Where cgroups live on this host",
        "A cgroup is a directory in a special filesystem: mkdir creates one, the kernel fills \
         it with interface files, writing a PID to its cgroup.procs moves a process in, and the \
         controllers (cpu, memory, pids, ...) read their limits from its files. cgroup v1 has \
         one tree per controller; v2 has a single tree for all of them.",
    )?;
    p.shell("stat -f -c %T /sys/fs/cgroup /sys/fs/cgroup/unified");
    p.kernel(&format!("{}: {}", fs.mode, fs.detection().how));
    let listed: Vec<String> = fs
        .controllers()
        .iter()
        .map(|c| {
            let v = match c.version {
                Version::V1 => "v1",
                Version::V2 => "v2",
            };
            format!("  {:<10} {v}  {}", c.name, c.dir.display())
        })
        .collect();
    p.output(&listed.join("\n"));
    let cg = fs.create_owned("cpu", "demo")?;
    let dir = cg.path.display().to_string();
    p.shell(&format!("mkdir {dir}"));
    let mut names: Vec<String> = std::fs::read_dir(&cg.path)
        .with_context(|| format!("list {dir}"))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    p.shell(&format!("ls {dir}"));
    p.kernel(&format!(
        "{} files, made by the kernel:\n{}",
        names.len(),
        wrap_names(&names, 72)
    ));
    p.kernel(&limit_files(&cg));
    p.say(&match version {
        Version::V1 => format!(
            "This host speaks cgroup v1 for cpu: the cpu controller has its own tree at {}. \
             cpu.cfs_quota_us = -1 means no limit. Everything this lesson creates lives under \
             learn-containers/ and is removed at the end (or on Ctrl-C).",
            ctrl.dir.display()
        ),
        Version::V2 => format!(
            "This host speaks cgroup v2: one tree at {}. The cpu controller had to be enabled \
             for children with `+cpu` in cgroup.subtree_control on the way down, or the new \
             cgroup would have no cpu.max. \"max 100000\" means no limit.",
            ctrl.dir.display()
        ),
    });

    // 2
    p.step(
        "A CPU burner, unlimited",
        "A shell loop that never sleeps wants 100% of one CPU. The meter reads its CPU time \
         from the kernel (the process's CPU clock) ten times a second and divides by wall time.",
    )?;
    let bash = rootfs_builder::resolve_binary("bash")?
        .display()
        .to_string();
    p.shell("bash -c 'while :; do :; done' &");
    let burner = burn(&bash)?;
    let pid = burner.pid();
    let free = watch(p, &[pid], None, &format!("burner pid {pid}, no limit"))?;
    p.kernel(&format!(
        "burner {pid}: {:.2} s of CPU time in {:.2} s → {:.2} of one CPU",
        free.cpu.as_secs_f64(),
        free.wall.as_secs_f64(),
        free.value()
    ));

    // 3
    p.step(
        "Set the quota: half a CPU",
        "The CFS bandwidth controller gives a cgroup a quota of CPU time per period, both in \
         microseconds. 50000 every 100000 is half of one CPU. The burner is not in the cgroup \
         yet, so this changes nothing for it.",
    )?;
    let half = CpuLimit::from_cpus(0.5)?;
    for s in cg.shell_writes(&half) {
        p.shell(&s);
    }
    cg.set(&half)?;
    p.kernel(&limit_files(&cg));
    p.say("The same limit in both interfaces:");
    p.output(
        "  cgroup v1 (one tree per controller)       cgroup v2 (one tree)\n  \
         cpu.cfs_period_us = 100000                  cpu.max = \"50000 100000\"   (quota, then period)\n  \
         cpu.cfs_quota_us  = 50000\n  \
         cpu.cfs_quota_us  = -1     (no limit)       cpu.max = \"max 100000\"\n  \
         cpu.stat: throttled_time  (nanoseconds)     cpu.stat: throttled_usec (microseconds)\n  \
         cgroup.procs, tasks                         cgroup.procs, cgroup.threads",
    );
    p.say("What most tutorials type for the same thing (v1 paths, libcgroup tools, docker):");
    for s in [
        "mkdir /sys/fs/cgroup/cpu/mygroup",
        "echo $$ > /sys/fs/cgroup/cpu/mygroup/cgroup.procs     # $$ is the shell that expands it",
        "cgcreate -g cpu:/mygroup",
        "cgset -r cpu.cfs_quota_us=50000 mygroup                 # v2: cgset -r cpu.max=\"50000 100000\" mygroup",
        "cgexec -g cpu:mygroup bash",
        "docker run --cpus 0.5 IMAGE                             # writes the same quota and period",
    ] {
        p.shell(s);
    }

    // 4
    p.step(
        "Move the burner in: the meter drops to half",
        "Writing the burner's PID to cgroup.procs moves it (all its threads) into the cgroup. \
         From the next period on, once it has used 50 ms of CPU in a 100 ms period, the \
         scheduler takes it off the CPU until the period ends: it is throttled. Moving a \
         running process leaves behind the children it already has; a program that starts \
         a command under a cap has the command's process join before exec instead, as the \
         exercise does.",
    )?;
    let stat_before = read_stat(&cg)?;
    p.shell(&format!("echo {pid} > {dir}/cgroup.procs"));
    cg.add_process(pid)?;
    p.kernel(&format!("/proc/{pid}/cgroup: {}", cgroup_line(&fs, pid)));
    let capped = watch(
        p,
        &[pid],
        Some(&cg),
        &format!("burner pid {pid}, {}", limit_label(version, 0.5)),
    )?;
    // The tests parse this line.
    p.kernel(&format!(
        "measured share under a 0.5 CPU quota: {:.2} of one CPU ({:.2} s of CPU time in {:.2} s)",
        capped.value(),
        capped.cpu.as_secs_f64(),
        capped.wall.as_secs_f64()
    ));
    let stat_after = read_stat(&cg)?;
    p.shell(&format!("cat {dir}/cpu.stat"));
    p.kernel(&format!(
        "before the move:\n{}\nafter {:.0} s inside:\n{}",
        stat_before.trim_end(),
        capped.wall.as_secs_f64(),
        stat_after.trim_end()
    ));
    p.say(
        "nr_periods counts the 100 ms periods in which the cgroup wanted CPU, nr_throttled \
         those in which it used up its quota and had to wait, and throttled_time (v1, in ns) \
         or throttled_usec (v2) the total waiting. This is what `docker run --cpus 0.5` \
         does to a container.",
    );

    // 5
    p.step(
        "More than one CPU, and what the period changes",
        "The quota can be larger than the period: 150000 every 100000 is 1.5 CPUs, usable only \
         by a cgroup with at least two busy threads or processes on a machine with two or more \
         CPUs.",
    )?;
    let cores = cgroup::host_cpus();
    match CpuLimit::for_host(1.5, cores) {
        Ok(wide) => {
            for s in cg.shell_writes(&wide) {
                p.shell(&s);
            }
            cg.set(&wide)?;
            p.shell("bash -c 'while :; do :; done' &   # a second burner, moved in too");
            let second = burn(&bash)?;
            cg.add_process(second.pid())?;
            let both = watch(
                p,
                &[pid, second.pid()],
                Some(&cg),
                &format!("2 burners, {}", limit_label(version, 1.5)),
            )?;
            p.kernel(&format!(
                "burners {pid} and {}: {:.2} s of CPU time in {:.2} s → {:.2} CPUs together (this machine has {cores})",
                second.pid(),
                both.cpu.as_secs_f64(),
                both.wall.as_secs_f64(),
                both.value()
            ));
            if both.value() < 1.35 {
                p.say(&format!(
                    "Less than 1.5: the burners share this machine with other work (load \
                     average {}). A quota is a ceiling, not a reservation.",
                    load_average()
                ));
            }
            drop(second);
        }
        Err(e) => p.say(&format!("Not on this machine: {e}")),
    }
    p.say(
        "The period sets how long a throttled cgroup waits. Same half CPU, two periods: the \
         average wait per throttling is about the unused half of one period.",
    );
    for period in [100_000, 10_000] {
        let limit = CpuLimit {
            quota_us: Some(period / 2),
            period_us: period,
        };
        for s in cg.shell_writes(&limit) {
            p.shell(&s);
        }
        cg.set(&limit)?;
        let a = cg.cpu_stat()?;
        let s = watch_for(
            p,
            &[pid],
            Some(&cg),
            &format!("burner pid {pid}, period {} ms", period / 1000),
            Duration::from_secs(1),
        )?;
        let b = cg.cpu_stat()?;
        let times = b.nr_throttled.saturating_sub(a.nr_throttled);
        let waited = b.throttled_usec.saturating_sub(a.throttled_usec);
        p.kernel(&format!(
            "period {} ms: share {:.2}; throttled {times} times in {:.1} s, {:.1} ms each on average",
            period / 1000,
            s.value(),
            s.wall.as_secs_f64(),
            waited as f64 / 1000.0 / times.max(1) as f64
        ));
    }
    p.say(
        "A long period lets a burst run at full speed for longer, then stalls it for longer: \
         worse latency for a request that arrives during the stall. A short period smooths \
         that out at the cost of more scheduler work. The kernel's default, and docker's, is \
         100 ms.",
    );

    // 6
    p.step(
        "Removal: a cgroup with processes cannot go",
        "A cgroup is removed with rmdir, never by deleting its files. The kernel refuses while \
         any process is still in it.",
    )?;
    p.shell(&format!("rmdir {dir}"));
    match std::fs::remove_dir(&cg.path) {
        Err(e) => p.kernel(&format!(
            "rmdir(\"{dir}\") failed: {}",
            e.raw_os_error()
                .map(|n| Errno::from_raw(n).to_string())
                .unwrap_or_else(|| e.to_string())
        )),
        Ok(()) => p.kernel(&format!("rmdir(\"{dir}\") succeeded while the burner ran")),
    }
    p.shell(&format!("cat {dir}/cgroup.procs"));
    p.kernel(&format!("cgroup.procs: {}", procs_text(&cg)));
    p.shell(&match version {
        Version::V2 => format!("echo 1 > {dir}/cgroup.kill      # kills every process in it"),
        Version::V1 => format!("kill -9 $(cat {dir}/cgroup.procs)"),
    });
    // Kills its process group and reaps it.
    drop(burner);
    p.kernel(&format!("cgroup.procs: {}", procs_text(&cg)));
    p.shell(&format!("rmdir {dir}"));
    let path = cg.path.clone();
    cg.remove()?;
    p.kernel(&format!(
        "rmdir(\"{dir}\") succeeded; the directory {}",
        if path.exists() {
            "is still there"
        } else {
            "is gone"
        }
    ));
    p.say(
        "Empty first, then rmdir: that is how every cgroup this workshop makes is removed, also \
         when you press Ctrl-C. Next, write it yourself: the exercise caps any command at \
         --cpus CPUS, on v1 and on v2.",
    );
    Ok(())
}

/// Starts a shell loop that never sleeps, in its own process group.
fn burn(bash: &str) -> Result<Supervised> {
    Supervised::fork(|| {
        emit(&exec(&[bash, "-c", "while :; do :; done"]));
        127
    })
}

/// The CPU time the processes have used so far, together.
fn cpu_of(pids: &[i32]) -> Result<Duration> {
    pids.iter().map(|&pid| procfs::cpu_clock(pid)).sum()
}

fn watch(p: &mut dyn Presenter, pids: &[i32], cg: Option<&Cgroup>, label: &str) -> Result<Share> {
    watch_for(p, pids, cg, label, WATCH)
}

/// Shows a live meter of the processes' CPU share for `time`, and returns the share over
/// the whole time.
fn watch_for(
    p: &mut dyn Presenter,
    pids: &[i32],
    cg: Option<&Cgroup>,
    label: &str,
    time: Duration,
) -> Result<Share> {
    let start = Instant::now();
    let first = cpu_of(pids)?;
    let mut window = VecDeque::from([(start, first)]);
    while start.elapsed() < time {
        std::thread::sleep(TICK);
        let (now, cpu) = (Instant::now(), cpu_of(pids)?);
        window.push_back((now, cpu));
        if window.len() > SLIDING + 1 {
            window.pop_front();
        }
        let (t0, c0) = window[0];
        let share = cpu.saturating_sub(c0).as_secs_f64() / (now - t0).as_secs_f64();
        let detail = cg
            .and_then(|c| c.cpu_stat().ok())
            .map(|s| format!("nr_throttled {}", s.nr_throttled))
            .unwrap_or_default();
        p.meter(label, share, &detail);
    }
    let share = Share {
        cpu: cpu_of(pids)?.saturating_sub(first),
        wall: start.elapsed(),
    };
    p.meter_done();
    Ok(share)
}

fn limit_label(version: Version, cpus: f64) -> String {
    match version {
        Version::V2 => format!("cpu.max {cpus}"),
        Version::V1 => format!("cfs_quota {cpus} CPU"),
    }
}

/// The limit files as the kernel reports them.
fn limit_files(cg: &Cgroup) -> String {
    let mut out: Vec<String> = cg
        .cpu_limit_files()
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    out.push(format!("cgroup.procs: {}", procs_text(cg)));
    out.join(", ")
}

fn procs_text(cg: &Cgroup) -> String {
    match cg.procs() {
        Ok(p) if p.is_empty() => "(empty)".into(),
        Ok(p) => p.iter().map(i32::to_string).collect::<Vec<_>>().join(" "),
        Err(e) => format!("unreadable: {e}"),
    }
}

fn read_stat(cg: &Cgroup) -> Result<String> {
    let f = cg.file("cpu.stat");
    std::fs::read_to_string(&f).with_context(|| format!("read {}", f.display()))
}

/// The /proc/PID/cgroup line for the cpu controller, as the kernel wrote it.
fn cgroup_line(fs: &CgroupFs, pid: i32) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let want = fs.cgroup_of(pid, "cpu").ok();
    text.lines()
        .find(|l| want.is_some() && fs.dir_in_proc_cgroup(l, "cpu") == want)
        .unwrap_or("(not found)")
        .to_owned()
}

/// File names in lines of at most `width` characters.
fn wrap_names(names: &[String], width: usize) -> String {
    let mut lines = vec![String::new()];
    for n in names {
        let line = lines.last_mut().unwrap();
        if !line.is_empty() && line.len() + 1 + n.len() > width {
            lines.push(n.clone());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(n);
        }
    }
    lines.join("\n")
}
