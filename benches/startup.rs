//! The start-up benchmark (chapter 5): how long `learn-containers run` takes to start and
//! end a container, side by side with util-linux `unshare … chroot` and `runc run` on the
//! same rootfs; `verify N --solution` per chapter without and with its build; and
//! rootfs-builder for bash + busybox. A benchmark, not a test: nothing here fails on a
//! slow machine. As root, from the repository:
//!
//! ```text
//! cargo bench --bench startup                  # about 3 minutes
//! cargo bench --bench startup -- --rounds 100 --verify-rounds 5
//! cargo bench --bench startup -- --no-verify   # start-up only, under a minute
//! ```
//!
//! cargo bench builds learn-containers with the release profile; this harness also builds
//! the release solutions (for `verify --bin-dir`) and rootfs-builder. Each round runs
//! every command once, in a rotating order, so that load from elsewhere on the machine
//! hits all of them alike; the report gives medians with the 10th and 90th percentiles,
//! and the ratios of medians. It prints Markdown (docs/performance.md is a copy of one
//! run, with the reading of it) and writes the raw samples to
//! `<target>/bench-startup.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::os::unix::process::CommandExt;

use lessons::kernel::cgroup::{CgroupFs, CpuLimit};
use lessons::kernel::container::{self, ContainerSpec};
use lessons::kernel::scratch::Scratch;

const BRIDGE_RUN: &str = "learn-containers run --net bridge -p 18099:80";
const BRIDGE_SCRIPT: &str = "the same with ip, nft and unshare in a bash script";

/// What `run --net bridge -p` does, as a script of the commands a person would type: a
/// bridge, a table with masquerade and the port's DNAT, ip_forward on; a network namespace
/// made by unshare, where the veth is made with its other end sent back out to the
/// script's namespace and plugged in there (nsenter), lo and eth0 set up, the route added,
/// then unshare … chroot; then all of it undone (by a trap, failed or not). No `ip netns`: it would leave a shared
/// mount of /run/netns on the host.
fn bridge_script(rootfs: &str) -> String {
    let table = "learn-containers-bench";
    format!(
        "was=$(cat /proc/sys/net/ipv4/ip_forward)\n\
         trap 'nft delete table ip {table} 2>/dev/null; ip link del lc-bench0 2>/dev/null; echo $was > /proc/sys/net/ipv4/ip_forward' EXIT\n\
         ip link add lc-bench0 type bridge\n\
         ip addr add 10.214.0.1/24 dev lc-bench0\n\
         ip link set lc-bench0 up\n\
         nft -f - <<< 'table ip {table} {{ chain postrouting {{ type nat hook postrouting priority srcnat; ip saddr 10.214.0.0/24 oifname != \"lc-bench0\" masquerade; }}; chain prerouting {{ type nat hook prerouting priority dstnat; fib daddr type local tcp dport 18098 dnat to 10.214.0.2:80; }}; chain output {{ type nat hook output priority -100; fib daddr type local tcp dport 18098 dnat to 10.214.0.2:80; }}; }}'\n\
         echo 1 > /proc/sys/net/ipv4/ip_forward\n\
         unshare --net bash -ec '\n\
           ip link add eth0 type veth peer name lc-bench1 netns $PPID\n\
           nsenter --net=/proc/$PPID/ns/net ip link set lc-bench1 master lc-bench0 up\n\
           ip link set lo up\n\
           ip addr add 10.214.0.2/24 dev eth0\n\
           ip link set eth0 up\n\
           ip route add default via 10.214.0.1\n\
           exec unshare --pid --mount --uts --fork chroot {rootfs} /bin/true'\n"
    )
}

/// util-linux's start with a network namespace, the baseline of `run --net none`.
const NET_UNSHARE: &str = "unshare --net --pid --mount --uts --fork chroot";

/// The unprivileged user the rootless rows run as.
const NOBODY: u32 = 65534;
const ROOTLESS_RUN: &str = "learn-containers run, as nobody (rootless)";
const ROOTLESS_UNSHARE: &str =
    "unshare --user --map-root-user --pid --mount --uts --ipc --cgroup --fork chroot, as nobody";

struct Args {
    rounds: usize,
    verify_rounds: usize,
    verify: bool,
}

