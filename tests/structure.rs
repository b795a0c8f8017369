//! The shape of the code, checked (tier 1): no module of `lessons` imports another that
//! imports it back, no chapter imports another chapter, no file carries much more than
//! 500 lines of non-test code, and every `unsafe` says why it holds (docs/architecture.md).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::workspace;

/// Every .rs file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The module path of a file of `lessons/src`: `kernel::cgroup::mode`, `kernel::cgroup`
/// (for its mod.rs), `crate` for lib.rs.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
        parts.pop();
    }
    parts
}

/// The code before the first `#[cfg(test)]`: what the program is made of.
fn non_test(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap()
}

/// The code without its comments (doc links name modules without importing them).
fn code_only(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a file names: `use crate::a::b::{c, d}`, `super::x::y`, `crate::a::b(...)`,
/// resolved to module paths (as segments), for every `crate::` and `super::` it mentions.
fn referenced(module: &[String], text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // `use` groups are flattened so `use super::{a, b::c}` names super::a and super::b::c.
    let flat = flatten_uses(text);
    for word in flat.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
        let (base, rest): (Vec<String>, &str) = if let Some(r) = word.strip_prefix("crate::") {
            (Vec::new(), r)
        } else if word.starts_with("super::") {
            // `super` is the parent of the file's module (a mod.rs names its directory's).
            let mut base = module.to_vec();
            let mut r = word;
            while let Some(x) = r.strip_prefix("super::") {
                base.pop();
                r = x;
            }
            (base, r)
        } else if let Some(r) = word.strip_prefix("self::") {
            (module.to_vec(), r)
        } else {
            continue;
        };
        let mut path = base;
        path.extend(
            rest.split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
        out.push(path);
    }
    out
}

/// `use a::{b, c::{d, e}};` → `a::b a::c::d a::c::e` (enough for finding paths).
fn flatten_uses(text: &str) -> String {
    let mut out = String::new();
    for stmt in text.split(';') {
        let s = stmt.trim();
        let body = s
            .strip_prefix("pub use ")
            .or_else(|| s.strip_prefix("pub(crate) use "))
            .or_else(|| s.strip_prefix("pub(super) use "))
            .or_else(|| s.strip_prefix("use "));
        match body {
            Some(b) => {
                for p in expand(&b.split_whitespace().collect::<String>()) {
                    out.push_str(&p);
                    out.push(' ');
                }
            }
            None => {
                out.push_str(stmt);
                out.push(' ');
            }
        }
    }
    out
}

fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.split_whitespace().collect();
    let tree = tree.as_str();
    let Some(open) = tree.find('{') else {
        return vec![tree.to_owned()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| {
            expand(p).into_iter().map(move |e| {
                if e == "self" {
                    prefix.trim_end_matches("::").to_owned()
                } else {
                    format!("{prefix}{e}")
                }
            })
        })
        .collect()
}

/// The module graph of `lessons/src`: which module's file names which other module.
fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let src = workspace().join("lessons/src");
    let files = rust_files(&src);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut g = BTreeMap::new();
    for f in &files {
        let m = module_of(&src, f);
        let text = std::fs::read_to_string(f).unwrap();
        let mut deps = BTreeSet::new();
        for path in referenced(&m, &code_only(non_test(&text))) {
            // The longest prefix of the path that is a module of the crate.
            let target = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p));
            if let Some(t) = target
                && t != m
            {
                deps.insert(t);
            }
        }
        g.insert(m, deps);
    }
    g
}

/// A module that only declares and re-exports its children is their parent, not a user
/// of them: `mod x; pub use x::Y;` is how a directory is laid out, and not an import.
fn is_child(parent: &[String], child: &[String]) -> bool {
    child.len() == parent.len() + 1 && child.starts_with(parent)
}

#[test]
fn no_module_of_lessons_imports_one_that_imports_it_back() {
    let g = graph();
    let mut cycles = Vec::new();
    for start in g.keys() {
        // Depth-first search for a path back to `start`.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((m, path)) = stack.pop() {
            for next in g.get(&m).into_iter().flatten() {
                if is_child(&m, next) {
                    continue;
                }
                if next == start {
                    cycles.push(
                        path.iter()
                            .chain([next])
                            .map(|p| format!("crate::{}", p.join("::")))
                            .collect::<Vec<_>>()
                            .join(" → "),
                    );
                } else if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    cycles.sort();
    cycles.dedup();
    assert!(
        cycles.is_empty(),
        "module cycles in lessons/src:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_cycle_finder_sees_a_cycle() {
    // A test that cannot fail is no test: the same reading on made-up files.
    let a = referenced(
        &["kernel".into(), "a".into()],
        "use super::b::{self, Thing};\nfn f() { crate::kernel::c::g(); }",
    );
    assert!(a.contains(&vec!["kernel".to_string(), "b".into()]));
    assert!(a.contains(&vec!["kernel".to_string(), "c".into(), "g".into()]));
    assert_eq!(
        expand("super::{a, b::{c, d}}"),
        vec!["super::a", "super::b::c", "super::b::d"]
    );
}

#[test]
fn no_chapter_imports_another() {
    let g = graph();
    for (m, deps) in &g {
        if m.first().is_some_and(|s| s == "chapters") && m.len() >= 2 {
            for d in deps {
                assert!(
                    !(d.first().is_some_and(|s| s == "chapters") && d.len() >= 2 && d[1] != m[1]),
                    "crate::{} imports crate::{}: what chapters share belongs in the kernel toolkit or a verify probe",
                    m.join("::"),
                    d.join("::")
                );
            }
        }
    }
}

#[test]
fn no_file_is_much_over_500_lines_of_code() {
    let root = workspace();
    let mut long = Vec::new();
    for dir in ["lessons/src", "src"] {
        for f in rust_files(&root.join(dir)) {
            let text = std::fs::read_to_string(&f).unwrap();
            let lines = non_test(&text)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .count();
            if lines > 550 {
                long.push(format!(
                    "{} ({lines} lines)",
                    f.strip_prefix(&root).unwrap().display()
                ));
            }
        }
    }
    assert!(
        long.is_empty(),
        "files to split by concern: {}",
        long.join(", ")
    );
}

#[test]
fn every_unsafe_says_why_it_holds() {
    let root = workspace();
    let mut missing = Vec::new();
    for dir in ["lessons/src", "src", "rootfs-builder/src"] {
        for f in rust_files(&root.join(dir)) {
            let text = std::fs::read_to_string(&f).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (i, l) in lines.iter().enumerate() {
                let code = l.split("//").next().unwrap();
                if !code.contains("unsafe {") && !code.contains("unsafe fn") {
                    continue;
                }
                let said = lines[i.saturating_sub(4)..=i]
                    .iter()
                    .any(|l| l.contains("SAFETY:"));
                if !said {
                    missing.push(format!(
                        "{}:{}",
                        f.strip_prefix(&root).unwrap().display(),
                        i + 1
                    ));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "unsafe without a `// SAFETY:` comment saying why it holds: {}",
        missing.join(", ")
    );
}
