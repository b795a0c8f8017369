//! Verifying ch01_chroot by what the kernel does with its work: does the rootfs it built
//! let bash and ls start under chroot, and does `run` leave a process whose root and
//! working directory are inside the rootfs?

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use nix::unistd::{chdir, chroot};

use crate::kernel::child::{self, Captured, Exit, emit, exec, failed};
use crate::kernel::procfs;
use crate::verify::{Check, CheckId, Context, all_failed};

const TIMEOUT: Duration = Duration::from_secs(30);
/// The second binary: ls needs libraries bash does not (libselinux, and libpcre2 only
/// through libselinux), so a build that skips indirect dependencies shows.
const BINARIES: &[&str] = &["bash", "ls"];

crate::checks! {
    /// The checks of chapter 1, in report order.
    pub enum Ch01 {
        BashStarts => "build: /bin/bash starts inside the rootfs",
        LsStarts => "build: /bin/ls starts inside the rootfs",
        Marker => "run: the marker file planted at the new / is visible",
        HostHidden => "run: a file outside the rootfs is not visible",
        Root => "run: the process's root directory is the rootfs",
        Cwd => "run: the working directory is inside the new root",
    }
}

/// The build checks, one per binary (BINARIES).
const BUILD: [Ch01; 2] = [Ch01::BashStarts, Ch01::LsStarts];
/// The run checks.
const RUN: [Ch01; 4] = [Ch01::Marker, Ch01::HostHidden, Ch01::Root, Ch01::Cwd];

pub fn verify(cx: &Context) -> Result<Vec<Check>> {
    let mut checks = build_checks(cx)?;
    checks.extend(run_checks(cx)?);
    Ok(checks)
}

/// Every check in `ids` fails for the reason `first` gives.
fn all_of(ids: &[Ch01], first: Check) -> Vec<Check> {
    all_failed::<Ch01>(first)
        .into_iter()
        .filter(|c| ids.iter().any(|id| id.title() == c.name))
        .collect()
}

fn build_checks(cx: &Context) -> Result<Vec<Check>> {
    let rootfs = cx.scratch.subdir("build-rootfs")?;
    let hosts: Vec<PathBuf> = BINARIES
        .iter()
        .map(|b| rootfs_builder::resolve_binary(b))
        .collect::<Result<_, _>>()?;
    let mut args = vec!["build".to_owned(), rootfs.display().to_string()];
    args.extend(hosts.iter().map(|h| h.display().to_string()));
    let done = cx.run_to_end(&args, TIMEOUT)?;
    if done.exit != Exit::Code(0) {
        return Ok(all_of(
            &BUILD,
            Ch01::BashStarts
                .fail(format!("`{} build` {}", cx.source(), cx.describe(&done)))
                .expected("the build subcommand copies the binaries and exits with status 0")
                .hint(format!("fix what the message names in {}", cx.source())),
        ));
    }
    hosts
        .iter()
        .zip(BUILD)
        .map(|(h, id)| judge_start(id, &rootfs, h, &h.file_name().unwrap().to_string_lossy()))
        .collect()
}

/// Runs /bin/NAME under chroot in the learner's rootfs and explains a failure from what
/// the kernel and the loader said, and which needed files are absent.
fn judge_start(check: Ch01, rootfs: &Path, host: &Path, name: &str) -> Result<Check> {
    let inside = format!("/bin/{name}");
    if !rootfs.join("bin").join(name).is_file() {
        return Ok(check
            .fail(format!("ROOTFS/bin/{name} does not exist"))
            .expected(format!("{} copied to ROOTFS/bin/{name}", host.display()))
            .hint("copy each BINARY to ROOTFS/bin/<its file name>"));
    }
    let argv: Vec<&str> = if name == "bash" {
        vec![&inside, "-c", "echo learn-containers-ok"]
    } else {
        vec![&inside, "/"]
    };
    let out = child::run_captured(TIMEOUT, || {
        if let Err(e) = chroot(rootfs).and_then(|_| chdir("/")) {
            emit(&failed("chroot", e));
            return 1;
        }
        emit(&exec(&argv));
        127
    })?;
    if out.exit == Exit::Code(0) {
        let (files, bytes) = size_of(rootfs);
        return Ok(check.pass(format!("{files} files, {:.1} MB", bytes as f64 / 1e6)));
    }
    Ok(diagnose(rootfs, host, name, &out, check))
}

