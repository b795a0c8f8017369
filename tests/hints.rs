//! What a learner reads outside the book's prose (tier 1): the hints of every chapter climb
//! the ladder docs/chapter-anatomy.md describes, every man page they or the exercises cite
//! as `man N page` is one whose section was checked, and nothing a learner sees speaks of
//! "seeds", the project's own word for the articles it retells.

mod common;

use std::path::{Path, PathBuf};

use common::workspace;

/// The `## ` and `### ` headings of a book page.
fn headings(page: &str) -> Vec<String> {
    page.lines()
        .filter_map(|l| l.strip_prefix("### ").or_else(|| l.strip_prefix("## ")))
        .map(|h| h.trim().to_owned())
        .collect()
}

/// The texts between double quotes.
fn quoted(text: &str) -> Vec<&str> {
    text.split('"').skip(1).step_by(2).collect()
}

/// Every `man N page` in `text`, as (section, page).
fn man_refs(text: &str) -> Vec<(String, String)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .windows(3)
        .filter(|w| {
            w[0].trim_start_matches(|c: char| !c.is_ascii_alphanumeric()) == "man"
                && w[1].starts_with(|c: char| c.is_ascii_digit())
        })
        .map(|w| {
            let page: String = w[2]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                .collect();
            (w[1].to_owned(), page.trim_end_matches('.').to_owned())
        })
        .collect()
}

/// The man pages the hints and exercises may cite, each checked against man-pages 6.03
/// (and man7.org) for its section and for the section names the text quotes from it.
/// Citing a new one: check it there, then add it here.
const CHECKED_MAN_PAGES: &[&str] = &[
    "2 chroot",
    "2 fork",
    "2 mount",
    "2 pivot_root",
    "2 sethostname",
    "2 setsid",
    "2 umount",
    "2 unshare",
    "2 waitpid",
    "3 mkfifo",
    "4 veth",
    "5 proc",
    "5 subuid",
    "5 tmpfs",
    "7 capabilities",
    "7 cgroup_namespaces",
    "7 cgroups",
    "7 fifo",
    "7 ipc_namespaces",
    "7 mount_namespaces",
    "7 namespaces",
    "7 netlink",
    "7 network_namespaces",
    "7 pid_namespaces",
    "7 rtnetlink",
    "7 time_namespaces",
    "7 user_namespaces",
    "7 uts_namespaces",
    "8 ld.so",
];

#[test]
fn every_chapters_hints_climb_from_a_question_to_the_answer() {
    let src = workspace().join("book/src");
    for c in lessons::chapters() {
        let n = c.number;
        let h = c.hints;
        assert!(
            h.len() >= 4,
            "chapter {n}: a question, where to read, the shape of the calls, then the answer"
        );
        assert!(
            h[0].contains('?'),
            "chapter {n}'s first hint asks a question that points at the concept: {}",
            h[0]
        );
        let page = std::fs::read_to_string(src.join(c.book_page)).unwrap();
        let sections = headings(&page);
        assert!(
            h[1].starts_with("Book: ")
                && quoted(h[1]).iter().any(|q| sections.iter().any(|s| s == q)),
            "chapter {n}'s second hint names, in quotes, a section of {}: {}",
            c.book_page,
            h[1]
        );
        assert!(
            !man_refs(h[1]).is_empty(),
            "chapter {n}'s second hint names a man page, as `man N page`: {}",
            h[1]
        );
        assert!(
            h[2].starts_with("The shape"),
            "chapter {n}'s third hint gives the shape of the calls: {}",
            h[2]
        );
        let (last, before) = h.split_last().unwrap();
        assert!(
            last.starts_with("The answer"),
            "chapter {n}'s last hint, and only it, is the answer: {last}"
        );
        for (i, hint) in before.iter().enumerate() {
            assert!(
                !hint.starts_with("The answer"),
                "chapter {n}: hint {} gives the answer before the last one",
                i + 1
            );
        }
    }
}

/// The exercise files a learner gets: every exercise and the shared files.
fn exercise_files() -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = lessons::workdir::SHARED
        .iter()
        .map(|(p, t)| (p.to_string(), *t))
        .collect();
    for c in lessons::chapters() {
        out.extend(c.exercises.iter().map(|e| (e.file(), e.shipped)));
    }
    out
}

#[test]
fn every_man_page_cited_is_one_checked_with_its_section() {
    let mut texts: Vec<(String, String)> = exercise_files()
        .into_iter()
        .map(|(p, t)| (p, t.to_owned()))
        .collect();
    for c in lessons::chapters() {
        for (i, h) in c.hints.iter().enumerate() {
            texts.push((
                format!("hint {} of chapter {}", i + 1, c.number),
                h.to_string(),
            ));
        }
    }
    let mut seen = 0;
    for (what, text) in texts {
        for (section, page) in man_refs(&text) {
            assert!(
                CHECKED_MAN_PAGES.contains(&format!("{section} {page}").as_str()),
                "{what}: `man {section} {page}` is not a page checked against man-pages \
                 (CHECKED_MAN_PAGES): check its section there first"
            );
            seen += 1;
        }
    }
    assert!(
        seen > 0,
        "no `man N page` found at all: the parser is broken"
    );
}

fn files_under(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "book" || n == "target") {
                continue;
            }
            out.extend(files_under(&p, exts));
        } else if p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)) {
            out.push(p);
        }
    }
    out
}

#[test]
fn nothing_a_learner_sees_speaks_of_seeds() {
    let root = workspace();
    let mut files = files_under(&root.join("book/src"), &["md", "txt", "json"]);
    files.extend(files_under(&root.join("lessons/src/chapters"), &["rs"]));
    files.extend(files_under(
        &root.join("lessons/exercises"),
        &["rs", "toml"],
    ));
    files.extend(files_under(&root.join("solutions"), &["rs", "toml"]));
    assert!(!files.is_empty());
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            let word = lower
                .split(|c: char| !c.is_ascii_alphabetic())
                .any(|w| w == "seed" || w == "seeds");
            if word {
                found.push(format!(
                    "{}:{}",
                    f.strip_prefix(&root).unwrap().display(),
                    i + 1
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "learners never hear of the project's seeds: {}",
        found.join(", ")
    );
}
