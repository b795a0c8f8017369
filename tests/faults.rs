//! Tier 2: interrupted runs. Ctrl-C and SIGTERM at a lesson's pause undo everything and
//! exit 128+signal; what a SIGKILLed run leaves is found and removed by `clean`.

mod common;

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Host, cli, privileged, serial, text};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Starts `lesson N` on a pseudo-terminal, so it pauses between steps exactly as it does
/// for a learner, presses Enter until it is at pause `k` (after step k), and returns the
/// child and what it has printed so far.
fn lesson_at_pause(
    state: &std::path::Path,
    chapter: u32,
    k: usize,
) -> (std::process::Child, Arc<Mutex<String>>) {
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave = std::fs::File::from(pty.slave);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_learn-containers"));
    cmd.args(["lesson", &chapter.to_string()])
        .env("LEARN_CONTAINERS_STATE", state)
        .env("LEARN_CONTAINERS_EXERCISES", state.join("exercises"))
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    // Its own session, so the pty is its controlling terminal, as in a real shell.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    let child = cmd.spawn().unwrap();
    let seen = Arc::new(Mutex::new(String::new()));
    let sink = seen.clone();
    let mut master = std::fs::File::from(pty.master);
    let mut keys = master.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    for pause in 1..=k {
        while seen.lock().unwrap().matches("[Enter] next step").count() < pause {
            assert!(
                Instant::now() < deadline,
                "lesson {chapter} never reached pause {pause}: {}",
                seen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        if pause < k {
            use std::io::Write;
            keys.write_all(b"\r").unwrap();
        }
    }
    (child, seen)
}

#[test]
fn interrupting_any_lesson_at_any_pause_removes_what_it_created() {
    if !privileged("interrupting_any_lesson_at_any_pause_removes_what_it_created") {
        return;
    }
    let _turn = serial();
    for c in lessons::chapters() {
        for k in 1..c.steps {
            let (signal, code) = if k % 2 == 1 {
                (Signal::SIGINT, 130)
            } else {
                (Signal::SIGTERM, 143)
            };
            let state = common::state_outside_tmp();
            let before = Host::snapshot();
            let (mut child, seen) = lesson_at_pause(state.path(), c.number, k);
            kill(Pid::from_raw(child.id() as i32), signal).unwrap();
            let status = child.wait().unwrap();
            let what = format!("{signal} at pause {k} of lesson {}", c.number);
            assert_eq!(
                status.code(),
                Some(code),
                "{what}: {}",
                seen.lock().unwrap()
            );
            // What the lesson said on its way out names anything it could not remove.
            let said = format!("{what}; the lesson said:\n{}", seen.lock().unwrap());
            before.assert_same(&Host::snapshot(), &said);
        }
    }
}

#[test]
fn after_a_sigkill_clean_removes_what_each_lesson_left() {
    if !privileged("after_a_sigkill_clean_removes_what_each_lesson_left") {
        return;
    }
    let _turn = serial();
    for c in lessons::chapters() {
        let state = common::state_outside_tmp();
        let before = Host::snapshot();
        let (mut child, _) = lesson_at_pause(state.path(), c.number, 1);
        // Lesson 9 holds its ceiling cgroups, the others a scratch dir or processes of
        // their own; lessons 4 and 7 hold nothing at a pause (each step's namespaces end
        // with it). Killed before the assertion, so that a failure leaves no lesson
        // waiting at its pause.
        let pid = child.id() as i32;
        let holds = before.holds_more(&Host::snapshot())
            || !lessons::kernel::procfs::children(pid).is_empty();
        kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
        child.wait().unwrap();
        assert!(
            holds || [4, 7].contains(&c.number),
            "lesson {} holds nothing",
            c.number
        );
        let out = cli(&["clean"], state.path());
        let said = text(&out);
        assert_eq!(out.status.code(), Some(0), "{said}");
        // What a lesson held, clean must have found.
        assert!(
            !holds || said.contains("removed"),
            "lesson {}: clean found nothing: {said}",
            c.number
        );
        before.assert_same(
            &Host::snapshot(),
            &format!("clean after SIGKILL of lesson {}", c.number),
        );
        assert_eq!(
            text(&cli(&["clean"], state.path())).trim(),
            "nothing to clean"
        );
    }
}

#[test]
fn clean_removes_what_a_killed_run_left_then_finds_nothing() {
    if !privileged("clean_removes_what_a_killed_run_left_then_finds_nothing") {
        return;
    }
    let _turn = serial();
    let state = common::state_outside_tmp();
    // What a SIGKILLed run leaves: its scratch dir (stamped by a process that is gone),
    // a process working inside it, a mount named for the project, and a cgroup.
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let dead = gone.id();
    let dir = tempfile::Builder::new()
        .prefix("learn-containers-")
        .tempdir()
        .unwrap()
        .keep();
    std::fs::write(dir.join(".learn-containers-owner"), format!("{dead} 1\n")).unwrap();
    let mut sleeper = Command::new("sleep")
        .arg("120")
        .current_dir(&dir)
        .process_group(0)
        .spawn()
        .unwrap();
    let mnt = dir.join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    nix::mount::mount(
        Some("learn-containers"),
        &mnt,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .unwrap();
    let fs = lessons::kernel::cgroup::CgroupFs::detect().unwrap();
    let cg = fs
        .controller("cpu")
        .expect("cpu controller")
        .dir
        .join(format!("learn-containers/leftover-{dead}"));
    std::fs::create_dir_all(&cg).unwrap();

    let out = cli(&["clean"], state.path());
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!("removed process {}", sleeper.id())),
        "{said}"
    );
    assert!(
        said.contains(&format!("removed mount {}", mnt.display())),
        "{said}"
    );
    assert!(
        said.contains(&format!("removed cgroup {}", cg.display())),
        "{said}"
    );
    assert!(
        said.contains(&format!("removed temp dir {}", dir.display())),
        "{said}"
    );
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        sleeper.wait().unwrap().signal(),
        Some(9),
        "the stray process was killed"
    );
    assert!(!dir.exists() && !cg.exists());
    assert!(
        !lessons::kernel::mountinfo::read(None)
            .unwrap()
            .iter()
            .any(|m| m.mount_point == mnt)
    );

    let again = cli(&["clean"], state.path());
    assert_eq!(text(&again).trim(), "nothing to clean");
}

