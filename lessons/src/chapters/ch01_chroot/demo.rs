//! The guided demo of chapter 1: each step does the real syscalls in a forked child and
//! shows what the kernel answered.

use std::path::Path;
use std::time::Duration;

use crate::error::{Context, Result};

use crate::kernel::child::{self, Exit, Supervised, emit, exec};
use crate::kernel::chroot::{chroot_exec, escape, list};
use crate::kernel::{ns, procfs, scratch::Scratch};
use crate::present::Presenter;

pub const STEPS: usize = 5;
const LIMIT: Duration = Duration::from_secs(20);

pub fn run(p: &mut dyn Presenter) -> Result<()> {
    let scratch = Scratch::new()?;
    let rootfs = scratch.subdir("rootfs")?;
    let r = rootfs.display().to_string();

    // 1
    p.step(
        "An empty directory cannot be a root",
        "chroot(2) changes what \"/\" means for one process and its children. Our new root is \
         empty, so there is no /bin/bash for the kernel to load.",
    )?;
    p.shell(&format!("mkdir {r}"));
    p.shell(&format!("chroot {r} /bin/bash"));
    let c = child::run_captured(LIMIT, || chroot_exec(&rootfs, &["/bin/bash"]))?;
    p.kernel(c.output.trim());
    p.say("chroot itself succeeded; it is the execve that finds nothing at /bin/bash inside the new root.");

    // 2
    p.step(
        "bash alone is not enough",
        "Copy the bash binary in and try again. The file is there now, and yet the kernel \
         still answers ENOENT.",
    )?;
    let bash = rootfs_builder::resolve_binary("bash")?;
    crate::kernel::undo::making(|| {
        std::fs::create_dir_all(rootfs.join("bin"))?;
        std::fs::copy(&bash, rootfs.join("bin/bash"))
    })?;
    p.shell(&format!("cp {} {r}/bin/", bash.display()));
    let c = child::run_captured(LIMIT, || chroot_exec(&rootfs, &["/bin/bash"]))?;
    p.kernel(c.output.trim());
    let elf = rootfs_builder::inspect(&bash)?;
    p.say(
        "bin/bash exists, yet ENOENT. bash is dynamically linked: before any of its code runs, \
           the kernel loads the ELF interpreter named in its PT_INTERP header, which then loads \
           the libraries named in its DT_NEEDED entries. Those are what is missing:",
    );
    let status = |path: &Path| {
        if rootfs.join(path.strip_prefix("/").unwrap_or(path)).exists() {
            "present in rootfs"
        } else {
            "missing in rootfs"
        }
    };
    if let Some(interp) = &elf.interpreter {
        p.output(&format!(
            "  PT_INTERP   {:<36} {}",
            interp.display(),
            status(interp)
        ));
    }
    for lib in &elf.needed {
        p.output(&format!("  DT_NEEDED   {lib:<36} missing in rootfs"));
    }
    if let Ok(ldd) = which_ldd() {
        p.shell(&format!("ldd {}", bash.display()));
        let out = child::output(std::process::Command::new(ldd).arg(&bash))?;
        p.output(String::from_utf8_lossy(&out.stdout).trim_end());
    }

    // 3
    p.step(
        "Copy what bash needs, and chroot works",
        "rootfs-builder copies each binary, the libraries it needs (found by reading the ELF \
         dynamic section, as ldd does) and the interpreter at its literal PT_INTERP path, and \
         says why each file is there.",
    )?;
    crate::kernel::scratch::remove_tree(&rootfs)?;
    std::fs::create_dir(&rootfs)?;
    let plan = rootfs_builder::plan(&rootfs_builder::Options {
        bins: vec!["bash".into(), "ls".into(), "cat".into()],
        busybox: false,
        skeleton: true,
    })?;
    p.shell(&format!("rootfs-builder {r} --bin bash --bin ls --bin cat"));
    crate::kernel::undo::making(|| rootfs_builder::build(&rootfs, &plan, &mut |_| {}))?;
    for e in plan
        .entries
        .iter()
        .filter(|e| matches!(e.kind, rootfs_builder::EntryKind::File { .. }))
    {
        p.output(&format!("  {}  — {}", e.dest.display(), e.why));
    }
    p.shell(&format!("chroot {r} /bin/bash -c 'pwd; ls /'"));
    let c = child::run_captured(LIMIT, || {
        chroot_exec(&rootfs, &["/bin/bash", "-c", "pwd; ls /"])
    })?;
    p.output(c.output.trim_end());
    p.say("Inside, / is the rootfs directory: bash sees only what we copied.");

    // 4
    p.step(
        "What chroot does not isolate",
        "chroot changes one thing: how paths are resolved. Processes, the hostname, the network \
         and the rest are still the host's. Mount /proc inside (in a private mount namespace of \
         its own, so the host never sees the mount) and look around.",
    )?;
    let sleep = rootfs_builder::resolve_binary("sleep")?;
    let sleep_s = sleep.display().to_string();
    let mut sleeper = Supervised::fork(|| {
        emit(&exec(&[&sleep_s, "300"]));
        127
    })?;
    let victim = sleeper.pid();
    p.say(&format!(
        "On the host, we start `sleep 300` as PID {victim}."
    ));
    let script = format!(
        "n=0; for d in /proc/[0-9]*; do n=$((n+1)); done; \
         echo \"processes visible inside the chroot: $n\"; \
         echo \"PID 1 is: $(</proc/1/comm)\"; \
         echo \"hostname inside: $(</proc/sys/kernel/hostname)\"; \
         kill -9 {victim} && echo \"kill -9 {victim}: done\""
    );
    let proc_dir = rootfs.join("proc");
    p.shell(&format!("mount -t proc proc {r}/proc"));
    p.shell(&format!(
        "chroot {r} /bin/bash -c 'ls /proc; cat /proc/sys/kernel/hostname; kill -9 {victim}'"
    ));
    let c = child::run_captured(LIMIT, || {
        if let Err(e) = ns::private_mount_namespace() {
            emit(&e.to_string());
            return 1;
        }
        match ns::mount_host_proc(&proc_dir) {
            Ok(how) if how.starts_with("mount --rbind") => emit(&format!("(/proc inside: {how})")),
            Ok(_) => {}
            Err(e) => {
                emit(&e.to_string());
                return 1;
            }
        }
        chroot_exec(&rootfs, &["/bin/bash", "-c", &script])
    })?;
    p.output(c.output.trim_end());
    let fate = match sleeper.try_wait()? {
        Some(exit) => exit,
        None => {
            std::thread::sleep(Duration::from_millis(200));
            sleeper.try_wait()?.unwrap_or(Exit::Code(-1))
        }
    };
    p.kernel(&format!("waitpid({victim}) on the host: {fate}"));
    let host_name = nix::unistd::gethostname()?.to_string_lossy().into_owned();
    p.kernel(&format!(
        "on the host: {} processes, hostname {host_name}",
        procfs::pids().len()
    ));
    p.say(
        "A process in the chroot saw the host's processes and hostname, and killed a host \
           process. Chapter 2 gives the container its own PID namespace.",
    );
    drop(sleeper);

    // 5
    p.step(
        "chroot is not a security boundary",
        "A root process inside a chroot can leave it. chroot(2) moves the root but not the \
         working directory, and \"..\" only stops at the process's root. So: chroot into a \
         subdirectory (the working directory is now outside the root), walk up with \"..\", \
         and chroot(\".\") at the real /.",
    )?;
    p.shell("mkdir /escape && chroot /escape && cd ../../../.. && chroot .   (done with syscalls in a child)");
    let inside: Vec<String> = list(&rootfs)?;
    let c = child::run_captured(LIMIT, || escape(&rootfs))?;
    p.output(&format!(
        "  / inside the chroot holds:  {}",
        inside.join(" ")
    ));
    p.kernel(c.output.trim_end());
    p.say(
        "The escape worked: the process is back at the host's /. Containers do not stop it \
           by taking chroot away: Docker's default capabilities keep CAP_SYS_CHROOT. They use \
           pivot_root(2) in a mount namespace of their own and detach the old root (chapter 5), \
           so the same climb stops at the container's own /: there is no old root to reach.",
    );
    drop(scratch);
    Ok(())
}

fn which_ldd() -> Result<std::path::PathBuf> {
    which::which("ldd").context("ldd is not in PATH")
}
