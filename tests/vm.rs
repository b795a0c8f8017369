//! Tier 3: a real cgroup v2 kernel. The development machines are cgroup hybrid, but most
//! learners' machines are pure v2, so the cgroup chapter must run there for real. This
//! test boots the host's Debian kernel under qemu with an initramfs made by the project's
//! own rootfs-builder, runs the CLI inside, and reads the verdicts from the serial console.
//!
//! Needs qemu-system-x86_64 (qemu-system-x86), a kernel in /boot with its modules in
//! /lib/modules (linux-image-amd64: chapter 7's veth, bridge and nftables are modules) and
//! busybox (busybox-static). Without them it is skipped, or fails when CI=true.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixture, workspace};

/// What the guest runs, in order: a name, the learn-containers arguments, the exit code
/// it must give.
const RUNS: &[(&str, &str, i32)] = &[
    ("doctor", "doctor", 0),
    ("lesson4", "lesson 4 --yes", 0),
    (
        "verify4-solution",
        "verify 4 --solution --bin-dir /opt/lc/solutions",
        0,
    ),
    (
        "verify4-untouched",
        "verify 4 --bin-dir /opt/lc/exercises",
        1,
    ),
    ("verify4-v1-names", "verify 4 --bin-dir /opt/lc/v1-names", 1),
    (
        "verify2-solution",
        "verify 2 --solution --bin-dir /opt/lc/solutions",
        0,
    ),
    (
        "verify3-solution",
        "verify 3 --solution --bin-dir /opt/lc/solutions",
        0,
    ),
    (
        "verify5-solution",
        "verify 5 --solution --bin-dir /opt/lc/solutions",
        0,
    ),
    // / made private without MS_REC, judged on a pure v2 kernel too.
    (
        "verify3-not-recursive",
        "verify 3 --bin-dir /opt/lc/not-recursive",
        1,
    ),
    (
        "verify5-not-recursive",
        "verify 5 --bin-dir /opt/lc/not-recursive",
        1,
    ),
    // Chapter 6 as root: the verifier drops the program to a uid it picks.
    ("lesson6", "lesson 6 --yes", 0),
    (
        "verify6-solution",
        "verify 6 --solution --bin-dir /opt/lc/solutions",
        0,
    ),
    (
        "verify6-untouched",
        "verify 6 --bin-dir /opt/lc/exercises",
        1,
    ),
    // Chapter 7 on a kernel whose veth, bridge and nftables NAT come as modules, loaded
    // by the init script as a distribution's initramfs would (see `modules`).
    ("lesson7", "lesson 7 --yes", 0),
    (
        "verify7-solution",
        "verify 7 --solution --bin-dir /opt/lc/solutions",
        0,
    ),
    (
        "verify7-untouched",
        "verify 7 --bin-dir /opt/lc/exercises",
        1,
    ),
    // Chapter 8: the cgroup namespace's `0::/`, where CG lives in the one v2 tree; the
    // namespace made before the join must fail here too.
    ("lesson8", "lesson 8 --yes", 0),
    (
        "verify8-solution",
        "verify 8 --solution --bin-dir /opt/lc/solutions",
        0,
    ),
    (
        "verify8-untouched",
        "verify 8 --bin-dir /opt/lc/exercises",
        1,
    ),
    (
        "verify8-ns-before-join",
        "verify 8 --bin-dir /opt/lc/ns-before-join",
        1,
    ),
    // Chapter 9: memory and pids in one v2 directory; a made-up report and a CMD that
    // never joined, under the exercise's name.
    ("lesson9", "lesson 9 --yes", 0),
    (
        "verify9-solution",
        "verify 9 --solution --bin-dir /opt/lc/solutions",
        0,
    ),
    (
        "verify9-untouched",
        "verify 9 --bin-dir /opt/lc/exercises",
        1,
    ),
    ("verify9-made-up", "verify 9 --bin-dir /opt/lc/made-up", 1),
    (
        "verify9-not-joined",
        "verify 9 --bin-dir /opt/lc/not-joined",
        1,
    ),
    // Chapter 10: the freezer is cgroup.freeze and cgroup.events in the one v2 tree; a
    // pause that does not wait for `frozen 1` must be caught there too.
    ("lesson10", "lesson 10 --yes", 0),
    (
        "verify10-solution",
        "verify 10 --solution --bin-dir /opt/lc/solutions",
        0,
    ),
    (
        "verify10-untouched",
        "verify 10 --bin-dir /opt/lc/exercises",
        1,
    ),
    ("verify10-no-wait", "verify 10 --bin-dir /opt/lc/no-wait", 1),
    // The hog under `run --memory`: killed, and said so.
    (
        "run-memory",
        "run --memory 32M --pids 20 -- /bin/bash -c \"a=x; while :; do a=\\$a\\$a; done\"",
        137,
    ),
    (
        "run-cpus",
        "run --cpus 0.5 --hostname box -- /bin/sh -c 'echo pid-$$; hostname; exit 7'",
        7,
    ),
    // Chapter 8's run: its cgroup joined, then its cgroup namespace (`0::/` on v2), and a
    // time namespace on request.
    (
        "run-namespaces",
        "run --cpus 0.5 --uptime-offset 86400 -- /bin/sh -c 'cat /proc/self/cgroup; cat /proc/self/timens_offsets'",
        0,
    ),
    // Chapter 10's lifecycle on the containers `run` makes: the freezer is a v2 cgroup's
    // own cgroup.freeze, with no controller asked for.
    (
        "run-detached",
        "run -d --name web -- /bin/sh -c 'trap \"exit 7\" TERM; while :; do :; done'",
        0,
    ),
    ("pause-detached", "pause web", 0),
    ("ps-paused", "ps", 0),
    ("resume-detached", "resume web", 0),
    ("stop-detached", "stop -t 5 web", 0),
    ("rm-detached", "rm web", 0),
];

