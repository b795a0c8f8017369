//! The transcripts the book shows are what the lessons print today.
//!
//! For every chapter in the catalogue, `book/src/transcripts/chNN-slug.txt` holds the
//! normalised stdout of `learn-containers lesson N --yes` (piped, so without colour; see
//! normalise.rs for what is normalised). The tier-2 test runs each lesson twice, checks
//! that the two normalised runs agree (the normaliser misses nothing), and compares them
//! with the stored file. Refresh the files after changing a lesson with
//!
//! ```text
//! sudo LEARN_CONTAINERS_BLESS=1 cargo test --test transcripts
//! ```
//!
//! Lessons print distribution- and kernel-specific things (library paths, cgroup files),
//! so the transcripts are recorded on one reference platform, named in
//! `book/src/transcripts/PLATFORM`; elsewhere the comparison is skipped (and fails under
//! CI=true, where the CI machine is the reference).

#[path = "../common/mod.rs"]
mod common;
mod normalise;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::{privileged, serial, state_dir, workspace};
use lessons::Chapter;
use normalise::{HostFacts, first_difference, normalise};

const BLESS: &str = "LEARN_CONTAINERS_BLESS";
const REFRESH: &str = "sudo LEARN_CONTAINERS_BLESS=1 cargo test --test transcripts";

fn dir() -> PathBuf {
    workspace().join("book/src/transcripts")
}

/// `book/src/transcripts/ch01-chroot.txt` for `ch01-chroot.md`.
fn transcript_path(c: &Chapter) -> PathBuf {
    dir().join(c.book_page.replace(".md", ".txt"))
}

fn page_stem(c: &Chapter) -> &'static str {
    c.book_page.trim_end_matches(".md")
}

fn blessing() -> bool {
    std::env::var(BLESS).is_ok_and(|v| v == "1")
}

/// The platform transcripts are comparable on: distribution, architecture, cgroup layout,
/// and whether there is more than one CPU (chapter 4 shows 1.5 CPUs only where it can).
fn platform() -> String {
    let os = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let field = |k: &str| {
        os.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or("unknown")
            .trim_matches('"')
            .to_owned()
    };
    let mode = lessons::kernel::cgroup::CgroupFs::detect()
        .map(|fs| fs.detection().mode.to_string())
        .unwrap_or_else(|e| format!("no cgroups ({e})"));
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "{} {} · {} · cgroups: {mode} · {}",
        field("ID"),
        field("VERSION_ID"),
        std::env::consts::ARCH,
        if cpus > 1 { "2 or more CPUs" } else { "1 CPU" }
    )
}

/// One run of a lesson: its stdout, normalised.
fn run_lesson(c: &Chapter) -> String {
    let state = state_dir();
    let child = Command::new(env!("CARGO_BIN_EXE_learn-containers"))
        .args(["lesson", &c.number.to_string(), "--yes"])
        .env("LEARN_CONTAINERS_STATE", state.path())
        .env_remove("NO_COLOR")
        .env_remove("LEARN_CONTAINERS_BIN_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run learn-containers");
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "lesson {} failed:\n{stdout}{}",
        c.number,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !stdout.contains('\u{1b}'),
        "lesson {} printed ANSI escapes into a pipe",
        c.number
    );
    normalise(&stdout, &HostFacts::read(pid))
}

/// Orphans the host's PID 1 has not reaped yet: zombies whose parent is 1.
fn unreaped_orphans() -> Vec<String> {
    lessons::kernel::procfs::pids()
        .into_iter()
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (head, rest) = stat.rsplit_once(')')?;
            let mut f = rest.split_whitespace();
            let (state, ppid) = (f.next()?, f.next()?);
            let comm = head.split_once('(')?.1;
            (state == "Z" && ppid == "1").then(|| format!("{pid} ({comm})"))
        })
        .collect()
}

/// Waits (up to 10 s) until the host's PID 1 has reaped the orphans of the previous run.
/// Processes a lesson kills as a group can outlive their parent for a moment and be
/// reparented to PID 1; on hosts whose PID 1 reaps slowly they would show up in the next
/// run's process listings (chapters 1 and 2 list the host's processes).
fn settle() {
    // Processes killed at the end of the run take a moment to become zombies.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !unreaped_orphans().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Every lesson, run twice (once per test binary, shared by the tests below).
fn runs() -> &'static BTreeMap<u32, [String; 2]> {
    static RUNS: OnceLock<BTreeMap<u32, [String; 2]>> = OnceLock::new();
    RUNS.get_or_init(|| {
        let _turn = serial();
        let mut all = BTreeMap::new();
        // (every_chapter.rs checks that lessons leave nothing behind.)
        for c in lessons::chapters() {
            settle();
            let first = run_lesson(c);
            settle();
            let second = run_lesson(c);
            all.insert(c.number, [first, second]);
        }
        all
    })
}

