//! The guided demo of chapter 5: one container from the four primitives, started through
//! the same kernel toolkit function as `learn-containers run`; its namespaces beside the
//! host's; the chroot escape against chroot and against pivot_root; pivot_root's rules,
//! broken on purpose; and the same rootfs run by util-linux `unshare` and by `runc`.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::error::{Context, Result};
use nix::sched::{CloneFlags, unshare};
use nix::unistd::{chdir, pivot_root};

use crate::kernel::cgroup::{CgroupFs, CpuLimit};
use crate::kernel::child::Supervised;
use crate::kernel::child::{self, SysError, emit, failed};
use crate::kernel::chroot::escape;
use crate::kernel::container::{
    self, Container, ContainerSpec, DEVICES, Io, Net, Root, oci_config,
};
use crate::kernel::{mountinfo, ns, procfs, scratch::Scratch};
use crate::present::Presenter;
use crate::verify::probe::tagged::tagged;

use super::stages::STAGES;

pub const STEPS: usize = 6;

const LIMIT: Duration = Duration::from_secs(20);
const HOSTNAME: &str = "box";
/// The CPU cap every container of this lesson gets.
const CPUS: f64 = 0.5;
/// The namespaces shown side by side (the ones `run` makes, then the ones it keeps).
const KINDS: &[&str] = &["pid", "mnt", "uts", "ipc", "net", "cgroup", "user"];

/// What CMD prints in every container of this lesson, then it waits for stdin to close.
/// busybox's hostname and cat; $$ is the shell's own PID as its namespace numbers it.
fn probe(token: &str) -> Vec<String> {
    vec![
        "/bin/sh".into(),
        "-c".into(),
        "echo \"PID inside: $$\"; echo \"hostname: $(hostname)\"; read -r _ || true".into(),
        token.into(),
    ]
}

/// How a container looks from the host, once its CMD is running.
struct Outside {
    nspid: String,
    cgroup: String,
}

fn outside(fs: &CgroupFs, pid: i32) -> Outside {
    let nspid = procfs::status_line(pid, "NSpid")
        .map(|l| l.replace('\t', " "))
        .unwrap_or_else(|e| format!("unreadable: {e:#}"));
    let cgroup = match fs.cgroup_of(pid, "cpu") {
        Ok(dir) => {
            let version = fs.controller("cpu").map(|c| c.version);
            let limit = version
                .and_then(|v| {
                    crate::kernel::cgroup::Cgroup::open(&dir, v)
                        .limit::<CpuLimit>()
                        .ok()
                })
                .and_then(|l| l.cpus())
                .map_or("no limit".to_owned(), |c| format!("{c} CPUs"));
            format!("{} ({limit})", dir.display())
        }
        Err(e) => format!("unreadable: {e}"),
    };
    Outside { nspid, cgroup }
}