#[test]
fn clean_leaves_a_live_run_and_unstamped_dirs_alone() {
    if !privileged("clean_leaves_a_live_run_and_unstamped_dirs_alone") {
        return;
    }
    let _turn = serial();
    let state = common::state_outside_tmp();
    let live = lessons::kernel::scratch::Scratch::new().unwrap();
    let own = tempfile::Builder::new()
        .prefix("learn-containers-")
        .tempdir()
        .unwrap();
    std::fs::write(own.path().join("my-rootfs-file"), "a learner's own work").unwrap();
    // A live run's cgroup (named for this test's pid), holding a child the learner's
    // program named freely.
    let fs = lessons::kernel::cgroup::CgroupFs::detect().unwrap();
    let base = fs
        .controller("cpu")
        .expect("cpu controller")
        .dir
        .join("learn-containers");
    let had_base = base.exists();
    let run = base.join(format!("verify-{}", std::process::id()));
    let learners = run.join("anything");
    std::fs::create_dir_all(&learners).unwrap();
    let out = cli(&["clean"], state.path());
    let still = (learners.exists(), run.exists());
    let _ = std::fs::remove_dir(&learners);
    let _ = std::fs::remove_dir(&run);
    if !had_base {
        let _ = std::fs::remove_dir(&base);
    }
    assert_eq!(
        still,
        (true, true),
        "clean removed a live run's cgroups: {}",
        text(&out)
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        live.path().exists(),
        "clean removed the dir of a run that is still going"
    );
    assert!(
        own.path().join("my-rootfs-file").exists(),
        "clean removed a dir it did not make"
    );
}

