//! The book never drifts from the code: every `{{#include}}` names a real file and a real
//! anchor in it, and SUMMARY.md lists exactly the chapters the tool knows.

mod common;

use common::workspace;

fn pages() -> Vec<(String, String)> {
    let dir = workspace().join("book/src");
    std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "md"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect()
}

/// Where a page's includes may come from: Rust only from the compiled crates; other
/// blocks (transcripts, JSON examples) from files kept next to the book and checked by
/// their own tests (tests/transcripts, tests/verify_json.rs).
const TEXT_SOURCES: &[&str] = &[
    "book/src/transcripts/",
    "book/src/examples/",
    "book/src/quiz/",
];

#[test]
fn every_include_resolves_to_a_compiled_file_and_anchor() {
    let src = workspace().join("book/src");
    let mut seen = 0;
    for (page, text) in pages() {
        let mut fence: Option<&str> = None;
        for line in text.lines() {
            if let Some(lang) = line.trim_start().strip_prefix("```") {
                fence = if fence.is_some() {
                    None
                } else {
                    Some(lang.trim())
                };
                continue;
            }
            for piece in line.split("{{#include ").skip(1) {
                let spec = piece.split("}}").next().unwrap().trim();
                let (file, anchor) = match spec.rsplit_once(':') {
                    Some((f, a)) if !a.chars().all(|c| c.is_ascii_digit()) => (f, Some(a)),
                    _ => (spec, None),
                };
                let path = src.join(file);
                let code = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{page} includes {file}: {e}"));
                let rel = path.canonicalize().unwrap();
                let rel = rel
                    .strip_prefix(workspace())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let compiled =
                    rel.starts_with("solutions/") || rel.starts_with("lessons/exercises/");
                if fence == Some("rust") {
                    assert!(
                        compiled,
                        "{page} includes {rel}: code comes only from solutions/ and lessons/exercises/"
                    );
                } else {
                    assert!(
                        compiled || TEXT_SOURCES.iter().any(|p| rel.starts_with(p)),
                        "{page} includes {rel}: includes come from solutions/, lessons/exercises/ or {}",
                        TEXT_SOURCES.join(", ")
                    );
                }
                if let Some(a) = anchor {
                    assert!(
                        code.contains(&format!("ANCHOR: {a}\n")),
                        "{page}: no `ANCHOR: {a}` in {rel}"
                    );
                    assert!(
                        code.contains(&format!("ANCHOR_END: {a}\n")),
                        "{page}: no `ANCHOR_END: {a}` in {rel}"
                    );
                }
                seen += 1;
            }
        }
    }
    assert!(seen > 0, "the book includes no code at all");
}

#[test]
fn summary_lists_exactly_the_chapters() {
    let summary = std::fs::read_to_string(workspace().join("book/src/SUMMARY.md")).unwrap();
    let listed: Vec<&str> = summary
        .lines()
        .filter_map(|l| {
            l.trim_start()
                .strip_prefix("- [")?
                .split("](")
                .nth(1)?
                .strip_suffix(')')
        })
        .filter(|f| f.starts_with("ch"))
        .collect();
    let known: Vec<String> = lessons::chapters()
        .iter()
        .flat_map(|c| [c.book_page.to_owned(), c.solution_page()])
        .collect();
    assert_eq!(
        listed, known,
        "SUMMARY.md and the chapter catalogue disagree (each chapter is followed by its solution page)"
    );
    for c in lessons::chapters() {
        let line = summary
            .lines()
            .find(|l| l.contains(&format!("]({})", c.book_page)))
            .unwrap();
        assert!(
            line.contains(&format!("[{}]", c.title)),
            "SUMMARY.md titles chapter {} differently: {line}",
            c.number
        );
    }
}

#[test]
fn no_code_is_pasted_into_the_book() {
    // Rust code blocks must be includes; shell transcripts (console) are fine.
    for (page, text) in pages() {
        let mut in_rust = false;
        for line in text.lines() {
            if line.starts_with("```rust") {
                in_rust = true;
            } else if line.starts_with("```") {
                in_rust = false;
            } else if in_rust {
                assert!(
                    line.starts_with("{{#include"),
                    "{page} pastes Rust code instead of including it: {line}"
                );
            }
        }
    }
}

/// The `## ... {#id}` anchors and the generated heading ids of a page, as mdBook makes them.
fn anchors(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
            continue;
        }
        if fence || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#').trim();
        if let Some((_, id)) = heading.rsplit_once("{#") {
            out.push(id.trim_end_matches('}').to_owned());
        } else {
            // mdBook's own ids: lowercase, spaces to dashes, punctuation dropped.
            let id: String = heading
                .to_lowercase()
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                    _ => None,
                })
                .collect();
            out.push(id);
        }
    }
    out
}