fn diagnose(rootfs: &Path, host: &Path, name: &str, out: &Captured, check: Ch01) -> Check {
    let elf = rootfs_builder::inspect(host).ok();
    let interp = elf.as_ref().and_then(|e| e.interpreter.clone());
    let interp_missing = interp.as_ref().is_some_and(|i| !exists_in_root(rootfs, i));
    let libs = needed_libraries(host);
    let missing: Vec<&String> = libs
        .iter()
        .filter(|l| !library_in_root(rootfs, l))
        .collect();
    let said = out.output.trim();
    let said = if said.is_empty() {
        out.exit.to_string()
    } else {
        said.to_owned()
    };
    if let (true, Some(interp)) = (interp_missing, &interp) {
        if !libs.is_empty() && missing.len() == libs.len() {
            return check.fail(
                format!(
                    "{said}; bin/{name} is there, but neither its ELF interpreter ({}) nor any of its {} libraries ({}) are",
                    interp.display(),
                    libs.len(),
                    libs.join(", ")
                ),
            )
            .expected(format!("/bin/{name} with its interpreter and libraries"))
            .hint(format!(
                "only the binary was copied. `ldd {}` lists the files it needs: copy each to the same path inside ROOTFS",
                host.display()
            ));
        }
        return check.fail(
            format!(
                "{said}, although bin/{name} exists: its ELF interpreter {} (named in PT_INTERP) is not in the rootfs",
                interp.display()
            ),
        )
        .expected(format!("ROOTFS{} present", interp.display()))
        .hint(
            "the kernel loads the interpreter before any of the program's code runs. In ldd's output it is \
             the line without \"=>\": copy it to that exact path inside ROOTFS (lib64/, not lib/)",
        );
    }
    if !missing.is_empty() {
        let loader = said
            .lines()
            .find(|l| l.contains("error while loading shared libraries"))
            .unwrap_or(&said)
            .to_owned();
        return check.fail(
            format!(
                "{loader}; missing from the rootfs: {}",
                missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )
        .expected(format!("every library /bin/{name} needs, directly or through another library"))
        .hint("copy each library ldd lists after \"=>\" to the same path inside ROOTFS; ldd already includes indirect ones");
    }
    check
        .fail(format!("/bin/{name} did not run: {said}"))
        .expected(format!("/bin/{name} runs and exits with status 0"))
        .hint("run `chroot ROOTFS /bin/bash` yourself to see the error")
}

/// Sonames of every library `host` loads, directly or indirectly.
fn needed_libraries(host: &Path) -> Vec<String> {
    let opts = rootfs_builder::Options {
        bins: vec![host.display().to_string()],
        busybox: false,
        skeleton: false,
    };
    let Ok(plan) = rootfs_builder::plan(&opts) else {
        return Vec::new();
    };
    let interp = rootfs_builder::inspect(host)
        .ok()
        .and_then(|e| e.interpreter);
    plan.entries
        .iter()
        .filter(|e| matches!(e.kind, rootfs_builder::EntryKind::File { .. }))
        .filter(|e| !e.dest.starts_with("bin"))
        .filter(|e| {
            interp
                .as_ref()
                .is_none_or(|i| Path::new("/").join(&e.dest) != *i)
        })
        .filter_map(|e| e.dest.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect()
}

/// The directories the dynamic loader searches when there is no /etc/ld.so.cache.
const LOADER_DIRS: &[&str] = &[
    "lib",
    "lib64",
    "usr/lib",
    "usr/lib64",
    "lib/x86_64-linux-gnu",
    "usr/lib/x86_64-linux-gnu",
    "lib/aarch64-linux-gnu",
    "usr/lib/aarch64-linux-gnu",
];

fn library_in_root(rootfs: &Path, soname: &str) -> bool {
    LOADER_DIRS
        .iter()
        .any(|d| exists_in_root(rootfs, &Path::new("/").join(d).join(soname)))
}

/// Does `path` exist when resolved as a process chrooted into `root` would resolve it?
/// Absolute symlinks inside the rootfs point into the rootfs, not at the host.
pub fn exists_in_root(root: &Path, path: &Path) -> bool {
    let mut current = PathBuf::from("/");
    let mut pending: Vec<std::ffi::OsString> =
        path.components().rev().filter_map(component_name).collect();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            current.pop();
            continue;
        }
        let next = current.join(&part);
        let on_host = root.join(next.strip_prefix("/").unwrap());
        match std::fs::symlink_metadata(&on_host) {
            Ok(md) if md.file_type().is_symlink() => {
                hops += 1;
                if hops > 40 {
                    return false;
                }
                let Ok(target) = std::fs::read_link(&on_host) else {
                    return false;
                };
                if target.is_absolute() {
                    current = PathBuf::from("/");
                }
                pending.extend(target.components().rev().filter_map(component_name));
            }
            Ok(_) => current = next,
            Err(_) => return false,
        }
    }
    true
}