fn args() -> Args {
    let mut a = Args {
        rounds: 40,
        verify_rounds: 3,
        verify: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--rounds" => a.rounds = it.next().and_then(|n| n.parse().ok()).unwrap_or(a.rounds),
            "--verify-rounds" => {
                a.verify_rounds = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(a.verify_rounds)
            }
            "--no-verify" => a.verify = false,
            // cargo bench passes --bench to every harness.
            _ => {}
        }
    }
    a
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Milliseconds, for samples and reports.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[derive(Debug, Clone, Copy)]
struct Stats {
    median: f64,
    p10: f64,
    p90: f64,
}

fn stats(samples: &[f64]) -> Stats {
    let mut s = samples.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |q: f64| {
        if s.is_empty() {
            return f64::NAN;
        }
        let i = ((s.len() - 1) as f64 * q).round() as usize;
        s[i]
    };
    Stats {
        median: at(0.5),
        p10: at(0.1),
        p90: at(0.9),
    }
}

/// Runs a command to the end with no output, and returns its wall time and whether it
/// succeeded.
fn time(cmd: &mut Command) -> (Duration, bool) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let t = Instant::now();
    let ok = cmd.status().map(|s| s.success()).unwrap_or(false);
    (t.elapsed(), ok)
}

fn sh(cmd: &str) -> String {
    Command::new("sh")
        .args(["-c", cmd])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// One contender of the start-up comparison: a command, or a command with cgroup work
/// around it done by this harness (still inside the timing).
struct Contender {
    name: &'static str,
    make: Box<dyn Fn(usize) -> Command>,
    /// The file of a new cpu cgroup the command joins before exec: the baseline for
    /// `--cpus` (cgroup made, limited, joined and removed around util-linux).
    cgroup_join: Option<&'static str>,
}

fn time_contender(
    c: &Contender,
    round: usize,
    fs: &CgroupFs,
    limit: &CpuLimit,
) -> (Duration, bool) {
    let Some(join) = c.cgroup_join else {
        return time(&mut (c.make)(round));
    };
    let t = Instant::now();
    let cg = fs.create_owned("cpu", "bench-baseline").expect("cgroup");
    cg.set(limit).expect("cpu limit");
    let file = std::ffi::CString::new(cg.file(join).as_os_str().as_encoded_bytes()).unwrap();
    let mut cmd = (c.make)(round);
    // SAFETY: between fork and exec; join() only opens, writes "0" and closes.
    unsafe {
        cmd.pre_exec(move || lessons::verify::limits::join(&file));
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let ok = cmd.status().map(|s| s.success()).unwrap_or(false);
    let removed = cg.remove().is_ok();
    (t.elapsed(), ok && removed)
}

fn main() {
    let a = args();
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "the start-up benchmark makes namespaces and cgroups: run it as root (sudo -E cargo bench --bench startup)"
        );
        std::process::exit(1);
    }
    let lc = PathBuf::from(env!("CARGO_BIN_EXE_learn-containers"));
    let target = target_dir();
    eprintln!("building the release solutions and rootfs-builder …");
    let t = Instant::now();
    let built = Command::new(cargo())
        .current_dir(workspace())
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "solutions",
            "-p",
            "rootfs-builder",
        ])
        .status()
        .expect("cargo");
    assert!(built.success(), "cargo build --release failed");
    eprintln!("  done in {:.1} s", t.elapsed().as_secs_f64());
    let release = target.join("release");
    let rootfs_builder = release.join("rootfs-builder");

    let scratch = Scratch::new().expect("scratch dir");
    let rootfs = scratch.subdir("rootfs").unwrap();
    let plan = rootfs_builder::plan(&rootfs_builder::Options {
        bins: vec!["bash".into(), "true".into()],
        busybox: true,
        skeleton: true,
    })
    .expect("bash, true and busybox on the host (apt install busybox-static)");
    rootfs_builder::build(&rootfs, &plan, &mut |_| {}).unwrap();
    let r = rootfs.canonicalize().unwrap();
    let rs = r.display().to_string();

    let mut report = String::new();
    let mut raw: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    machine(&mut report, &a);

    // --- start-up ---------------------------------------------------------------------
    let runc = Some(sh("command -v runc"))
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    let state = scratch.subdir("runc-state").unwrap();
    let pid = std::process::id();
    let spec = |cpus: Option<f64>| ContainerSpec {
        rootfs: r.clone(),
        hostname: container::DEFAULT_HOSTNAME.into(),
        cpus: cpus.map(|c| CpuLimit::from_cpus(c).unwrap()),
        memory: None,
        pids: None,
        argv: vec!["/bin/true".into()],
        root: lessons::kernel::container::Root::Ephemeral,
        uptime_offset: None,
        net: lessons::kernel::container::Net::Host,
        freezable: false,
        ports: Vec::new(),
    };
    let bundle = scratch.subdir("bundle").unwrap();
    let bundle_cpus = scratch.subdir("bundle-cpus").unwrap();
    container::write_oci_bundle(
        &bundle,
        &spec(None),
        &format!("/learn-containers/bench-{pid}"),
    )
    .unwrap();
    container::write_oci_bundle(
        &bundle_cpus,
        &spec(Some(0.5)),
        &format!("/learn-containers/bench-cpus-{pid}"),
    )
    .unwrap();
    let mut contenders: Vec<Contender> = Vec::new();
    {
        let (lc, rs) = (lc.clone(), rs.clone());
        contenders.push(Contender {
            name: "learn-containers run",
            make: Box::new(move |_| {
                let mut c = Command::new(&lc);
                c.args(["run", "--rootfs", &rs, "--", "/bin/true"]);
                c
            }),
            cgroup_join: None,
        });
    }
    {
        // The root as before the overlay: the rootfs bind-mounted and written into; the
        // difference from the row above is what the overlay costs.
        let (lc, rs) = (lc.clone(), rs.clone());
        contenders.push(Contender {
            name: "learn-containers run --rw",
            make: Box::new(move |_| {
                let mut c = Command::new(&lc);
                c.args(["run", "--rw", "--rootfs", &rs, "--", "/bin/true"]);
                c
            }),
            cgroup_join: None,
        });
    }
    {
        let rs = rs.clone();
        contenders.push(Contender {
            name: "unshare --pid --mount --uts --ipc --cgroup --fork chroot",
            make: Box::new(move |_| {
                let mut c = Command::new("unshare");
                c.args([
                    "--pid",
                    "--mount",
                    "--uts",
                    "--ipc",
                    "--cgroup",
                    "--fork",
                    "chroot",
                    &rs,
                    "/bin/true",
                ]);
                c
            }),
            cgroup_join: None,
        });
    }
    // Chapter 7's --net bridge with a published port, against the same made by a script
    // of ip and nft commands around util-linux's unshare (and undone the same way).
    {
        let (lc, rs) = (lc.clone(), rs.clone());
        contenders.push(Contender {
            name: BRIDGE_RUN,
            make: Box::new(move |_| {
                let mut c = Command::new(&lc);
                c.args([
                    "run",
                    "--net",
                    "bridge",
                    "-p",
                    "18099:80",
                    "--rootfs",
                    &rs,
                    "--",
                    "/bin/true",
                ]);
                c
            }),
            cgroup_join: None,
        });
    }
    {
        let rs = rs.clone();
        contenders.push(Contender {
            name: BRIDGE_SCRIPT,
            make: Box::new(move |_| {
                let mut c = Command::new("bash");
                c.args(["-ec", &bridge_script(&rs)]);
                c
            }),
            cgroup_join: None,
        });
    }
    // Chapter 7: a network namespace of its own with lo up, against util-linux's
    // unshare with --net added (whose lo stays down: the container does one netlink
    // request more).
    {
        let (lc, rs) = (lc.clone(), rs.clone());
        contenders.push(Contender {
            name: "learn-containers run --net none",
            make: Box::new(move |_| {
                let mut c = Command::new(&lc);
                c.args(["run", "--net", "none", "--rootfs", &rs, "--", "/bin/true"]);
                c
            }),
            cgroup_join: None,
        });
    }
    {
        let rs = rs.clone();
        contenders.push(Contender {
            name: NET_UNSHARE,
            make: Box::new(move |_| {
                let mut c = Command::new("unshare");
                c.args([
                    "--net",
                    "--pid",
                    "--mount",
                    "--uts",
                    "--fork",
                    "chroot",
                    &rs,
                    "/bin/true",
                ]);
                c
            }),
            cgroup_join: None,
        });
    }
    // Rootless: the same start as an unprivileged user, against util-linux's rootless
    // equivalent. The rootfs must be reachable by that user.
    for dir in [scratch.path(), r.as_path()] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    {
        let (lc, rs) = (lc.clone(), rs.clone());
        contenders.push(Contender {
            name: ROOTLESS_RUN,
            make: Box::new(move |_| {
                let mut c = Command::new(&lc);
                c.args(["run", "--rootfs", &rs, "--", "/bin/true"])
                    .current_dir("/")
                    .uid(NOBODY)
                    .gid(NOBODY);
                c
            }),
            cgroup_join: None,
        });
    }
    {
        let rs = rs.clone();
        contenders.push(Contender {
            name: ROOTLESS_UNSHARE,
            make: Box::new(move |_| {
                let mut c = Command::new("unshare");
                c.args([
                    "--user",
                    "--map-root-user",
                    "--pid",
                    "--mount",
                    "--uts",
                    "--ipc",
                    "--cgroup",
                    "--fork",
                    "chroot",
                    &rs,
                    "/bin/true",
                ])
                .current_dir("/")
                .uid(NOBODY)
                .gid(NOBODY);
                c
            }),
            cgroup_join: None,
        });
    }
    let cpu_version = CgroupFs::detect()
        .ok()
        .and_then(|fs| fs.controller("cpu"))
        .map(|c| c.version);
    let mut baselines: Vec<(&'static str, &'static str)> = vec![(
        "unshare … chroot, in a new cpu cgroup joined through cgroup.procs",
        "cgroup.procs",
    )];
    if cpu_version == Some(lessons::kernel::cgroup::Version::V1) {
        baselines.push((
            "unshare … chroot, in a new cpu cgroup joined through tasks",
            "tasks",
        ));
    }
    for (name, join) in baselines {
        let rs = rs.clone();
        contenders.push(Contender {
            name,
            make: Box::new(move |_| {
                let mut c = Command::new("unshare");
                c.args([
                    "--pid",
                    "--mount",
                    "--uts",
                    "--ipc",
                    "--cgroup",
                    "--fork",
                    "chroot",
                    &rs,
                    "/bin/true",
                ]);
                c
            }),
            cgroup_join: Some(join),
        });
    }
    {
        let (lc, rs) = (lc.clone(), rs.clone());
        contenders.push(Contender {
            name: "learn-containers run --cpus 0.5",
            make: Box::new(move |_| {
                let mut c = Command::new(&lc);
                c.args(["run", "--cpus", "0.5", "--rootfs", &rs, "--", "/bin/true"]);
                c
            }),
            cgroup_join: None,
        });
    }
    if let Some(runc) = &runc {
        for (name, b) in [
            ("runc run", bundle.clone()),
            ("runc run, cpu quota 0.5", bundle_cpus.clone()),
        ] {
            let (runc, state) = (runc.clone(), state.clone());
            contenders.push(Contender {
                name,
                make: Box::new(move |i| {
                    let mut c = Command::new(&runc);
                    c.arg("--root")
                        .arg(&state)
                        .args(["run", "--bundle"])
                        .arg(&b)
                        .arg(format!(
                            "bench-{pid}-{}-{i}",
                            b.file_name().unwrap().to_string_lossy()
                        ));
                    c
                }),
                cgroup_join: None,
            });
        }
    }
    {
        let lc = lc.clone();
        contenders.push(Contender {
            name: "learn-containers --version (process start only)",
            make: Box::new(move |_| {
                let mut c = Command::new(&lc);
                c.arg("--version");
                c
            }),
            cgroup_join: None,
        });
    }
    eprintln!(
        "start-up: {} rounds of {} commands …",
        a.rounds,
        contenders.len()
    );
    let fs = CgroupFs::detect().expect("cgroups");
    let limit = CpuLimit::from_cpus(0.5).unwrap();
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    let mut failures: Vec<usize> = vec![0; contenders.len()];
    let warmup = 3;
    for round in 0..(a.rounds + warmup) {
        for k in 0..contenders.len() {
            let i = (k + round) % contenders.len();
            let (d, ok) = time_contender(&contenders[i], round, &fs, &limit);
            if !ok {
                failures[i] += 1;
            }
            if round >= warmup {
                samples[i].push(ms(d));
            }
        }
    }
    container::remove_empty_cgroup_parents();
    // The baseline, found by name: rows are added over time.
    let base = contenders
        .iter()
        .position(|c| c.name == "unshare --pid --mount --uts --ipc --cgroup --fork chroot")
        .map(|i| stats(&samples[i]).median)
        .expect("the unshare+chroot row");
    report.push_str("## Container start-up: `CMD` = `/bin/true`\n\n");
    report.push_str(
        "Wall time from spawning the command to its exit: process start, namespaces, mounts, \
         exec of /bin/true, teardown (and the cgroup created and removed, with a quota). The two \
         `unshare … chroot, in a new cpu cgroup` rows are the baseline for `--cpus`: this harness \
         creates the cgroup, writes the quota, util-linux joins it before exec (writing 0 to the \
         file named) and the harness removes it, all inside the timing.\n\n",
    );
    report.push_str("| command | median ms | p10 | p90 | × unshare+chroot | failed runs |\n|---|---:|---:|---:|---:|---:|\n");
    for (i, c) in contenders.iter().enumerate() {
        let s = stats(&samples[i]);
        report.push_str(&format!(
            "| `{}` | {:.2} | {:.2} | {:.2} | {:.2} | {} |\n",
            c.name,
            s.median,
            s.p10,
            s.p90,
            s.median / base,
            failures[i]
        ));
        raw.insert(format!("startup: {}", c.name), samples[i].clone());
    }
    if runc.is_none() {
        report.push_str("\nrunc is not installed (`apt install runc`): its rows are missing.\n");
    }
    let med = |name: &str| {
        contenders
            .iter()
            .position(|c| c.name == name)
            .map(|i| stats(&samples[i]).median)
    };
    report.push_str("\nGoals:\n\n");
    let run = med("learn-containers run").unwrap();
    let run_cpus = med("learn-containers run --cpus 0.5").unwrap();
    let run_rw = med("learn-containers run --rw").unwrap();
    report.push_str(&format!(
        "- the overlay root costs {:.2} ms of `run`'s start-up (`run` against `run --rw`)\n",
        run - run_rw
    ));
    goal(
        &mut report,
        "`run` ≤ 1.2 × unshare+chroot",
        run / base,
        |x| x <= 1.2,
        "×",
    );
    goal(
        &mut report,
        "`run --cpus` ≤ 1.5 × unshare+chroot",
        run_cpus / base,
        |x| x <= 1.5,
        "×",
    );
    match (med("learn-containers run --net none"), med(NET_UNSHARE)) {
        (Some(mine), Some(theirs)) => goal(
            &mut report,
            "`run --net none` ≤ 1.2 × `unshare --net --pid --mount --uts --fork chroot`",
            mine / theirs,
            |x| x <= 1.2,
            "×",
        ),
        _ => report.push_str(
            "- `run --net none`: not measured
",
        ),
    }
    match (med(BRIDGE_RUN), med(BRIDGE_SCRIPT)) {
        (Some(mine), Some(theirs)) => goal(
            &mut report,
            "`run --net bridge -p` ≤ 0.5 × the same as a script of `ip`/`nft` commands",
            mine / theirs,
            |x| x <= 0.5,
            "×",
        ),
        _ => report.push_str("- `run --net bridge`: not measured\n"),
    }
    match (med(ROOTLESS_RUN), med(ROOTLESS_UNSHARE)) {
        (Some(mine), Some(theirs)) => goal(
            &mut report,
            "rootless `run` ≤ 1.2 × rootless `unshare --user --map-root-user … chroot`",
            mine / theirs,
            |x| x <= 1.2,
            "×",
        ),
        _ => report.push_str("- rootless `run`: not measured\n"),
    }
    match med("runc run") {
        Some(runc_ms) => goal(
            &mut report,
            "`run` ≥ 5 × faster than runc",
            runc_ms / run,
            |x| x >= 5.0,
            "× faster",
        ),
        None => report.push_str("- `run` ≥ 5 × faster than runc: not measured (no runc)\n"),
    }

    // --- where the time goes ------------------------------------------------------------
    for (title, extra) in [("without a quota", None), ("with --cpus 0.5", Some("0.5"))] {
        phases(&mut report, &lc, &rs, extra, a.rounds.min(30), title);
    }

    // --- rootfs-builder -----------------------------------------------------------------
    eprintln!("rootfs-builder: {} rounds …", a.rounds.min(20));
    let mut lib = Vec::new();
    let mut bin = Vec::new();
    let opts = container::default_options();
    for i in 0..a.rounds.min(20) {
        let dir = scratch.path().join(format!("rb-lib-{i}"));
        let t = Instant::now();
        let plan = rootfs_builder::plan(&opts).unwrap();
        rootfs_builder::build(&dir, &plan, &mut |_| {}).unwrap();
        lib.push(ms(t.elapsed()));
        let dir = scratch.path().join(format!("rb-bin-{i}"));
        let (d, ok) = time(Command::new(&rootfs_builder).arg(&dir).args([
            "--bin",
            "bash",
            "--busybox",
            "--quiet",
        ]));
        assert!(ok, "rootfs-builder failed");
        bin.push(ms(d));
    }
    let (l, b) = (stats(&lib), stats(&bin));
    report.push_str("\n## rootfs-builder: bash + busybox, into a new directory\n\n");
    report.push_str("| how | median ms | p10 | p90 |\n|---|---:|---:|---:|\n");
    report.push_str(&format!(
        "| library (`plan` + `build`, in process) | {:.1} | {:.1} | {:.1} |\n",
        l.median, l.p10, l.p90
    ));
    report.push_str(&format!(
        "| `rootfs-builder DIR --bin bash --busybox --quiet` | {:.1} | {:.1} | {:.1} |\n\n",
        b.median, b.p10, b.p90
    ));
    goal(
        &mut report,
        "rootfs-builder ≤ 50 ms",
        b.median,
        |x| x <= 50.0,
        "ms",
    );
    raw.insert("rootfs-builder library".into(), lib);
    raw.insert("rootfs-builder binary".into(), bin);

    // --- verify -------------------------------------------------------------------------
    if a.verify {
        verify(&mut report, &mut raw, &lc, &release, a.verify_rounds);
    }
    report.push_str(&format!(
        "\nLoad average at the end: {}\n",
        sh("cut -d' ' -f1-3 /proc/loadavg")
    ));
    drop(scratch);
    container::remove_empty_cgroup_parents();
    let json = target.join("bench-startup.json");
    let _ = std::fs::write(&json, serde_json::to_string_pretty(&raw).unwrap());
    println!("{report}");
    eprintln!("raw samples: {}", json.display());
}