/// Run after those, as an unprivileged user (uid 1000) whose shell sits in a cgroup
/// delegated to it, as `systemd-run --user --scope -p Delegate=yes` makes one: chapter 4
/// rootless.
const ROOTLESS_RUNS: &[(&str, &str, i32)] = &[
    // 2: chapter 5 (namespaces and cgroups) still needs root.
    ("rootless-doctor", "doctor", 2),
    ("rootless-lesson4", "lesson 4 --yes", 0),
    (
        "rootless-verify4-solution",
        "verify 4 --solution --bin-dir /opt/lc/solutions",
        0,
    ),
    ("rootless-lesson5", "lesson 5 --yes", 2),
    // Chapter 6 as the user itself, and `run` without root.
    ("rootless-lesson6", "lesson 6 --yes", 0),
    (
        "rootless-verify6-solution",
        "verify 6 --solution --bin-dir /opt/lc/solutions",
        0,
    ),
    (
        "rootless-run",
        // Double quotes: the init script wraps these arguments in single ones.
        "run --hostname box -- /bin/sh -c \"id -u; echo \\$\\$; hostname\"",
        0,
    ),
    // The user's shell still in the delegated cgroup (a sleep stands in for it): v2 then
    // refuses to enable controllers there, and the error says how to get a scope.
    ("rootless-shared", "lesson 4 --yes", 2),
];

/// The cgroup the guest's init delegates to uid 1000.
const DELEGATED: &str = "/sys/fs/cgroup/learner";

/// The whole run (boot and every command) must end within this.
const BOUND: Duration = Duration::from_secs(480);

fn kernel() -> Option<PathBuf> {
    let mut k: Vec<PathBuf> = std::fs::read_dir("/boot")
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .collect();
    k.sort();
    k.pop()
}