/// Where chapter `c`'s lesson says its book page is, checked on one output.
fn assert_names_its_page(c: &Chapter, output: &str, what: &str) {
    let head = output.lines().next().unwrap_or("");
    assert!(
        head.starts_with(&format!("Chapter {} · {}", c.number, c.title)),
        "{what}: the first line should be `Chapter {} · {}`: {head}",
        c.number,
        c.title
    );
    assert!(
        head.trim_end()
            .ends_with(&format!("book: {}", page_stem(c))),
        "{what}: the header should end with `book: {}`, the chapter's page: {head}",
        page_stem(c)
    );
    let summary = std::fs::read_to_string(workspace().join("book/src/SUMMARY.md")).unwrap();
    assert!(
        summary.contains(&format!("]({})", c.book_page)),
        "{what} names book page {}, which SUMMARY.md does not list",
        c.book_page
    );
    assert!(
        workspace().join("book/src").join(c.book_page).is_file(),
        "{what} names book page {}, which does not exist",
        c.book_page
    );
    for e in c.exercises {
        assert!(
            output.contains(&format!("book/src/{}", c.book_page)),
            "{what}: the closing `Next:` line for {} should name book/src/{}",
            e.id,
            c.book_page
        );
    }
}

#[test]
fn every_chapter_has_a_stored_transcript() {
    let host = HostFacts::read(std::process::id());
    let mut missing = Vec::new();
    for c in lessons::chapters() {
        let path = transcript_path(c);
        let Ok(stored) = std::fs::read_to_string(&path) else {
            missing.push(format!("{} (chapter {})", path.display(), c.number));
            continue;
        };
        assert_names_its_page(
            c,
            &stored,
            &format!("the stored transcript {}", path.display()),
        );
        assert!(
            stored.contains(&format!("Step {} of {}", c.steps, c.steps)),
            "{} does not reach step {} of {}: stale? refresh with `{REFRESH}`",
            path.display(),
            c.steps,
            c.steps
        );
        // Stored transcripts are normalised: normalising again changes nothing.
        if let Some((line, a, b)) = first_difference(&stored, &normalise(&stored, &host)) {
            panic!(
                "{} is not normalised at line {line}:\n  stored      {a}\n  normalised  {b}\nrefresh it with `{REFRESH}`",
                path.display()
            );
        }
    }
    assert!(
        missing.is_empty() || blessing(),
        "no stored transcript for: {}\nrecord them (as root, on the reference platform) with `{REFRESH}`",
        missing.join(", ")
    );
    let recorded = std::fs::read_to_string(dir().join("PLATFORM")).unwrap_or_default();
    assert!(
        !recorded.trim().is_empty() || blessing(),
        "book/src/transcripts/PLATFORM should name the platform the transcripts were recorded on"
    );
}

#[test]
fn every_lesson_names_its_book_page() {
    if !privileged("every_lesson_names_its_book_page") {
        return;
    }
    for c in lessons::chapters() {
        let out = &runs()[&c.number][0];
        assert_names_its_page(c, out, &format!("`learn-containers lesson {}`", c.number));
    }
}

#[test]
fn transcripts_match_what_the_lessons_print() {
    if !privileged("transcripts_match_what_the_lessons_print") {
        return;
    }
    let here = platform();
    let platform_file = dir().join("PLATFORM");
    let recorded = std::fs::read_to_string(&platform_file)
        .unwrap_or_default()
        .trim()
        .to_owned();
    if !blessing() && recorded != here {
        let msg = format!(
            "the transcripts were recorded on `{recorded}`, this host is `{here}`: lessons print distribution- and kernel-specific paths, so they are compared only on the reference platform"
        );
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "{msg}. CI is the reference platform: if it changed, re-record with `{REFRESH}` and commit book/src/transcripts/"
            );
        }
        eprintln!("skipped: {msg}");
        return;
    }

    let mut problems = Vec::new();
    for c in lessons::chapters() {
        let [first, second] = &runs()[&c.number];
        if let Some((line, a, b)) = first_difference(first, second) {
            let keep = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("transcripts");
            std::fs::create_dir_all(&keep).unwrap();
            for (i, run) in [first, second].iter().enumerate() {
                std::fs::write(keep.join(format!("{}.run{}.txt", page_stem(c), i + 1)), run)
                    .unwrap();
            }
            problems.push(format!(
                "lesson {}: two runs differ after normalising, at line {line}:\n  run 1  {a}\n  run 2  {b}\n  (both runs are in {}); teach tests/transcripts/normalise.rs what varies there",
                c.number,
                keep.display()
            ));
            continue;
        }
        let path = transcript_path(c);
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        if blessing() {
            if stored != *first {
                std::fs::create_dir_all(dir()).unwrap();
                std::fs::write(&path, first).unwrap();
                eprintln!("wrote {}", path.display());
            }
            continue;
        }
        if let Some((line, want, got)) = first_difference(&stored, first) {
            problems.push(format!(
                "lesson {} no longer prints what {} shows, first at line {line}:\n  stored  {want}\n  today   {got}",
                c.number,
                path.strip_prefix(workspace()).unwrap_or(&path).display()
            ));
        }
    }
    if blessing() && problems.is_empty() {
        std::fs::write(&platform_file, format!("{here}\n")).unwrap();
    }
    assert!(
        problems.is_empty(),
        "{}\n\nIf the lessons changed on purpose, refresh the transcripts with\n  {REFRESH}\nand review the diff (git diff book/src/transcripts/).",
        problems.join("\n\n")
    );
}