/// CMD of a container another tool started: the process carrying `token` whose NSpid
/// ends in 1 (PID 1 of its own namespace).
fn find_pid1(token: &str) -> Option<i32> {
    for _ in 0..200 {
        let found = tagged(token).into_iter().find(|p| {
            procfs::nspid(*p).is_ok_and(|n| n.len() > 1 && n.last() == Some(&1))
                && procfs::comm(*p).is_some_and(|c| c == "sh")
        });
        if found.is_some() {
            return found;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    None
}

pub fn run(p: &mut dyn Presenter) -> Result<()> {
    let fs = CgroupFs::detect()?;
    fs.require("cpu")?;
    let limit = CpuLimit::from_cpus(CPUS)?;
    let scratch = Scratch::new()?;
    let rootfs = scratch.subdir("rootfs")?;
    let r = rootfs.display().to_string();
    let token = format!(
        "learn-containers-ch05-{}",
        scratch
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(crate::kernel::scratch::PREFIX, "")
    );

    // 1
    p.step(
        "One container, four chapters",
        "`docker run --cpus 0.5 --hostname box IMAGE sh` is the chapters you have done, composed. \
         `learn-containers run` does exactly these steps, in this order, and so does this lesson \
         (through the same code):",
    )?;
    for s in STAGES {
        p.output(&format!("  ch.{}  {}", s.chapter, s.what));
        p.shell(s.shell);
    }
    let plan = rootfs_builder::plan(&container::default_options())?;
    rootfs_builder::build(&rootfs, &plan, &mut |_| {})?;
    p.shell(&format!("rootfs-builder {r} --bin bash --busybox"));
    p.say(&format!(
        "The rootfs: {} files, {:.1} MB: bash, busybox and the libraries bash needs.",
        plan.file_count(),
        plan.total_bytes() as f64 / 1e6
    ));
    let spec = ContainerSpec {
        rootfs: rootfs.canonicalize()?,
        hostname: HOSTNAME.into(),
        cpus: Some(limit),
        memory: None,
        pids: None,
        argv: probe(&token),
        root: Root::Ephemeral,
        uptime_offset: None,
        net: Net::Host,
        freezable: false,
        ports: Vec::new(),
    };
    p.shell(&format!(
        "learn-containers run --rootfs {r} --cpus {CPUS} --hostname {HOSTNAME} -- sh -c 'echo $$; hostname; read'"
    ));
    let mut c = Container::start(&spec, Io::Piped, None)?;
    let pid = c.pid();
    for _ in 0..2 {
        if let Some(l) = c.read_line(LIMIT) {
            p.output(&l);
        }
    }
    let seen = outside(&fs, pid);
    p.kernel(&format!("/proc/{pid}/status  {}", seen.nspid));
    p.kernel(&format!("/proc/{pid}/cgroup (cpu)  {}", seen.cgroup));
    let mounts = mountinfo::read(Some(pid))?;
    p.shell(&format!("cat /proc/{pid}/mountinfo"));
    p.kernel(
        &mounts
            .iter()
            .map(|m| m.line())
            .collect::<Vec<_>>()
            .join("\n"),
    );
    p.say(
        "PID 1 inside, a second PID outside (chapter 2); a root (an overlay over the rootfs), a \
         /dev, /proc and /tmp, and nothing of the host's mounts (chapter 3 and this chapter's \
         pivot_root); a cgroup with the cap (chapter 4).",
    );

    // 2
    p.step(
        "Host and container, side by side",
        "Each namespace is a kernel object with an inode number; /proc/PID/ns/* links to the ones \
         a process is in. The container got new PID, mount and UTS namespaces, and new IPC and \
         cgroup ones (chapter 8 explains those two), and shares the rest with the host (docker \
         also makes a net one).",
    )?;
    let me = std::process::id() as i32;
    p.shell(&format!("ls -l /proc/{me}/ns /proc/{pid}/ns"));
    let mut table = vec![format!("  {:<8} {:<22} {:<22}", "", "host", "container")];
    for kind in KINDS {
        let host = procfs::ns_link(me, kind).unwrap_or_else(|_| "?".into());
        let inner = procfs::ns_link(pid, kind).unwrap_or_else(|_| "?".into());
        let mark = if host == inner { "shared" } else { "new" };
        table.push(format!("  {kind:<8} {host:<22} {inner:<22} {mark}"));
    }
    p.kernel(&table.join("\n"));
    let host_name = nix::unistd::gethostname()?.to_string_lossy().into_owned();
    p.kernel(&format!(
        "hostname: {HOSTNAME} inside, {host_name} on the host"
    ));
    c.close_stdin();
    let code = c.wait()?;
    p.kernel(&format!(
        "CMD exited with status {code}; the cgroup is gone, and the namespaces went with their last process"
    ));

    // 3
    p.step(
        "chroot can be escaped; pivot_root cannot",
        "Chapter 1 ended with the classic escape: chroot into a subdirectory, walk up with \"..\", \
         chroot(\".\"). It works because chroot(2) only changes one process's root: the host's whole \
         mount tree is still there, in the namespace. pivot_root(2) replaces the namespace's root, \
         and once the old one is detached there is nothing above / to climb to.",
    )?;
    p.shell(&format!(
        "unshare --mount chroot {r} ...   then the escape (mkdir /escape; chroot /escape; cd ../../..; chroot .)"
    ));
    let chrooted = child::run_captured(LIMIT, || {
        if let Err(e) = ns::private_mount_namespace() {
            emit(&e.to_string());
            return 1;
        }
        escape(&rootfs)
    })?;
    p.kernel(&format!("chroot:      {}", chrooted.output.trim()));
    p.shell(&format!(
        "unshare --mount; mount --bind {r} {r}; cd {r}; pivot_root . .; umount -l .   then the same escape"
    ));
    let rootfs_c = rootfs.clone();
    let pivoted = child::run_captured(LIMIT, move || {
        if let Err(e) = unshare(CloneFlags::CLONE_NEWNS)
            .map_err(|e| SysError::new("unshare(CLONE_NEWNS)", e))
            .and_then(|_| {
                container::enter_rootfs(&rootfs_c, Root::Writable, container::Proc::Skip, &mut None)
            })
        {
            emit(&e.to_string());
            return 1;
        }
        escape(Path::new("/"))
    })?;
    p.kernel(&format!("pivot_root:  {}", pivoted.output.trim()));
    p.say(
        "After chroot the escape reached the host's /; after pivot_root it went nowhere: \
         \"..\" of the new root is the new root. `nsenter --mount` into a container tells the same \
         story from outside, below in the exercise's verifier.",
    );

    // 4
    p.step(
        "pivot_root's rules, by breaking them",
        "pivot_root(new_root, put_old) refuses a new_root that is not a mount point of its own \
         (EBUSY when it lies on the current root's mount, EINVAL when it lies inside another \
         one), and answers EINVAL when new_root's parent mount or the current root's is shared, \
         because the swap would then propagate into other namespaces. Each attempt below runs in \
         a child with a mount namespace of its own; the errors are the kernel's.",
    )?;
    let attempt = |shared: bool, bind: bool| {
        let dir = rootfs.clone();
        child::run_captured(LIMIT, move || {
            if let Err(e) = ns::private_mount_namespace() {
                emit(&e.to_string());
                return 1;
            }
            if shared && let Err(e) = ns::make_root_shared() {
                emit(&e.to_string());
                return 1;
            }
            if bind && let Err(e) = container::bind_on_itself(&dir, false) {
                emit(&e.to_string());
                return 1;
            }
            if let Err(e) = chdir(&dir) {
                emit(&failed("chdir", e));
                return 1;
            }
            match pivot_root(".", ".") {
                Ok(()) => emit("pivot_root(\".\", \".\") succeeded"),
                Err(e) => emit(&failed("pivot_root(\".\", \".\")", e)),
            }
            0
        })
    };
    p.shell(&format!(
        "cd {r}; pivot_root . .            # {r} is a plain directory"
    ));
    p.kernel(attempt(false, false)?.output.trim());
    p.shell(&format!(
        "mount --make-rshared /; mount --bind {r} {r}; cd {r}; pivot_root . ."
    ));
    p.kernel(attempt(true, true)?.output.trim());
    p.shell(&format!(
        "mount --make-rprivate /; mount --bind {r} {r}; cd {r}; pivot_root . .; umount -l ."
    ));
    let rootfs_c = rootfs.clone();
    let right = child::run_captured(LIMIT, move || {
        if let Err(e) = unshare(CloneFlags::CLONE_NEWNS)
            .map_err(|e| SysError::new("unshare(CLONE_NEWNS)", e))
            .and_then(|_| {
                container::enter_rootfs(&rootfs_c, Root::Writable, container::Proc::Skip, &mut None)
            })
            .and_then(|_| ns::mount_proc(Path::new("/proc")))
        {
            emit(&e.to_string());
            return 1;
        }
        emit("pivot_root(\".\", \".\") succeeded; /proc/self/mountinfo now:");
        match std::fs::read_to_string("/proc/self/mountinfo") {
            Ok(t) => emit(t.trim_end()),
            Err(e) => emit(&format!("reading mountinfo: {e}")),
        }
        0
    })?;
    p.kernel(right.output.trim());
    p.say(
        "Made private and bind-mounted on itself, the rootfs can become /. The shared case is the \
         one a systemd host hits (chapter 3): / is shared there, so make it private first.",
    );

    // 5
    p.step(
        "A /dev, and a root the container cannot change",
        "Programs expect /dev/null, /dev/zero, /dev/urandom and a terminal, and a rootfs holds none \
         of them. `run` gives each container a /dev of its own, as runc does: the host's devices \
         made again with mknod (bound from the host's where mknod is not allowed, as without \
         root), a devpts instance of its own for terminals, and /dev/shm. And it never writes \
         into the rootfs: that is the lower layer of an overlay whose upper layer is a tmpfs, so \
         whatever the container writes is gone with it. Image layers work the same way. One \
         tmpfs holds the upper layer, /dev and /tmp: each filesystem made costs start-up time.",
    )?;
    let note = "learn-containers-note";
    let writer = ContainerSpec {
        argv: vec![
            "/bin/sh".into(),
            "-c".into(),
            format!(
                "ls /dev; echo x > /dev/null && echo 'echo x > /dev/null: fine'; \
                 echo hi > /etc/{note} && echo \"/etc/{note} inside: $(cat /etc/{note})\"; \
                 echo READY; read -r _ || true"
            ),
            token.clone(),
        ],
        ..spec.clone()
    };
    p.shell(&format!(
        "learn-containers run --rootfs {r} -- sh -c 'ls /dev; echo x > /dev/null; echo hi > /etc/{note}; cat /etc/{note}'"
    ));
    let mut c = Container::start(&writer, Io::Piped, None)?;
    let pid = c.pid();
    let mut said = Vec::new();
    while let Some(l) = c.read_line(LIMIT) {
        if l == "READY" {
            break;
        }
        said.push(l);
    }
    p.output(&said.join("\n"));
    let shown: Vec<String> = mountinfo::read(Some(pid))?
        .iter()
        .filter(|m| {
            let at = m.mount_point.to_string_lossy();
            at == "/" || at == "/dev" || at == "/dev/pts" || at == "/dev/shm" || at == "/tmp"
        })
        .map(|m| m.line())
        .collect();
    p.shell(&format!("grep -E ' / | /dev| /tmp ' /proc/{pid}/mountinfo"));
    p.kernel(&shown.join("\n"));
    p.say(
        "The root is the overlay: lowerdir is the rootfs (named through a descriptor when the \
         tmpfs holding the upper layer covers its path), upperdir and workdir are on that tmpfs. \
         /dev, /dev/shm and /tmp are directories of the same tmpfs (the fourth field, the root \
         of each mount inside its filesystem, says which), bound into place.",
    );
    c.close_stdin();
    c.wait()?;
    let left = rootfs.join("etc").join(note);
    p.shell(&format!("ls {}", left.display()));
    p.kernel(&match std::fs::symlink_metadata(&left) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => format!(
            "{}: ENOENT (No such file or directory): the rootfs is as it was",
            left.display()
        ),
        Err(e) => format!("{}: {e}", left.display()),
        Ok(_) => format!(
            "{} exists: the container wrote into the rootfs",
            left.display()
        ),
    });
    let json = oci_config(&spec, "/learn-containers/runc");
    let dev = json["mounts"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter(|m| {
                    m["destination"]
                        .as_str()
                        .is_some_and(|d| d.starts_with("/dev"))
                })
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    p.say(&format!(
        "runc's config.json says the same with mounts (below), and runc makes {} as device \
         nodes too; `docker run --read-only` is the read-only root, and without it docker writes \
         into an overlay's upper layer just like this.",
        DEVICES.join(", ")
    ));
    p.output(&dev);

    // 6
    p.step(
        "The same container with util-linux and runc",
        "The real tools do the same steps. util-linux unshare makes the namespaces (it makes / \
         private by default) and chroots; runc reads an OCI bundle (a rootfs and a config.json) \
         and pivot_roots, as docker does through containerd. Same rootfs, same command, same cap.",
    )?;
    let mut rows = vec![format!(
        "  {:<20} {:<14} {:<10} {}",
        "", "PID inside", "hostname", "cgroup (cpu)"
    )];
    // learn-containers run
    let mut c = Container::start(&spec, Io::Piped, None)?;
    let mine = read_two(&mut c);
    rows.push(row(
        "learn-containers run",
        &mine,
        Some(outside(&fs, c.pid())),
    ));
    c.close_stdin();
    c.wait()?;
    // util-linux
    match which::which("unshare") {
        Ok(unshare_bin) => {
            let cg = fs.create_owned("cpu", "demo-unshare")?;
            cg.set(&limit)?;
            let procs =
                std::ffi::CString::new(cg.file("cgroup.procs").as_os_str().as_encoded_bytes())?;
            let script = format!("hostname {HOSTNAME}; {}", probe(&token)[2]);
            p.shell(&format!(
                "echo $$ > {}; unshare --pid --mount --uts --fork --mount-proc={r}/proc chroot {r} sh -c 'hostname {HOSTNAME}; echo $$; hostname; read'",
                cg.file("cgroup.procs").display()
            ));
            let mut cmd = Command::new(unshare_bin);
            cmd.args(["--pid", "--mount", "--uts", "--fork"])
                .arg(format!("--mount-proc={r}/proc"))
                .args(["chroot", &r, "/bin/sh", "-c", &script, &token])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            // SAFETY: between fork and exec; join() only opens, writes and closes.
            unsafe {
                cmd.pre_exec(move || crate::verify::limits::join(&procs));
            }
            let (lines, seen) = run_tool(&mut cmd, &token, |pid| outside(&fs, pid))?;
            rows.push(row("unshare + chroot", &lines, seen));
            cg.remove()?;
        }
        Err(_) => p.say("util-linux unshare is not installed: apt install util-linux"),
    }
    // runc
    let bundle = scratch.subdir("bundle")?;
    let cgroups_path = format!("/learn-containers/runc-{}", std::process::id());
    let config = container::write_oci_bundle(&bundle, &spec, &cgroups_path)?;
    let json = oci_config(&spec, &cgroups_path);
    p.shell(&format!(
        "cat {}   # written by learn-containers for this rootfs",
        config.display()
    ));
    p.output(&format!(
        "  root.path {}, hostname {}, namespaces {}, linux.resources.cpu {}, cgroupsPath {}",
        json["root"]["path"],
        json["hostname"],
        json["linux"]["namespaces"],
        json["linux"]["resources"]["cpu"],
        json["linux"]["cgroupsPath"]
    ));
    match which::which("runc") {
        Ok(runc) => {
            let id = format!("learn-containers-{}", std::process::id());
            let state = scratch.subdir("runc-state")?;
            p.shell(&format!(
                "runc --root {} run --bundle {} {id}",
                state.display(),
                bundle.display()
            ));
            let mut cmd = Command::new(runc);
            cmd.arg("--root")
                .arg(&state)
                .args(["run", "--bundle"])
                .arg(&bundle)
                .arg(&id)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let registered = container::register_runc_cgroups(&cgroups_path)?;
            let result = run_tool(&mut cmd, &token, |pid| outside(&fs, pid));
            drop(registered);
            container::remove_empty_cgroup_parents();
            let (lines, seen) = result?;
            rows.push(row("runc run", &lines, seen));
        }
        Err(_) => p.say(
            "runc is not installed, so it does not run here: `apt install runc` (Debian, Ubuntu) or \
             `dnf install runc` (Fedora), then `runc run --bundle BUNDLE NAME` with the config.json \
             above.",
        ),
    }
    p.kernel(&rows.join("\n"));
    p.say(
        "All of them: PID 1 inside, the same hostname, the same cap. What docker adds on top is \
         images (a rootfs in layers), networking, more namespaces, seccomp and capabilities, and a \
         daemon to manage the lifecycle. The exercise: compose the container yourself.",
    );
    drop(scratch);
    Ok(())
}

/// The two lines the probe prints.
fn read_two(c: &mut Container) -> Vec<String> {
    (0..2).filter_map(|_| c.read_line(LIMIT)).collect()
}

fn row(tool: &str, lines: &[String], o: Option<Outside>) -> String {
    let o = o.unwrap_or(Outside {
        nspid: "PID 1 not found from the host".into(),
        cgroup: String::new(),
    });
    let value = |key: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| "?".into())
    };
    format!(
        "  {tool:<20} {:<14} {:<10} {}\n  {:<20} {}",
        value("PID inside:"),
        value("hostname:"),
        o.cgroup,
        "",
        o.nspid
    )
}

/// Runs a real tool whose CMD is the probe: reads its two lines, finds its PID 1 from
/// outside and looks at it, then closes its stdin and waits for it (killing it after the
/// deadline).
fn run_tool(
    cmd: &mut Command,
    token: &str,
    look: impl Fn(i32) -> Outside,
) -> Result<(Vec<String>, Option<Outside>)> {
    // Supervised: an interrupt at any moment stops it too.
    let mut child = Supervised::spawn(cmd).context("starting the tool")?;
    let mut lines = Vec::new();
    while lines.len() < 2 {
        match child.wait_for(LIMIT, |_| true) {
            Some(l) => lines.push(l),
            None => break,
        }
    }
    let seen = if lines.len() == 2 {
        find_pid1(token).map(look)
    } else {
        None
    };
    // Closing CMD's stdin ends its `read`.
    let done = child.finish(LIMIT);
    if lines.len() < 2 {
        lines.push(format!("(the tool said: {})", done.stderr.trim()));
    }
    Ok((lines, seen))
}