/// The tools this tier needs, or why it cannot run.
fn prerequisites() -> Result<(PathBuf, PathBuf), String> {
    let install = "apt-get install qemu-system-x86 linux-image-amd64 busybox-static";
    let qemu = which("qemu-system-x86_64").ok_or(format!("no qemu-system-x86_64: {install}"))?;
    let kernel = kernel().ok_or(format!("no kernel in /boot: {install}"))?;
    std::fs::File::open(&kernel).map_err(|e| {
        format!(
            "cannot read {}: {e} (run the tests as root)",
            kernel.display()
        )
    })?;
    which("busybox").ok_or(format!("no busybox: {install}"))?;
    Ok((qemu, kernel))
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

fn cargo_build(args: &[&str]) {
    let ok = Command::new(env!("CARGO"))
        .current_dir(workspace())
        .args(["build", "--quiet"])
        .args(args)
        .status()
        .unwrap()
        .success();
    assert!(ok, "cargo build {args:?} failed");
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
        .join("debug")
}

/// The guest's /init: mount what a container host has, cgroup2 at /sys/fs/cgroup, run
/// each command, print `LC-EXIT name code` after it, and power off.
fn init_script() -> String {
    // The initramfs root can never be pivot_root'ed away from (chapter 5 needs that), so
    // stage one copies it into a tmpfs and switch_roots there, as real inits do.
    let mut s = String::from(
        "#!/bin/sh\n\
         if [ ! -e /.stage2 ]; then\n\
         busybox mkdir -p /newroot\n\
         busybox mount -t tmpfs -o size=90% tmpfs /newroot\n\
         for d in /*; do [ \"$d\" = /newroot ] || busybox cp -a \"$d\" /newroot/; done\n\
         busybox touch /newroot/.stage2\n\
         exec busybox switch_root /newroot /init\n\
         fi\n\
         export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root\n\
         export LEARN_CONTAINERS_ROOT=/opt/lc/ws LEARN_CONTAINERS_STATE=/tmp/lc-state NO_COLOR=1\n\
         busybox mkdir -p /proc /sys /dev /tmp /var/tmp\n\
         busybox mount -t proc proc /proc\n\
         busybox mount -t sysfs sysfs /sys\n\
         busybox mount -t devtmpfs devtmpfs /dev\n\
         busybox mount -t tmpfs tmpfs /tmp\n\
         busybox mount -t cgroup2 cgroup2 /sys/fs/cgroup\n\
         for m in $(busybox cat /opt/lc/modules); do busybox insmod \"$m\" 2>/dev/null; done\n\
         echo LC-BOOTED\n",
    );
    for (name, args, _) in RUNS {
        s.push_str(&format!(
            "echo LC-BEGIN {name}\n/bin/learn-containers {args} </dev/null 2>&1\necho LC-EXIT {name} $?\n"
        ));
    }
    // Delegation as systemd does it: the directory and the files that move processes and
    // hand out controllers belong to the user; the root's subtree_control offers cpu
    // and pids.
    s.push_str(&format!(
        "echo '+cpu +pids' > /sys/fs/cgroup/cgroup.subtree_control\n\
         busybox mkdir -p {DELEGATED} /tmp/lc-user\n\
         busybox chown 1000:1000 {DELEGATED} {DELEGATED}/cgroup.procs {DELEGATED}/cgroup.subtree_control {DELEGATED}/cgroup.threads /tmp/lc-user\n"
    ));
    for (name, args, _) in ROOTLESS_RUNS {
        let company = if *name == "rootless-shared" {
            "busybox sleep 60 & echo $! > /tmp/company; "
        } else {
            ""
        };
        s.push_str(&format!(
            "echo LC-BEGIN {name}\n\
             /bin/sh -c 'echo $$ > {DELEGATED}/cgroup.procs; {company}exec /opt/lc/setpriv --reuid=1000 --regid=1000 --clear-groups busybox env LEARN_CONTAINERS_STATE=/tmp/lc-user HOME=/tmp/lc-user /bin/learn-containers {args}' </dev/null 2>&1\n\
             echo LC-EXIT {name} $?\n\
             [ -e /tmp/company ] && busybox kill $(busybox cat /tmp/company) && busybox rm /tmp/company\n\
             echo LC-LEFT {name}: $(busybox find {DELEGATED} -mindepth 1 -type d)\n"
        ));
    }
    // Last, with unprivileged user namespaces switched off: chapter 6 says so and stops.
    s.push_str(
        "echo 0 > /proc/sys/user/max_user_namespaces\n\
         echo LC-BEGIN no-userns-lesson6\n\
         /bin/learn-containers lesson 6 --yes </dev/null 2>&1\n\
         echo LC-EXIT no-userns-lesson6 $?\n",
    );
    s.push_str("echo LC-DONE\nbusybox poweroff -f\n");
    s
}

/// Builds the guest's root filesystem and packs it.
fn initramfs(dir: &Path) -> PathBuf {
    cargo_build(&[
        "-p",
        "learn-containers",
        "-p",
        "exercises",
        "-p",
        "solutions",
        "-p",
        "fixtures",
        "--bins",
    ]);
    let bins = target_dir();
    let root = dir.join("root");
    let plan = rootfs_builder::plan(&rootfs_builder::Options {
        bins: vec![
            env!("CARGO_BIN_EXE_learn-containers").into(),
            "bash".into(),
            "ls".into(),
            "cat".into(),
            "sleep".into(),
            // Chapter 9's forker: `seq 30 | xargs -P 30 ...`.
            "seq".into(),
            "xargs".into(),
            "ldd".into(),
            "setpriv".into(),
            // Chapter 7's NAT steps.
            "nft".into(),
            // The verifier's CMD bounds each connection with it.
            "timeout".into(),
        ]
        .into_iter()
        .filter(|b: &String| {
            rootfs_builder::inspect(Path::new(b)).is_ok()
                || which(b).is_some_and(|p| rootfs_builder::inspect(&p).is_ok())
        })
        .collect(),
        busybox: true,
        skeleton: true,
    })
    .unwrap();
    rootfs_builder::build(&root, &plan, &mut |_| {}).unwrap();
    let lc = root.join("opt/lc");
    let ids: Vec<&str> = lessons::chapters()
        .iter()
        .flat_map(|c| c.exercises.iter().map(|e| e.id))
        .collect();
    for (flavor, suffix) in [("exercises", ""), ("solutions", "_solution")] {
        std::fs::create_dir_all(lc.join(flavor)).unwrap();
        for id in &ids {
            std::fs::copy(bins.join(format!("{id}{suffix}")), lc.join(flavor).join(id)).unwrap();
        }
    }
    // Where the multiarch libraries are, for rootfs-builder inside the guest (the
    // loader knows; lddtree reads it from here, as on the host).
    let multiarch: Vec<String> = plan
        .entries
        .iter()
        .filter_map(|e| Some(Path::new("/").join(e.dest.parent()?)))
        .filter(|d| d.to_string_lossy().contains("-linux-gnu"))
        .map(|d| d.display().to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    std::fs::write(root.join("etc/ld.so.conf"), multiarch.join("\n") + "\n").unwrap();
    // util-linux setpriv, where busybox's (which cannot change uids) does not shadow it;
    // its libraries came with the plan above.
    std::fs::copy(
        which("setpriv").expect("setpriv (util-linux)"),
        lc.join("setpriv"),
    )
    .unwrap();
    modules(&root);
    // A chapter 4 solution that writes v1 file names, under the exercise's name.
    std::fs::create_dir_all(lc.join("v1-names")).unwrap();
    std::fs::copy(
        fixture("ch04_v1_names"),
        lc.join("v1-names/ch04_cgroup_cpu"),
    )
    .unwrap();
    // Solutions that make / private without MS_REC, under the exercises' names.
    std::fs::create_dir_all(lc.join("not-recursive")).unwrap();
    for (fixture_name, id) in [
        ("ch03_private_not_recursive", "ch03_mount_namespace"),
        ("ch05_private_not_recursive", "ch05_run"),
    ] {
        std::fs::copy(fixture(fixture_name), lc.join("not-recursive").join(id)).unwrap();
    }
    // A chapter 8 solution that makes the cgroup namespace before joining its cgroup.
    std::fs::create_dir_all(lc.join("ns-before-join")).unwrap();
    std::fs::copy(
        fixture("ch08_cgroup_ns_before_join"),
        lc.join("ns-before-join/ch08_more_namespaces"),
    )
    .unwrap();
    // Chapter 9's wrong answers, under the exercise's name.
    for (fixture_name, dir) in [
        ("ch09_report_made_up", "made-up"),
        ("ch09_not_joined", "not-joined"),
    ] {
        std::fs::create_dir_all(lc.join(dir)).unwrap();
        std::fs::copy(fixture(fixture_name), lc.join(dir).join("ch09_memory_pids")).unwrap();
    }
    // Chapter 10's pause that returns before the cgroup is frozen.
    std::fs::create_dir_all(lc.join("no-wait")).unwrap();
    std::fs::copy(
        fixture("ch10_pause_no_wait"),
        lc.join("no-wait/ch10_lifecycle"),
    )
    .unwrap();
    // The learner's clone, as far as verify needs it: a workshop root (the CLI makes the
    // working copy of the exercises in it, from the shipped ones it carries).
    std::fs::create_dir_all(lc.join("ws/solutions")).unwrap();
    std::fs::write(lc.join("ws/solutions/Cargo.toml"), "").unwrap();
    let init = root.join("init");
    std::fs::write(&init, init_script()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.join("initramfs.cpio.gz");
    rootfs_builder::write_initramfs(&root, &out).unwrap();
    out
}

/// The kernel modules chapter 7 needs, with what they depend on, copied from the booted
/// kernel's /lib/modules; /opt/lc/modules lists them in the order insmod must take them.
fn modules(root: &Path) {
    let kernel = kernel().unwrap();
    let version = kernel
        .file_name()
        .unwrap()
        .to_string_lossy()
        .trim_start_matches("vmlinuz-")
        .to_string();
    let base = Path::new("/lib/modules").join(&version);
    let dep = std::fs::read_to_string(base.join("modules.dep"))
        .unwrap_or_else(|e| panic!("{}: {e}", base.join("modules.dep").display()));
    let deps = |m: &str| -> Vec<String> {
        dep.lines()
            .find_map(|l| {
                let (path, rest) = l.split_once(':')?;
                path.ends_with(&format!("/{m}.ko"))
                    .then(|| std::iter::once(path).chain(rest.split_whitespace()))
                    .map(|it| it.map(str::to_string).collect())
            })
            .unwrap_or_else(|| panic!("{m} is not in {}", base.display()))
    };
    let mut order: Vec<String> = Vec::new();
    // crc32c_generic first: libcrc32c (under nf_tables) asks for it by a soft
    // dependency, which modules.dep does not list.
    for m in [
        "crc32c_generic",
        "veth",
        "bridge",
        "nft_chain_nat",
        "nft_masq",
        "nft_nat",
    ] {
        let mut chain = deps(m);
        // modules.dep lists a module, then what it needs, the deepest last.
        chain.reverse();
        for path in chain {
            if !order.contains(&path) {
                order.push(path);
            }
        }
    }
    let mut list = String::new();
    for rel in &order {
        let to = root.join("lib/modules").join(&version).join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(base.join(rel), &to).unwrap();
        list.push_str(&format!("/lib/modules/{version}/{rel}\n"));
    }
    std::fs::write(root.join("opt/lc/modules"), list).unwrap();
}

/// Boots the guest and returns everything it printed on the serial console.
fn boot(qemu: &Path, kernel: &Path, initrd: &Path) -> String {
    let started = Instant::now();
    let child = Command::new(qemu)
        .args([
            "-m",
            "1024",
            "-smp",
            "2",
            "-accel",
            "tcg,thread=multi",
            "-cpu",
            "max",
        ])
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", "console=ttyS0 panic=-1 quiet"])
        .args([
            "-display",
            "none",
            "-serial",
            "stdio",
            "-monitor",
            "none",
            "-no-reboot",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // qemu is stopped by this test itself if the guest overruns the bound.
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        while started.elapsed() < BOUND {
            std::thread::sleep(Duration::from_millis(200));
            if !common::alive(pid as i32) {
                return false;
            }
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        true
    });
    let out = child.wait_with_output().unwrap();
    let overran = watchdog.join().unwrap();
    // The serial console ends lines with \r\n.
    let console = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    assert!(
        !overran,
        "the VM ran past {BOUND:?}; it printed:\n{console}"
    );
    console
}

/// The output of one command, and its exit code.
fn section<'a>(console: &'a str, name: &str) -> (&'a str, Option<i32>) {
    let begin = format!("LC-BEGIN {name}\n");
    let Some(start) = console.find(&begin) else {
        return ("", None);
    };
    let rest = &console[start + begin.len()..];
    let end = format!("LC-EXIT {name} ");
    let Some(stop) = rest.find(&end) else {
        return (rest, None);
    };
    let code = rest[stop + end.len()..]
        .lines()
        .next()
        .and_then(|c| c.trim().parse().ok());
    (&rest[..stop], code)
}

/// Lesson 4's run `name` measured a share within 0.05 of the 0.5 CPU quota; returns
/// what it printed.
fn assert_half_a_cpu<'a>(console: &'a str, name: &str) -> &'a str {
    let (lesson, _) = section(console, name);
    let share = lesson
        .lines()
        .find_map(|l| l.split("measured share under a 0.5 CPU quota:").nth(1))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("{name} reported no measured share:\n{lesson}"));
    assert!(
        (share - 0.5).abs() <= 0.05,
        "{name}: share {share} under a 0.5 quota on v2:\n{lesson}"
    );
    lesson
}