fn goal(report: &mut String, what: &str, value: f64, ok: impl Fn(f64) -> bool, unit: &str) {
    report.push_str(&format!(
        "- {what}: {value:.2} {unit} {}\n",
        if ok(value) { "✔ met" } else { "✘ missed" }
    ));
}

fn machine(report: &mut String, a: &Args) {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mode = lessons::kernel::cgroup::CgroupFs::detect()
        .map(|fs| fs.detection().mode.to_string())
        .unwrap_or_else(|e| format!("none ({e})"));
    report.push_str("# learn-containers start-up benchmark\n\n");
    report.push_str(&format!(
        "- date: {}\n- machine: {} CPUs ({}), {} memory\n- kernel: {}\n- distribution: {}\n- cgroups: {mode}\n- tools: {}; {}; {}\n- rounds: {} per start-up command (after 3 warm-up rounds), {} per verify\n- load average at the start: {}\n\n",
        sh("date -u '+%Y-%m-%d %H:%M UTC'"),
        cpus,
        sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs"),
        sh("free -h | awk '/Mem:/ {print $2}'"),
        sh("uname -r"),
        sh(". /etc/os-release; echo $PRETTY_NAME"),
        sh("unshare --version"),
        sh("runc --version 2>/dev/null | head -1 || echo 'runc: not installed'"),
        sh("rustc --version"),
        a.rounds,
        a.verify_rounds,
        sh("cut -d' ' -f1-3 /proc/loadavg"),
    ));
}

