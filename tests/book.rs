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

#[test]
fn every_include_resolves_to_a_compiled_file_and_anchor() {
    let src = workspace().join("book/src");
    let mut seen = 0;
    for (page, text) in pages() {
        for piece in text.split("{{#include ").skip(1) {
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
            assert!(
                rel.starts_with("solutions/") || rel.starts_with("exercises/"),
                "{page} includes {rel}: code comes only from solutions/ and exercises/"
            );
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
    let known: Vec<&str> = lessons::chapters().iter().map(|c| c.book_page).collect();
    assert_eq!(
        listed, known,
        "SUMMARY.md and the chapter catalogue disagree"
    );
    for c in lessons::chapters() {
        let line = summary.lines().find(|l| l.contains(c.book_page)).unwrap();
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