fn component_name(c: std::path::Component) -> Option<std::ffi::OsString> {
    match c {
        std::path::Component::Normal(n) => Some(n.to_owned()),
        std::path::Component::ParentDir => Some("..".into()),
        _ => None,
    }
}

fn size_of(dir: &Path) -> (usize, u64) {
    let mut files = 0;
    let mut bytes = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let Ok(md) = e.path().symlink_metadata() else {
                continue;
            };
            if md.is_dir() {
                stack.push(e.path());
            } else if md.is_file() {
                files += 1;
                bytes += md.len();
            }
        }
    }
    (files, bytes)
}

/// Runs `run ROOTFS /bin/bash -c SCRIPT` in a rootfs the verifier built itself (so these
/// checks do not depend on the learner's build), and inspects the bash process from outside.
fn run_checks(cx: &Context) -> Result<Vec<Check>> {
    let rootfs = cx.scratch.rootfs("rootfs", &["bash"])?;
    // mkdtemp already chose an unpredictable suffix: reuse it so markers can't be guessed.
    let token = cx.token();
    let marker = format!("learn-containers-marker-{token}");
    std::fs::write(rootfs.join(&marker), "planted at the new root\n")?;
    let host_only = cx
        .scratch
        .path()
        .join(format!("learn-containers-host-only-{token}"));
    std::fs::write(&host_only, "outside the rootfs\n")?;
    let script = format!(
        "echo \"pid $$\"; \
         if [ -e /{marker} ]; then echo marker-seen; else echo marker-missing; fi; \
         if [ -e {} ]; then echo host-seen; else echo host-hidden; fi; \
         echo READY; read -r _",
        host_only.display()
    );
    let args = [
        "run".to_owned(),
        rootfs.display().to_string(),
        "/bin/bash".into(),
        "-c".into(),
        script,
    ];
    let mut running = cx.start(&args)?;
    let ready = running.wait_for(TIMEOUT, |l| l == "READY");
    let pid = running
        .seen()
        .iter()
        .find_map(|l| l.strip_prefix("pid ")?.parse::<i32>().ok());
    let (root, cwd) = match pid {
        Some(pid) if ready.is_some() => (procfs::root(pid).ok(), procfs::cwd(pid).ok()),
        _ => (None, None),
    };
    let seen = running.seen().to_vec();
    let done = running.finish(Duration::from_secs(5));
    if ready.is_none() {
        let why = format!("`{} run` {}", cx.source(), cx.describe(&done));
        return Ok(all_of(
            &RUN,
            Ch01::Marker
                .fail(why)
                .expected("bash started inside the rootfs and printed READY")
                .hint(format!("fix what the message names in {}", cx.source())),
        ));
    }
    let has = |s: &str| seen.iter().any(|l| l == s);
    let mut checks = Vec::new();
    checks.push(if has("marker-seen") {
        Ch01::Marker.pass(format!("/{marker}"))
    } else {
        Ch01::Marker
            .fail(format!("/{marker} is not there for the process"))
            .expected(format!(
                "the file planted at {}/{marker} to appear at /",
                rootfs.display()
            ))
            .hint("chroot into the ROOTFS argument itself")
    });
    checks.push(if has("host-hidden") {
        Ch01::HostHidden.pass("")
    } else {
        Ch01::HostHidden
            .fail(format!("{} is visible to the process", host_only.display()))
            .expected("nothing outside ROOTFS can be reached by path")
            .hint("chroot(2) was not called, or its error was ignored")
    });
    let canon = rootfs.canonicalize()?;
    checks.push(match &root {
        Some(r) if *r == canon => {
            Ch01::Root.pass(format!("/proc/{}/root → {}", pid.unwrap(), r.display()))
        }
        other => Ch01::Root
            .fail(format!(
                "/proc/{}/root → {}",
                pid.unwrap_or(0),
                shown(other)
            ))
            .expected(canon.display().to_string())
            .hint("call chroot(ROOTFS) before exec"),
    });
    checks.push(match &cwd {
        Some(d) if d.starts_with(&canon) => Ch01::Cwd.pass( format!("/proc/{}/cwd → {}", pid.unwrap(), d.display())),
        other => Ch01::Cwd.fail(
            format!("/proc/{}/cwd → {}   (outside the new root)", pid.unwrap_or(0), shown(other)),
        )
        .expected(format!("a directory inside {}", canon.display()))
        .hint("after chroot(2) the working directory still points into the old tree; call chdir(\"/\") right after chroot. man 2 chroot, DESCRIPTION."),
    });
    Ok(checks)
}

fn shown(p: &Option<PathBuf>) -> String {
    p.as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "unreadable".into())
}
