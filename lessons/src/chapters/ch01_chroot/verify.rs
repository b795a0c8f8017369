//! Verifying ch01_chroot by what the kernel does with its work: does the rootfs it built
//! let bash and ls start under chroot, and does `run` leave a process whose root and
//! working directory are inside the rootfs?

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Result;
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

/// Every check in `ids` fails for the reason `first` gives, each named once.
fn all_of(ids: &[Ch01], first: Check) -> Vec<Check> {
    // all_failed adds a "not run" entry for every check but the report's first one: when
    // `first` is another check (the run half's), its own "not run" entry goes.
    let name = first.name.clone();
    let mut checks = all_failed::<Ch01>(first).into_iter();
    checks
        .next()
        .into_iter()
        .chain(checks.filter(|c| c.name != name))
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
        return Ok(build_failed(cx.source(), &cx.describe(&done)));
    }
    hosts
        .iter()
        .zip(BUILD)
        .map(|(h, id)| judge_start(id, &rootfs, h, &h.file_name().unwrap().to_string_lossy()))
        .collect()
}

/// Every build check fails: `build` itself failed, as `described`.
fn build_failed(source: &str, described: &str) -> Vec<Check> {
    all_of(
        &BUILD,
        Ch01::BashStarts
            .fail(format!("`{source} build` {described}"))
            .expected("the build subcommand copies the binaries and exits with status 0")
            .hint(format!("fix what the message names in {source}")),
    )
}

/// Runs /bin/NAME under chroot in the learner's rootfs and explains a failure from what
/// the kernel and the loader said, and which needed files are absent.
fn judge_start(check: Ch01, rootfs: &Path, host: &Path, name: &str) -> Result<Check> {
    let inside = format!("/bin/{name}");
    if !rootfs.join("bin").join(name).is_file() {
        return Ok(absent(check, host, name));
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
        return Ok(started(check, files, bytes));
    }
    Ok(diagnose(check, name, host, &out, &needs(rootfs, host)))
}

/// ROOTFS/bin/NAME is not there at all.
fn absent(check: Ch01, host: &Path, name: &str) -> Check {
    check
        .fail(format!("ROOTFS/bin/{name} does not exist"))
        .expected(format!("{} copied to ROOTFS/bin/{name}", host.display()))
        .hint("copy each BINARY to ROOTFS/bin/<its file name>")
}

/// /bin/NAME ran; the rootfs holds `files` files of `bytes` in all.
fn started(check: Ch01, files: usize, bytes: u64) -> Check {
    check.pass(format!("{files} files, {:.1} MB", bytes as f64 / 1e6))
}

/// What /bin/NAME needs to start, and which of it the rootfs lacks.
struct Needs {
    /// Its ELF interpreter (PT_INTERP), if it names one.
    interp: Option<PathBuf>,
    /// The interpreter is named and not in the rootfs.
    interp_missing: bool,
    /// The sonames it loads, directly or through another library.
    libs: Vec<String>,
    /// Those of `libs` in none of the loader's directories of the rootfs.
    missing: Vec<String>,
}

/// Reads `host`'s ELF and looks for what it needs in `rootfs`.
fn needs(rootfs: &Path, host: &Path) -> Needs {
    let elf = rootfs_builder::inspect(host).ok();
    let interp = elf.as_ref().and_then(|e| e.interpreter.clone());
    let interp_missing = interp.as_ref().is_some_and(|i| !exists_in_root(rootfs, i));
    let libs = needed_libraries(host);
    let missing: Vec<String> = libs
        .iter()
        .filter(|l| !library_in_root(rootfs, l))
        .cloned()
        .collect();
    Needs {
        interp,
        interp_missing,
        libs,
        missing,
    }
}

/// Why /bin/NAME (a copy of `host`) did not start, from what it printed (`out`) and what
/// the rootfs lacks (`needs`).
fn diagnose(check: Ch01, name: &str, host: &Path, out: &Captured, needs: &Needs) -> Check {
    let Needs {
        interp,
        interp_missing,
        libs,
        missing,
    } = needs;
    let interp_missing = *interp_missing;
    let said = out.output.trim();
    let said = if said.is_empty() {
        out.exit.to_string()
    } else {
        said.to_owned()
    };
    if let (true, Some(interp)) = (interp_missing, interp) {
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
        return Ok(run_failed(cx.source(), &cx.describe(&done)));
    }
    let canon = rootfs.canonicalize()?;
    Ok(judge_run(&Run {
        rootfs,
        canon,
        marker,
        host_only,
        seen,
        pid,
        root,
        cwd,
    }))
}