#[test]
fn removing_a_rootfs_never_crosses_a_mount_or_follows_a_link() {
    if !privileged("removing_a_rootfs_never_crosses_a_mount_or_follows_a_link") {
        return;
    }
    let _turn = serial();
    let host = tempfile::Builder::new()
        .prefix("learn-containers-test-host-")
        .tempdir()
        .unwrap();
    for name in ["a", "b", "c"] {
        std::fs::write(host.path().join(name), name).unwrap();
    }
    std::fs::create_dir(host.path().join("sub")).unwrap();
    std::fs::write(host.path().join("sub/d"), "d").unwrap();
    let scratch = lessons::kernel::scratch::Scratch::new().unwrap();
    let rootfs = scratch.subdir("rootfs").unwrap();
    let bind = rootfs.join("mnt");
    std::fs::create_dir(&bind).unwrap();
    nix::mount::mount(
        Some(host.path()),
        &bind,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .unwrap();
    std::os::unix::fs::symlink(host.path(), rootfs.join("link")).unwrap();
    std::os::unix::fs::symlink("/", rootfs.join("root-link")).unwrap();
    let path = scratch.path().to_owned();
    drop(scratch);
    assert!(!path.exists(), "the scratch tree was not removed");
    for name in ["a", "b", "c", "sub/d"] {
        assert!(
            host.path().join(name).exists(),
            "{name} of the bind-mounted host dir was deleted"
        );
    }
    assert!(
        !lessons::kernel::mountinfo::read(None)
            .unwrap()
            .iter()
            .any(|m| m.mount_point.starts_with(&path)),
        "the bind mount was left behind"
    );
}

#[test]
fn misbehaving_programs_get_a_verdict_and_leave_nothing() {
    if !privileged("misbehaving_programs_get_a_verdict_and_leave_nothing") {
        return;
    }
    let _turn = serial();
    let state = common::state_outside_tmp();
    for (name, verdict) in [
        ("misbehave_segfault", "was killed by SIGSEGV"),
        ("misbehave_panic", "panicked at"),
        ("misbehave_fork_bomb", "limit of 256 processes"),
        ("misbehave_hang", "timed out after 2 s"),
        ("misbehave_exit_zero", "exited with status 0"),
    ] {
        let before = Host::snapshot();
        let bins = tempfile::Builder::new()
            .prefix("learn-containers-test-bins-")
            .tempdir()
            .unwrap();
        std::fs::copy(common::fixture(name), bins.path().join("ch01_chroot")).unwrap();
        let out = common::cli_env(
            &["verify", "1", "--bin-dir", bins.path().to_str().unwrap()],
            state.path(),
            &[("LEARN_CONTAINERS_TIMEOUT", "2")],
        );
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {said}");
        assert!(
            said.contains(verdict),
            "{name}: the verdict should say {verdict:?}:\n{said}"
        );
        assert!(!said.contains("stack backtrace"), "{name}: {said}");
        before.assert_same(&Host::snapshot(), name);
    }
}

#[test]
fn a_missing_or_read_only_tmpdir_is_one_clear_error() {
    if !privileged("a_missing_or_read_only_tmpdir_is_one_clear_error") {
        return;
    }
    let _turn = serial();
    let state = common::state_outside_tmp();
    let ro = tempfile::Builder::new()
        .prefix("learn-containers-test-ro-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(
        ro.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o555),
    )
    .unwrap();
    // Root ignores directory permissions; a read-only bind would need a mount, so the
    // read-only case is checked through a path under a file, which no one can create.
    let under_file = ro.path().join("file");
    std::fs::write(&under_file, "").unwrap();
    for tmpdir in [
        PathBuf::from("/nonexistent-learn-containers"),
        under_file.join("sub"),
    ] {
        let before = Host::snapshot();
        let out = common::cli_env(
            &["lesson", "1", "--yes"],
            state.path(),
            &[("TMPDIR", tmpdir.to_str().unwrap())],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("TMPDIR") && err.contains(tmpdir.to_str().unwrap()),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        before.assert_same(&Host::snapshot(), "lesson 1 with a bad TMPDIR");
    }
}

#[test]
fn two_verifications_at_once_do_not_collide() {
    if !privileged("two_verifications_at_once_do_not_collide") {
        return;
    }
    let _turn = serial();
    let before = Host::snapshot();
    let bins = tempfile::Builder::new()
        .prefix("learn-containers-test-bins-")
        .tempdir()
        .unwrap();
    for e in ["ch01_chroot", "ch02_pid_namespace", "ch03_mount_namespace"] {
        std::fs::copy(common::solution(e), bins.path().join(e)).unwrap();
    }
    let run = |n: &'static str| {
        let state = common::state_outside_tmp();
        let dir = bins.path().to_owned();
        std::thread::spawn(move || {
            let out = cli(
                &["verify", n, "--bin-dir", dir.to_str().unwrap()],
                state.path(),
            );
            (n, out.status.code(), text(&out))
        })
    };
    let runs: Vec<_> = ["1", "1", "2", "3", "2", "3"]
        .into_iter()
        .map(run)
        .collect();
    for r in runs {
        let (n, code, said) = r.join().unwrap();
        assert_eq!(code, Some(0), "verify {n} next to others: {said}");
    }
    before.assert_same(&Host::snapshot(), "six verifications at once");
}