#[test]
fn links_between_pages_name_real_pages_and_anchors() {
    let all = pages();
    for (page, text) in &all {
        for piece in text.split("](").skip(1) {
            let target = piece.split(')').next().unwrap();
            if target.contains("://") || !target.contains(".md") {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
            let Some((_, dest)) = all.iter().find(|(p, _)| p == file) else {
                panic!("{page} links to {target}, but there is no book/src/{file}");
            };
            if !anchor.is_empty() {
                assert!(
                    anchors(dest).iter().any(|a| a == anchor),
                    "{page} links to {target}, but {file} has no heading with id `{anchor}`"
                );
            }
        }
    }
}

#[test]
fn every_page_is_in_the_summary() {
    let summary = std::fs::read_to_string(workspace().join("book/src/SUMMARY.md")).unwrap();
    for (page, _) in pages() {
        if page == "SUMMARY.md" {
            continue;
        }
        assert!(
            summary.contains(&format!("]({page})")),
            "book/src/{page} is not listed in SUMMARY.md, so the book never shows it"
        );
    }
}

#[test]
fn every_chapter_has_instructor_notes_and_leads_on() {
    let chapters = lessons::chapters();
    for (i, c) in chapters.iter().enumerate() {
        let text = std::fs::read_to_string(workspace().join("book/src").join(c.book_page)).unwrap();
        assert!(
            text.contains("<details>") && text.contains("<summary>Instructor notes</summary>"),
            "{} has no instructor notes (a `<details>` block with `<summary>Instructor notes</summary>`)",
            c.book_page
        );
        let Some((_, built)) = text.split_once("\n## What you built") else {
            panic!(
                "{} does not end with a `## What you built` section",
                c.book_page
            );
        };
        if let Some(next) = chapters.get(i + 1) {
            assert!(
                built.contains(&format!("lesson {}", next.number))
                    || built.contains(next.book_page),
                "{}'s `What you built` should lead into chapter {} (`learn-containers lesson {}` or a link to {})",
                c.book_page,
                next.number,
                next.number,
                next.book_page
            );
        }
    }
}

#[test]
fn the_instructor_guide_schedules_every_chapter() {
    let guide = std::fs::read_to_string(workspace().join("book/src/instructor-guide.md")).unwrap();
    for c in lessons::chapters() {
        let times = guide.matches(&format!("]({})", c.book_page)).count();
        assert!(
            times >= 2,
            "the instructor guide should schedule chapter {} in both the 3-hour and the full-day plan (links to {} found: {times})",
            c.number,
            c.book_page
        );
    }
}

/// The sections every chapter page has, in this order (docs/chapter-anatomy.md).
const ANATOMY: &[&str] = &[
    "## Objectives",
    "## Recap",
    "## Check yourself",
    "## Further reading",
    "## The exercise",
    "## Stretch",
    "## What you built",
];

#[test]
fn every_chapter_page_has_the_anatomy_and_no_answer() {
    let src = workspace().join("book/src");
    for c in lessons::chapters() {
        let text = std::fs::read_to_string(src.join(c.book_page)).unwrap();
        let mut at = 0;
        for heading in ANATOMY {
            let found = text[at..]
                .find(&format!("\n{heading}\n"))
                .unwrap_or_else(|| {
                    panic!(
                        "{} has no `{heading}` section (or not in the order {ANATOMY:?})",
                        c.book_page
                    )
                });
            at += found + 1;
        }
        assert!(
            !text.contains("../../solutions/"),
            "{} includes code from solutions/: the answer belongs on {}",
            c.book_page,
            c.solution_page()
        );
        let solution = std::fs::read_to_string(src.join(c.solution_page()))
            .unwrap_or_else(|e| panic!("{}: {e}", c.solution_page()));
        assert!(
            solution.starts_with("# Solution") && solution.contains("../../solutions/"),
            "{} must be titled `# Solution...` and include the reference solution",
            c.solution_page()
        );
        let quiz = format!("{{{{#include quiz/ch{:02}.md}}}}", c.number);
        assert!(
            text.contains(&quiz),
            "{}: `## Check yourself` must include {quiz}",
            c.book_page
        );
        let n = lessons::quiz::parse(c.quiz)
            .unwrap_or_else(|e| panic!("book/src/quiz/ch{:02}.md: {e}", c.number))
            .len();
        assert!(
            (3..=5).contains(&n),
            "chapter {} has {n} self-check questions; 3 to 5, please",
            c.number
        );
        let pictures: Vec<&str> = text
            .split("![")
            .skip(1)
            .filter(|p| {
                p.split_once("](images/")
                    .is_some_and(|(_, f)| f.contains(".svg)"))
            })
            .collect();
        assert!(
            !pictures.is_empty(),
            "{} has no diagram (an SVG from images/)",
            c.book_page
        );
        for p in pictures {
            let (alt, rest) = p.split_once("](").unwrap();
            let file = rest.split(')').next().unwrap();
            assert!(
                alt.split_whitespace().count() >= 8,
                "{}: the picture {file} needs alt text that says what it shows",
                c.book_page
            );
            assert!(
                src.join(file).is_file(),
                "{}: {file} does not exist",
                c.book_page
            );
        }
    }
}