/// Every run check fails: `run` never got bash to READY, as `described`.
fn run_failed(source: &str, described: &str) -> Vec<Check> {
    all_of(
        &RUN,
        Ch01::Marker
            .fail(format!("`{source} run` {described}"))
            .expected("bash started inside the rootfs and printed READY")
            .hint(format!("fix what the message names in {source}")),
    )
}

/// What `run` showed of bash once it printed READY: its lines, and what /proc says of it.
struct Run {
    rootfs: PathBuf,
    /// `rootfs`, canonical, as /proc/PID/root shows it.
    canon: PathBuf,
    /// The marker file's name, planted at the rootfs's top.
    marker: String,
    /// A file outside the rootfs.
    host_only: PathBuf,
    /// The lines bash printed.
    seen: Vec<String>,
    /// bash's PID, from its `pid $$` line.
    pid: Option<i32>,
    /// /proc/PID/root and /proc/PID/cwd.
    root: Option<PathBuf>,
    cwd: Option<PathBuf>,
}

fn judge_run(r: &Run) -> Vec<Check> {
    let Run {
        rootfs,
        canon,
        marker,
        host_only,
        seen,
        pid,
        root,
        cwd,
    } = r;
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
    checks.push(match root {
        Some(r) if r == canon => {
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
    checks.push(match cwd {
        Some(d) if d.starts_with(canon) => Ch01::Cwd.pass( format!("/proc/{}/cwd → {}", pid.unwrap(), d.display())),
        other => Ch01::Cwd.fail(
            format!("/proc/{}/cwd → {}   (outside the new root)", pid.unwrap_or(0), shown(other)),
        )
        .expected(format!("a directory inside {}", canon.display()))
        .hint("after chroot(2) the working directory still points into the old tree; call chdir(\"/\") right after chroot. man 2 chroot, DESCRIPTION."),
    });
    checks
}

fn shown(p: &Option<PathBuf>) -> String {
    p.as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "unreadable".into())
}

#[cfg(test)]
mod tests {
    //! The judges, fed made-up observations: no root, no process, no rootfs.

    use std::time::Duration;

    use nix::errno::Errno;
    use nix::sys::signal::Signal;

    use super::*;
    use crate::kernel::child::failed;
    use crate::verify::run::{Finished, describe};
    use crate::verify::{Check, Status};

    const SOURCE: &str = "exercises/src/bin/ch01_chroot.rs";

    fn ended(exit: Exit, stderr: &str) -> Finished {
        Finished {
            exit,
            stdout: Vec::new(),
            stderr: stderr.to_owned(),
            took: Duration::from_secs(2),
        }
    }

    fn saw(c: &Check) -> &str {
        c.saw.as_deref().unwrap_or("")
    }

    fn hint(c: &Check) -> &str {
        c.hint.as_deref().unwrap_or("")
    }

    fn names(checks: &[Check]) -> Vec<&str> {
        checks.iter().map(|c| c.name.as_str()).collect()
    }

    fn failing(checks: &[Check]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| !c.passed())
            .map(|c| c.name.as_str())
            .collect()
    }

    // ---- build: the program itself ----

    #[test]
    fn a_todo_in_build_fails_both_build_checks_once() {
        let todo = "\nthread 'main' panicked at exercises/src/bin/ch01_chroot.rs:40:5:\nnot yet implemented: copy each BINARY\nnote: run with `RUST_BACKTRACE=1`\n";
        let checks = build_failed(SOURCE, &describe(&ended(Exit::Code(101), todo), None));
        assert_eq!(
            names(&checks),
            vec![Ch01::BashStarts.title(), Ch01::LsStarts.title()]
        );
        let first = &checks[0];
        assert_eq!(first.status, Status::Fail);
        assert_eq!(
            saw(first),
            "`exercises/src/bin/ch01_chroot.rs build` reached a todo!() at exercises/src/bin/ch01_chroot.rs:40:5: copy each BINARY"
        );
        assert_eq!(
            hint(first),
            "fix what the message names in exercises/src/bin/ch01_chroot.rs"
        );
        assert!(!checks[1].passed());
        assert!(saw(&checks[1]).starts_with("not run"), "{checks:#?}");
    }

    #[test]
    fn a_build_that_misbehaves_is_named_by_how_it_ended() {
        // The misbehave_* fixtures, as ch01_chroot.
        for (finished, limit, verdict) in [
            (
                ended(Exit::Signal(Signal::SIGSEGV), ""),
                None,
                "was killed by SIGSEGV",
            ),
            (
                ended(Exit::Code(1), ""),
                Some(256),
                "limit of 256 processes",
            ),
            (ended(Exit::TimedOut, ""), None, "timed out after 2 s"),
            (
                ended(
                    Exit::Code(101),
                    "thread 'main' panicked at fixtures/src/misbehave.rs:50:5:\nindex out of bounds: the len is 0 but the index is 3\n",
                ),
                None,
                "panicked at fixtures/src/misbehave.rs:50:5: index out of bounds",
            ),
        ] {
            let checks = build_failed(SOURCE, &describe(&finished, limit));
            assert!(!checks[0].passed());
            assert!(saw(&checks[0]).contains(verdict), "{checks:#?}");
        }
    }

    #[test]
    fn a_binary_not_copied_at_all_is_named() {
        // misbehave_exit_zero: `build` exits 0 and copies nothing.
        let c = absent(Ch01::LsStarts, Path::new("/usr/bin/ls"), "ls");
        assert_eq!(c.name, Ch01::LsStarts.title());
        assert_eq!(c.status, Status::Fail);
        assert_eq!(saw(&c), "ROOTFS/bin/ls does not exist");
        assert_eq!(
            c.expected.as_deref(),
            Some("/usr/bin/ls copied to ROOTFS/bin/ls")
        );
        assert!(hint(&c).contains("ROOTFS/bin/<its file name>"), "{c:#?}");
    }

    #[test]
    fn a_binary_that_starts_passes_with_the_rootfs_size() {
        let c = started(Ch01::BashStarts, 12, 4_480_000);
        assert_eq!(c.status, Status::Pass);
        assert_eq!(saw(&c), "12 files, 4.5 MB");
    }

    // ---- build: why /bin/NAME did not start ----

    const INTERP: &str = "/lib64/ld-linux-x86-64.so.2";

    fn needing(interp_missing: bool, missing: &[&str]) -> Needs {
        Needs {
            interp: Some(PathBuf::from(INTERP)),
            interp_missing,
            libs: vec!["libtinfo.so.6".into(), "libc.so.6".into()],
            missing: missing.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn exec_failed(errno: Errno) -> Captured {
        Captured {
            exit: Exit::Code(127),
            output: format!("{}\n", failed("execve(\"/bin/bash\")", errno)),
        }
    }

    #[test]
    fn a_missing_interpreter_is_named() {
        // ch01_no_interpreter: the libraries are there, the ldd line without "=>" is not.
        let c = diagnose(
            Ch01::BashStarts,
            "bash",
            Path::new("/usr/bin/bash"),
            &exec_failed(Errno::ENOENT),
            &needing(true, &[]),
        );
        assert_eq!(c.status, Status::Fail);
        assert!(saw(&c).contains("ENOENT"), "{c:#?}");
        assert!(
            saw(&c).ends_with(
                "although bin/bash exists: its ELF interpreter /lib64/ld-linux-x86-64.so.2 (named in PT_INTERP) is not in the rootfs"
            ),
            "{c:#?}"
        );
        assert_eq!(
            c.expected.as_deref(),
            Some("ROOTFS/lib64/ld-linux-x86-64.so.2 present")
        );
        assert!(hint(&c).contains("without \"=>\""), "{c:#?}");
    }

    #[test]
    fn copying_only_the_binary_is_named() {
        // ch01_only_binary: neither the interpreter nor any library.
        let c = diagnose(
            Ch01::BashStarts,
            "bash",
            Path::new("/usr/bin/bash"),
            &exec_failed(Errno::ENOENT),
            &needing(true, &["libtinfo.so.6", "libc.so.6"]),
        );
        assert_eq!(c.status, Status::Fail);
        assert!(
            saw(&c).ends_with(
                "bin/bash is there, but neither its ELF interpreter (/lib64/ld-linux-x86-64.so.2) nor any of its 2 libraries (libtinfo.so.6, libc.so.6) are"
            ),
            "{c:#?}"
        );
        assert!(
            hint(&c).starts_with("only the binary was copied. `ldd /usr/bin/bash`"),
            "{c:#?}"
        );
    }

    #[test]
    fn a_missing_interpreter_comes_before_some_missing_libraries() {
        // Not provoked by a fixture: some libraries copied, not all, and no interpreter.
        // Only when none at all was copied is it "only the binary".
        let c = diagnose(
            Ch01::BashStarts,
            "bash",
            Path::new("/usr/bin/bash"),
            &exec_failed(Errno::ENOENT),
            &needing(true, &["libtinfo.so.6"]),
        );
        assert!(
            saw(&c).contains("(named in PT_INTERP) is not in the rootfs"),
            "{c:#?}"
        );
        assert!(!hint(&c).contains("only the binary"), "{c:#?}");
    }

    #[test]
    fn missing_indirect_libraries_are_named() {
        // Not provoked by a fixture: a build that skips libraries ls needs only indirectly.
        let out = Captured {
            exit: Exit::Code(127),
            output: "warming up\n/bin/ls: error while loading shared libraries: libselinux.so.1: cannot open shared object file: No such file or directory\n".into(),
        };
        let needs = Needs {
            interp: Some(PathBuf::from(INTERP)),
            interp_missing: false,
            libs: vec![
                "libselinux.so.1".into(),
                "libc.so.6".into(),
                "libpcre2-8.so.0".into(),
            ],
            missing: vec!["libselinux.so.1".into(), "libpcre2-8.so.0".into()],
        };
        let c = diagnose(Ch01::LsStarts, "ls", Path::new("/usr/bin/ls"), &out, &needs);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            saw(&c),
            "/bin/ls: error while loading shared libraries: libselinux.so.1: cannot open shared object file: No such file or directory; missing from the rootfs: libselinux.so.1, libpcre2-8.so.0"
        );
        assert!(
            hint(&c).contains("ldd already includes indirect ones"),
            "{c:#?}"
        );
    }

    #[test]
    fn a_failure_with_nothing_missing_says_what_happened() {
        // Not provoked by a fixture: everything is there and it still fails.
        let out = Captured {
            exit: Exit::Signal(Signal::SIGSEGV),
            output: "  \n".into(),
        };
        let c = diagnose(
            Ch01::BashStarts,
            "bash",
            Path::new("/usr/bin/bash"),
            &out,
            &needing(false, &[]),
        );
        assert_eq!(c.status, Status::Fail);
        assert_eq!(saw(&c), "/bin/bash did not run: killed by SIGSEGV");
        assert!(
            hint(&c).contains("run `chroot ROOTFS /bin/bash` yourself"),
            "{c:#?}"
        );
    }

    // ---- run ----

    const ROOTFS: &str = "/tmp/learn-containers-AbC123/rootfs";

    /// What a correct `run` shows: bash (PID 77) chrooted and at the rootfs's top.
    fn correct() -> Run {
        Run {
            rootfs: PathBuf::from(ROOTFS),
            canon: PathBuf::from(ROOTFS),
            marker: "learn-containers-marker-AbC123".into(),
            host_only: PathBuf::from(
                "/tmp/learn-containers-AbC123/learn-containers-host-only-AbC123",
            ),
            seen: ["pid 77", "marker-seen", "host-hidden", "READY"]
                .map(String::from)
                .to_vec(),
            pid: Some(77),
            root: Some(PathBuf::from(ROOTFS)),
            cwd: Some(PathBuf::from(ROOTFS)),
        }
    }

    #[test]
    fn a_correct_run_passes_every_run_check() {
        let checks = judge_run(&correct());
        assert_eq!(
            names(&checks),
            vec![
                Ch01::Marker.title(),
                Ch01::HostHidden.title(),
                Ch01::Root.title(),
                Ch01::Cwd.title()
            ]
        );
        assert!(failing(&checks).is_empty(), "{checks:#?}");
        assert_eq!(saw(&checks[0]), "/learn-containers-marker-AbC123");
        assert_eq!(checks[1].saw, None);
        assert_eq!(saw(&checks[2]), format!("/proc/77/root → {ROOTFS}"));
        assert_eq!(saw(&checks[3]), format!("/proc/77/cwd → {ROOTFS}"));
    }

    #[test]
    fn chroot_without_chdir_is_named() {
        // ch01_no_chdir: the working directory stays where the verifier started it.
        let r = Run {
            cwd: Some(PathBuf::from("/tmp/learn-containers-AbC123")),
            ..correct()
        };
        let checks = judge_run(&r);
        assert_eq!(failing(&checks), vec![Ch01::Cwd.title()], "{checks:#?}");
        let c = &checks[3];
        assert_eq!(
            saw(c),
            "/proc/77/cwd → /tmp/learn-containers-AbC123   (outside the new root)"
        );
        assert_eq!(
            c.expected.as_deref(),
            Some(format!("a directory inside {ROOTFS}").as_str())
        );
        assert!(
            hint(c).contains("call chdir(\"/\") right after chroot"),
            "{c:#?}"
        );
    }

    #[test]
    fn exec_without_chroot_is_caught() {
        // ch01_no_chroot: bash runs on the host's tree.
        let r = Run {
            seen: ["pid 77", "marker-missing", "host-seen", "READY"]
                .map(String::from)
                .to_vec(),
            root: Some(PathBuf::from("/")),
            cwd: Some(PathBuf::from("/")),
            ..correct()
        };
        let checks = judge_run(&r);
        assert_eq!(
            failing(&checks),
            vec![
                Ch01::Marker.title(),
                Ch01::HostHidden.title(),
                Ch01::Root.title(),
                Ch01::Cwd.title()
            ]
        );
        assert_eq!(
            saw(&checks[0]),
            "/learn-containers-marker-AbC123 is not there for the process"
        );
        assert_eq!(hint(&checks[0]), "chroot into the ROOTFS argument itself");
        assert!(
            saw(&checks[1])
                .ends_with("learn-containers-host-only-AbC123 is visible to the process")
        );
        assert!(hint(&checks[1]).contains("chroot(2) was not called"));
        assert_eq!(saw(&checks[2]), "/proc/77/root → /");
        assert_eq!(checks[2].expected.as_deref(), Some(ROOTFS));
        assert_eq!(hint(&checks[2]), "call chroot(ROOTFS) before exec");
    }

    #[test]
    fn an_unreadable_process_is_named_as_such() {
        // Not provoked by a fixture: READY, but no `pid` line and nothing in /proc.
        let r = Run {
            seen: vec!["marker-seen".into(), "host-hidden".into(), "READY".into()],
            pid: None,
            root: None,
            cwd: None,
            ..correct()
        };
        let checks = judge_run(&r);
        assert_eq!(saw(&checks[2]), "/proc/0/root → unreadable");
        assert_eq!(
            saw(&checks[3]),
            "/proc/0/cwd → unreadable   (outside the new root)"
        );
    }

    #[test]
    fn a_run_that_never_gets_ready_fails_each_run_check_once() {
        // misbehave_exit_zero: `run` exits 0 without starting bash.
        let checks = run_failed(SOURCE, &describe(&ended(Exit::Code(0), ""), None));
        assert_eq!(
            names(&checks),
            vec![
                Ch01::Marker.title(),
                Ch01::HostHidden.title(),
                Ch01::Root.title(),
                Ch01::Cwd.title()
            ],
            "{checks:#?}"
        );
        assert_eq!(
            saw(&checks[0]),
            "`exercises/src/bin/ch01_chroot.rs run` exited with status 0"
        );
        assert_eq!(
            checks[0].expected.as_deref(),
            Some("bash started inside the rootfs and printed READY")
        );
        for c in &checks[1..] {
            assert!(!c.passed() && saw(c).starts_with("not run"), "{c:#?}");
        }
    }

    #[test]
    fn a_program_that_fails_both_halves_reports_each_check_once() {
        // The untouched exercise, and every misbehave_* fixture: build and run both fail.
        let how = describe(&ended(Exit::Signal(Signal::SIGSEGV), ""), None);
        let mut checks = build_failed(SOURCE, &how);
        checks.extend(run_failed(SOURCE, &how));
        let all: Vec<&str> = Ch01::ALL.iter().map(|c| c.title()).collect();
        assert_eq!(names(&checks), all);
        assert_eq!(failing(&checks), all);
        assert!(saw(&checks[0]).ends_with("build` was killed by SIGSEGV"));
        assert!(saw(&checks[2]).ends_with("run` was killed by SIGSEGV"));
    }
}