#[test]
fn a_compile_error_is_shown_verbatim_and_nothing_runs() {
    if !privileged("a_compile_error_is_shown_verbatim_and_nothing_runs") {
        return;
    }
    let _turn = serial();
    // A learner's working copy with a typo in the exercise.
    let (_keep, work) = common::working_copy();
    let (_, e) = lessons::find_exercise("ch01_chroot").unwrap();
    let exercise = work.file(e);
    let text_now = std::fs::read_to_string(&exercise).unwrap();
    std::fs::write(
        &exercise,
        text_now.replacen("fn main() {", "fn main() { let x: u32 = \"typo\";", 1),
    )
    .unwrap();
    let before = Host::snapshot();
    let state = common::state_outside_tmp();
    let out = common::cli_env(
        &["verify", "1"],
        state.path(),
        &[("LEARN_CONTAINERS_EXERCISES", work.path().to_str().unwrap())],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("error[E0308]: mismatched types"),
        "cargo's own words: {said}"
    );
    assert!(said.contains("src/bin/ch01_chroot.rs"), "{said}");
    assert!(
        !said.contains("build: /bin/bash"),
        "nothing else may run: {said}"
    );
    before.assert_same(&Host::snapshot(), "a compile error");
}

#[test]
fn a_planted_temp_symlink_redirects_nothing() {
    if !privileged("a_planted_temp_symlink_redirects_nothing") {
        return;
    }
    let _turn = serial();
    // Another user's trap: a learn-containers-looking name in /tmp pointing at their dir.
    let victim = tempfile::Builder::new()
        .prefix("learn-containers-test-victim-")
        .tempdir()
        .unwrap();
    std::fs::write(victim.path().join("precious"), "keep me").unwrap();
    let trap =
        std::env::temp_dir().join(format!("learn-containers-planted-{}", std::process::id()));
    std::os::unix::fs::symlink(victim.path(), &trap).unwrap();
    let state = common::state_outside_tmp();
    let lesson = cli(&["lesson", "1", "--yes"], state.path());
    let clean = cli(&["clean"], state.path());
    let entries: Vec<_> = std::fs::read_dir(victim.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    let trap_still_there = trap.symlink_metadata().is_ok();
    let _ = std::fs::remove_file(&trap);
    assert_eq!(lesson.status.code(), Some(0), "{}", text(&lesson));
    assert_eq!(
        entries,
        vec![std::ffi::OsString::from("precious")],
        "writes were redirected into the trap's target"
    );
    assert!(
        trap_still_there,
        "clean removed a symlink it did not make: {}",
        text(&clean)
    );
}

#[test]
fn a_host_without_bash_is_one_clear_error() {
    if !privileged("a_host_without_bash_is_one_clear_error") {
        return;
    }
    let _turn = serial();
    let state = common::state_outside_tmp();
    // A PATH with no bash in it is what such a host looks like to the tool.
    let empty = tempfile::Builder::new()
        .prefix("learn-containers-test-path-")
        .tempdir()
        .unwrap();
    for args in [
        &["lesson", "1", "--yes"][..],
        &["verify", "2", "--solution"][..],
    ] {
        let before = Host::snapshot();
        let out = common::cli_env(
            args,
            state.path(),
            &[("PATH", empty.path().to_str().unwrap())],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            err.contains("needs bash") && err.contains("apt install bash"),
            "{args:?}: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(
            out.stdout.is_empty(),
            "{args:?} started anyway: {}",
            text(&out)
        );
        before.assert_same(&Host::snapshot(), &format!("{args:?} without bash"));
    }
}

/// Runs the CLI in a mount namespace of its own where every cgroup filesystem is
/// remounted read-only, as inside many containers. The host's mounts are untouched: the
/// namespace is made private before anything is remounted.
fn cli_with_read_only_cgroups(args: &[&str], state: &std::path::Path) -> std::process::Output {
    let cgroup_mounts: Vec<std::ffi::CString> = lessons::kernel::mountinfo::read(None)
        .unwrap()
        .iter()
        .filter(|m| m.fstype == "cgroup" || m.fstype == "cgroup2")
        .map(|m| std::ffi::CString::new(m.mount_point.as_os_str().as_encoded_bytes()).unwrap())
        .collect();
    assert!(!cgroup_mounts.is_empty(), "this host has no cgroup mounts");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_learn-containers"));
    cmd.args(args)
        .env("LEARN_CONTAINERS_STATE", state)
        .env("LEARN_CONTAINERS_EXERCISES", state.join("exercises"))
        .stdin(Stdio::null());
    // SAFETY: between fork and exec; only syscalls on memory prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            use nix::mount::{MsFlags, mount};
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
            mount(
                None::<&str>,
                "/",
                None::<&str>,
                MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                None::<&str>,
            )?;
            for m in &cgroup_mounts {
                mount(
                    None::<&str>,
                    m.as_c_str(),
                    None::<&str>,
                    MsFlags::MS_BIND
                        | MsFlags::MS_REMOUNT
                        | MsFlags::MS_RDONLY
                        | MsFlags::MS_NOSUID
                        | MsFlags::MS_NODEV
                        | MsFlags::MS_NOEXEC,
                    None::<&str>,
                )?;
            }
            Ok(())
        });
    }
    cmd.output().unwrap()
}

#[test]
fn a_read_only_cgroup_filesystem_is_named_with_what_to_do() {
    if !privileged("a_read_only_cgroup_filesystem_is_named_with_what_to_do") {
        return;
    }
    let _turn = serial();
    let state = common::state_outside_tmp();
    let before = Host::snapshot();
    let out = cli_with_read_only_cgroups(&["doctor"], state.path());
    let said = text(&out);
    assert!(said.contains("is mounted read-only"), "{said}");
    assert!(said.contains("run on the host or in a VM"), "{said}");

    let out = cli_with_read_only_cgroups(&["lesson", "4", "--yes"], state.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(err.contains("run on the host or in a VM"), "{err}");
    assert_eq!(
        err.matches("Read-only file system").count(),
        1,
        "the cause once, not repeated: {err}"
    );
    before.assert_same(&Host::snapshot(), "lesson 4 on a read-only cgroupfs");
}
