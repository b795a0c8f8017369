//! Verifying ch01_chroot by what the kernel does with its work: does the rootfs it built
//! let bash and ls start under chroot, and does `run` leave a process whose root and
//! working directory are inside the rootfs?

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use nix::unistd::{chdir, chroot};

use crate::kernel::child::{self, Captured, Exit, emit, exec, failed};
use crate::kernel::{procfs, scratch::Scratch};
use crate::verify::run::{Running, run_to_end};
use crate::verify::{Candidate, Check};

const TIMEOUT: Duration = Duration::from_secs(30);
/// The second binary: ls needs libraries bash does not (libselinux, and libpcre2 only
/// through libselinux), so a build that skips indirect dependencies shows.
const BINARIES: &[&str] = &["bash", "ls"];

pub fn verify(c: &Candidate) -> Result<Vec<Check>> {
    let mut checks = build_checks(c)?;
    checks.extend(run_checks(c)?);
    Ok(checks)
}

fn build_checks(c: &Candidate) -> Result<Vec<Check>> {
    let scratch = Scratch::new()?;
    let rootfs = scratch.subdir("rootfs")?;
    let hosts: Vec<PathBuf> = BINARIES
        .iter()
        .map(|b| rootfs_builder::resolve_binary(b))
        .collect::<Result<_, _>>()?;
    let mut args = vec!["build".to_owned(), rootfs.display().to_string()];
    args.extend(hosts.iter().map(|h| h.display().to_string()));
    let done = run_to_end(&c.binary, &args, scratch.path(), TIMEOUT)?;
    let names: Vec<String> = hosts
        .iter()
        .map(|h| {
            format!(
                "build: /bin/{} starts inside the rootfs",
                h.file_name().unwrap().to_string_lossy()
            )
        })
        .collect();
    if !done.succeeded() {
        return Ok(crate::verify::all_failed(
            &names,
            Check::fail(
                &names[0],
                format!("`{} build` {}", c.source, done.describe()),
            )
            .expected("the build subcommand copies the binaries and exits with status 0")
            .hint(format!("fix what the message names in {}", c.source)),
        ));
    }
    hosts
        .iter()
        .map(|h| judge_start(&rootfs, h, &h.file_name().unwrap().to_string_lossy()))
        .collect()
}

/// Runs /bin/NAME under chroot in the learner's rootfs and explains a failure from what
/// the kernel and the loader said, and which needed files are absent.
fn judge_start(rootfs: &Path, host: &Path, name: &str) -> Result<Check> {
    let check = format!("build: /bin/{name} starts inside the rootfs");
    let inside = format!("/bin/{name}");
    if !rootfs.join("bin").join(name).is_file() {
        return Ok(
            Check::fail(check, format!("ROOTFS/bin/{name} does not exist"))
                .expected(format!("{} copied to ROOTFS/bin/{name}", host.display()))
                .hint("copy each BINARY to ROOTFS/bin/<its file name>"),
        );
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
        return Ok(Check::pass(
            check,
            format!("{files} files, {:.1} MB", bytes as f64 / 1e6),
        ));
    }
    Ok(diagnose(rootfs, host, name, &out, check))
}

fn diagnose(rootfs: &Path, host: &Path, name: &str, out: &Captured, check: String) -> Check {
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
            return Check::fail(
                check,
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
        return Check::fail(
            check,
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
        return Check::fail(
            check,
            format!(
                "{loader}; missing from the rootfs: {}",
                missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )
        .expected(format!("every library /bin/{name} needs, directly or through another library"))
        .hint("copy each library ldd lists after \"=>\" to the same path inside ROOTFS; ldd already includes indirect ones");
    }
    Check::fail(check, format!("/bin/{name} did not run: {said}"))
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
fn run_checks(c: &Candidate) -> Result<Vec<Check>> {
    let scratch = Scratch::new()?;
    let rootfs = scratch.rootfs("rootfs", &["bash"])?;
    // mkdtemp already chose an unpredictable suffix: reuse it so markers can't be guessed.
    let token = scratch
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .replace(crate::kernel::scratch::PREFIX, "");
    let marker = format!("learn-containers-marker-{token}");
    std::fs::write(rootfs.join(&marker), "planted at the new root\n")?;
    let host_only = scratch
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
    let mut running = Running::start(&c.binary, &args, scratch.path())?;
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
    let names = [
        "run: the marker file planted at the new / is visible",
        "run: a file outside the rootfs is not visible",
        "run: the process's root directory is the rootfs",
        "run: the working directory is inside the new root",
    ];
    if ready.is_none() {
        let why = format!("`{} run` {}", c.source, done.describe());
        return Ok(crate::verify::all_failed(
            &names,
            Check::fail(names[0], why)
                .expected("bash started inside the rootfs and printed READY")
                .hint(format!("fix what the message names in {}", c.source)),
        ));
    }
    let has = |s: &str| seen.iter().any(|l| l == s);
    let mut checks = Vec::new();
    checks.push(if has("marker-seen") {
        Check::pass(names[0], format!("/{marker}"))
    } else {
        Check::fail(names[0], format!("/{marker} is not there for the process"))
            .expected(format!(
                "the file planted at {}/{marker} to appear at /",
                rootfs.display()
            ))
            .hint("chroot into the ROOTFS argument itself")
    });
    checks.push(if has("host-hidden") {
        Check::pass(names[1], "")
    } else {
        Check::fail(
            names[1],
            format!("{} is visible to the process", host_only.display()),
        )
        .expected("nothing outside ROOTFS can be reached by path")
        .hint("chroot(2) was not called, or its error was ignored")
    });
    let canon = rootfs.canonicalize()?;
    checks.push(match &root {
        Some(r) if *r == canon => Check::pass(
            names[2],
            format!("/proc/{}/root → {}", pid.unwrap(), r.display()),
        ),
        other => Check::fail(
            names[2],
            format!("/proc/{}/root → {}", pid.unwrap_or(0), shown(other)),
        )
        .expected(canon.display().to_string())
        .hint("call chroot(ROOTFS) before exec"),
    });
    checks.push(match &cwd {
        Some(d) if d.starts_with(&canon) => Check::pass(names[3], format!("/proc/{}/cwd → {}", pid.unwrap(), d.display())),
        other => Check::fail(
            names[3],
            format!("/proc/{}/cwd → {}   (outside the new root)", pid.unwrap_or(0), shown(other)),
        )
        .expected(format!("a directory inside {}", canon.display()))
        .hint("after chroot(2) the working directory still points into the old tree; call chdir(\"/\") right after chroot. man 2 chroot, NOTES."),
    });
    Ok(checks)
}

fn shown(p: &Option<PathBuf>) -> String {
    p.as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "unreadable".into())
}