#[test]
fn cgroup_chapters_on_a_pure_v2_kernel() {
    // Building the initramfs and booting under TCG need no root.
    let (qemu, kernel) = match prerequisites() {
        Ok(p) => p,
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("tier 3 cannot run, and CI=true: {why}")
        }
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let dir = tempfile::Builder::new()
        .prefix("learn-containers-test-vm-")
        .tempdir()
        .unwrap();
    let initrd = initramfs(dir.path());
    let console = boot(&qemu, &kernel, &initrd);
    assert!(
        console.contains("LC-DONE"),
        "the guest did not finish:\n{console}"
    );
    let mut wrong = Vec::new();
    for (name, args, expected) in RUNS.iter().chain(ROOTLESS_RUNS) {
        let (out, code) = section(&console, name);
        if code != Some(*expected) {
            wrong.push(format!(
                "`learn-containers {args}` exited {code:?}, expected {expected}:\n{out}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));

    let (doctor, _) = section(&console, "doctor");
    assert!(
        doctor.contains("cgroups: cgroup v2"),
        "doctor must report pure v2:\n{doctor}"
    );
    assert!(
        doctor.contains("cpu controller: /sys/fs/cgroup (cpu.max)"),
        "{doctor}"
    );
    assert_half_a_cpu(&console, "lesson4");
    let (run, _) = section(&console, "run-cpus");
    assert!(
        run.contains("pid-1\nbox\n"),
        "run on v2: PID 1 and the hostname:\n{run}"
    );
    let (run8, _) = section(&console, "run-namespaces");
    assert!(
        run8.contains("0::/\n") && run8.contains("boottime") && run8.contains("86400"),
        "run's cgroup and time namespaces on v2:\n{run8}"
    );
    // Chapter 7: the server behind the masquerade saw the stand-in host's address.
    let (lesson7, _) = section(&console, "lesson7");
    assert!(lesson7.contains("masquerade"), "lesson 7 on v2:\n{lesson7}");
    let (untouched, _) = section(&console, "verify7-untouched");
    assert!(untouched.contains("todo!()"), "{untouched}");
    let (paused, _) = section(&console, "ps-paused");
    assert!(paused.contains("paused"), "ps on v2:\n{paused}");
    let (stopped, _) = section(&console, "stop-detached");
    assert!(
        stopped.contains("exit status 7"),
        "stop on v2 reaches the handler:\n{stopped}"
    );
    // Chapter 8 on v2: the one line `0::/` inside; the namespace made first shows the way
    // from where the program started.
    let (v8, _) = section(&console, "verify8-solution");
    assert!(
        v8.contains("0::/"),
        "chapter 8 on v2 judges the `0::` line:\n{v8}"
    );
    let (early, _) = section(&console, "verify8-ns-before-join");
    assert!(
        early.contains("join CG/ch08-PID first") || early.contains("nsdelegate"),
        "chapter 8's cgroup namespace before the join, on v2:\n{early}"
    );
    // Rootless: chapter 4 in the delegated cgroup, the same cap, and the subtree left
    // as it was found; chapter 5 (namespaces too) says it needs root.
    let (doctor, _) = section(&console, "rootless-doctor");
    assert!(
        doctor.contains(&format!("cpu controller: {DELEGATED} (cpu.max)"))
            && doctor.contains("in the cgroup delegated to you"),
        "doctor as a user with a delegated cgroup:\n{doctor}"
    );
    let lesson = assert_half_a_cpu(&console, "rootless-lesson4");
    assert!(lesson.contains(DELEGATED), "{lesson}");
    let (shared, _) = section(&console, "rootless-shared");
    assert!(
        shared.contains("give the run a scope of its own")
            && shared.contains("systemd-run --user --scope -p Delegate=yes"),
        "{shared}"
    );
    let (lesson5, _) = section(&console, "rootless-lesson5");
    assert!(lesson5.contains("needs root"), "{lesson5}");
    // Chapter 6: as root, the program ran as a uid the verifier picked; as uid 1000, as
    // uid 1000; and `run` works without root.
    let (v6, _) = section(&console, "verify6-solution");
    assert!(
        v6.contains("picked for owning nothing") || v6.contains("1879048192"),
        "{v6}"
    );
    let (v6, _) = section(&console, "rootless-verify6-solution");
    assert!(v6.contains("`0 1000 1`"), "{v6}");
    let (untouched, _) = section(&console, "verify6-untouched");
    assert!(untouched.contains("todo!()"), "{untouched}");
    let (refused, code) = section(&console, "no-userns-lesson6");
    assert!(
        code == Some(2) && refused.contains("this host refuses them"),
        "lesson 6 without user namespaces: {code:?}\n{refused}"
    );
    let (run, _) = section(&console, "rootless-run");
    assert!(run.contains("0\n1\nbox"), "run as uid 1000 on v2:\n{run}");
    for (name, _, _) in ROOTLESS_RUNS {
        let left = console
            .lines()
            .find_map(|l| l.strip_prefix(&format!("LC-LEFT {name}:")))
            .unwrap_or_else(|| panic!("no LC-LEFT line for {name}:\n{console}"));
        assert_eq!(
            left.trim(),
            "",
            "{name} left cgroups in the delegated subtree"
        );
    }

    for name in ["verify3-not-recursive", "verify5-not-recursive"] {
        let (out, _) = section(&console, name);
        assert!(
            out.contains("MS_REC | MS_PRIVATE")
                || out.contains("add MS_REC")
                || out.contains("Add MS_REC"),
            "{name}: a non-recursive MS_PRIVATE must be named:\n{out}"
        );
    }
    let (out, _) = section(&console, "verify5-not-recursive");
    assert!(out.contains("vanished"), "{out}");

    let (v1, _) = section(&console, "verify4-v1-names");
    assert!(
        v1.contains("v1 file names on a v2 host"),
        "the v1-only solution must be named as such:\n{v1}"
    );
}