/// Runs `run` with LEARN_CONTAINERS_TRACE=1 and reports the median offset and duration of
/// each phase.
fn phases(
    report: &mut String,
    lc: &Path,
    rs: &str,
    cpus: Option<&str>,
    rounds: usize,
    title: &str,
) {
    eprintln!("phases {title}: {rounds} rounds …");
    // (who, label) -> (offsets, deltas), in first-seen order.
    let mut order: Vec<(String, String)> = Vec::new();
    let mut seen: BTreeMap<(String, String), (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    let mut totals = Vec::new();
    for _ in 0..rounds {
        let mut c = Command::new(lc);
        c.arg("run");
        if let Some(cpus) = cpus {
            c.args(["--cpus", cpus]);
        }
        c.args(["--rootfs", rs, "--", "/bin/true"])
            .env("LEARN_CONTAINERS_TRACE", "1")
            .stdin(Stdio::null());
        let t = Instant::now();
        let out = c.output().expect("run");
        totals.push(ms(t.elapsed()));
        for line in String::from_utf8_lossy(&out.stderr).lines() {
            let Some(rest) = line.strip_prefix("[trace]") else {
                continue;
            };
            let f: Vec<&str> = rest.split_whitespace().collect();
            // who, offset, "ms", delta, "ms", label...
            if f.len() < 6 {
                continue;
            }
            let (Ok(off), Ok(delta)) = (f[1].parse::<f64>(), f[3].parse::<f64>()) else {
                continue;
            };
            let key = (f[0].to_owned(), f[5..].join(" "));
            if !seen.contains_key(&key) {
                order.push(key.clone());
            }
            let e = seen.entry(key).or_default();
            e.0.push(off);
            e.1.push(delta);
        }
    }
    let mut rows: Vec<(f64, String)> = order
        .iter()
        .map(|k| {
            let (off, delta) = &seen[k];
            let (o, d) = (stats(off), stats(delta));
            (
                o.median,
                format!(
                    "| {:.3} | {:.3} | {} | {} |\n",
                    o.median, d.median, k.0, k.1
                ),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    let t = stats(&totals);
    report.push_str(&format!(
        "\n## Where `run`'s start-up goes, {title} (LEARN_CONTAINERS_TRACE=1, medians of {rounds} runs)\n\n\
         Offsets are from the moment the `run` command starts (after the binary is loaded and \
         the arguments parsed); each process notes its phases and how long since its own \
         previous one. Whole command, measured from outside: {:.2} ms median (tracing adds \
         writes to stderr).\n\n| at ms | took ms | process | phase |\n|---:|---:|---|---|\n",
        t.median
    ));
    for (_, row) in rows {
        report.push_str(&row);
    }
}

fn verify(
    report: &mut String,
    raw: &mut BTreeMap<String, Vec<f64>>,
    lc: &Path,
    release: &Path,
    rounds: usize,
) {
    report.push_str(&format!(
        "\n## `verify N --solution`, per chapter ({rounds} rounds)\n\n\
         Without the build: the release solution from `--bin-dir`. With it: as a learner runs \
         it, `cargo build -p solutions --bin …` first (already built, so cargo only checks \
         that nothing changed). The build column is that cargo command alone.\n\n\
         | chapter | verify, no build (median s) | p10 | p90 | build step alone (median s) | verify with build (median s) |\n\
         |---|---:|---:|---:|---:|---:|\n"
    ));
    let state = tempfile::Builder::new()
        .prefix("learn-containers-test-bench-state-")
        .tempdir()
        .unwrap();
    for c in lessons::chapters() {
        eprintln!("verify {}: {rounds} rounds …", c.number);
        let n = c.number.to_string();
        let mut no_build = Vec::new();
        let mut with_build = Vec::new();
        let mut build = Vec::new();
        for _ in 0..rounds {
            let (d, ok) = time(
                Command::new(lc)
                    .args(["verify", &n, "--solution", "--bin-dir"])
                    .arg(release)
                    .env("LEARN_CONTAINERS_STATE", state.path()),
            );
            no_build.push(d.as_secs_f64());
            if !ok {
                eprintln!("  verify {n} --solution --bin-dir did not pass");
            }
            for e in c.exercises {
                let (d, _) = time(
                    Command::new(cargo())
                        .current_dir(workspace())
                        .args(["build", "--quiet", "-p", "solutions", "--bin"])
                        .arg(format!("{}_solution", e.id)),
                );
                build.push(d.as_secs_f64());
            }
            let (d, _) = time(
                Command::new(lc)
                    .args(["verify", &n, "--solution"])
                    .env("LEARN_CONTAINERS_STATE", state.path())
                    .env_remove("LEARN_CONTAINERS_BIN_DIR"),
            );
            with_build.push(d.as_secs_f64());
        }
        let (s, b, w) = (stats(&no_build), stats(&build), stats(&with_build));
        report.push_str(&format!(
            "| {} {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
            c.number, c.slug, s.median, s.p10, s.p90, b.median, w.median
        ));
        raw.insert(format!("verify {n} no build (s)"), no_build);
        raw.insert(format!("verify {n} build step (s)"), build);
        raw.insert(format!("verify {n} with build (s)"), with_build);
    }
}
