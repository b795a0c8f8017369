//! Tier 1: what the prose says about the course agrees with the chapter catalogue
//! (`lessons::chapters()`). The book (book/src/*.md), README.md, classroom/README.md and
//! `doctor` (its source and its output) must not state a number of chapters or exercises
//! the catalogue contradicts, name a chapter it does not have, list its chapters
//! otherwise, or call a topic "still to come" ("a later chapter", "planned", ...) once a
//! chapter teaches it. The scanner is tested on made-up text, so it is known to fail.

mod common;

use regex::Regex;

/// What the prose is checked against.
struct Catalogue {
    /// (number, slug), in course order.
    chapters: Vec<(u32, String)>,
    exercises: usize,
}

impl Catalogue {
    fn real() -> Catalogue {
        Catalogue {
            chapters: lessons::chapters()
                .iter()
                .map(|c| (c.number, c.slug.to_owned()))
                .collect(),
            exercises: lessons::chapters().iter().map(|c| c.exercises.len()).sum(),
        }
    }

    /// A made-up catalogue of chapters 1..=n (slugs from DESIGN.md's plan).
    fn planned(n: u32) -> Catalogue {
        const PLAN: [&str; 10] = [
            "chroot",
            "pid-namespace",
            "mount-namespace",
            "cgroups-cpu",
            "run",
            "user-namespace",
            "network",
            "ipc-cgroup-time",
            "memory-pids",
            "lifecycle",
        ];
        Catalogue {
            chapters: (1..=n).map(|k| (k, PLAN[k as usize - 1].into())).collect(),
            exercises: n as usize,
        }
    }

    fn total(&self) -> usize {
        self.chapters.len()
    }

    fn has(&self, number: u32) -> bool {
        self.chapters.iter().any(|(n, _)| *n == number)
    }
}

/// Topics a later chapter is to teach: a chapter whose slug contains one of `slug_words`
/// teaches what the phrases name.
struct Topic {
    slug_words: &'static [&'static str],
    phrases: &'static [&'static str],
}

const TOPICS: &[Topic] = &[
    Topic {
        slug_words: &["user"],
        phrases: &["user namespace", "clone_newuser"],
    },
    Topic {
        slug_words: &["net"],
        phrases: &["network namespace", "clone_newnet", "network stack", "veth"],
    },
    Topic {
        slug_words: &["ipc", "time"],
        phrases: &[
            "ipc namespace",
            "clone_newipc",
            "time namespace",
            "clone_newtime",
            "cgroup namespace",
            "clone_newcgroup",
            "ipc, cgroup and time",
        ],
    },
    Topic {
        slug_words: &["memory", "pids"],
        phrases: &[
            "--memory",
            "memory limit",
            "oom killer",
            "--pids-limit",
            "process-count",
            "fork bomb",
        ],
    },
    Topic {
        slug_words: &["lifecycle"],
        phrases: &["lifecycle", "freezer", "docker pause"],
    },
    Topic {
        slug_words: &["image", "overlay"],
        phrases: &["overlayfs", "oci image"],
    },
    Topic {
        slug_words: &["lock", "seccomp", "capabilit"],
        phrases: &["seccomp", "no_new_privs", "capabilities"],
    },
];

/// Words that say a topic is not taught yet.
const LATER: &str = r"still to come|coming later|comes? later|a later chapter|later chapters|(is|are) planned|not (yet )?covered|not covered yet|will come|to be written";

/// One contradiction: where, what the text says, and why it is wrong.
#[derive(Debug)]
struct Finding {
    place: String,
    text: String,
    why: String,
}

fn number(word: &str) -> Option<usize> {
    const WORDS: [&str; 13] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve",
    ];
    word.parse()
        .ok()
        .or_else(|| WORDS.iter().position(|w| *w == word))
}

/// The units a claim is judged in: a paragraph, a list item, a table row, a line of a
/// code block; each with its first line number and its text on one line, lowercase.
fn units(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut fenced = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        let starts_item = t.starts_with('|')
            || t.starts_with("- ")
            || t.starts_with("* ")
            || t.split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if t.starts_with("```") {
            fenced = !fenced;
        }
        if t.is_empty() || starts_item || fenced || t.starts_with('#') || t.starts_with("```") {
            out.extend(current.take());
        }
        if t.is_empty() || t.starts_with("```") {
            continue;
        }
        let unit = current.get_or_insert_with(|| (i + 1, String::new()));
        unit.1.push(' ');
        unit.1.push_str(&t.to_lowercase());
        if fenced || t.starts_with('|') || t.starts_with('#') {
            out.extend(current.take());
        }
    }
    out.extend(current);
    out
}

/// Everything in `text` (from `file`) that the catalogue contradicts.
fn scan(file: &str, text: &str, cat: &Catalogue) -> Vec<Finding> {
    let count = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)";
    // Claims about the whole course: each names a count of chapters or exercises.
    let claims: Vec<Regex> = [
        format!(r"\ball (the )?{count} (chapters|exercises)\b"),
        format!(r"\b{count} chapters can run\b"),
        format!(r"\bof {count} chapters\b"),
        format!(
            r"\b(workshop's|course's|book's|the course has|the workshop has|the book has|the same) {count} (chapters|exercises|tests)\b"
        ),
        format!(r"\bthe {count} exercises\b"),
    ]
    .iter()
    .map(|r| Regex::new(r).unwrap())
    .collect();
    let range = Regex::new(r"\bchapters (\d+) ?(?:–|-|to|through) ?(\d+)\b").unwrap();
    let single = Regex::new(r"\bchapters? (\d+)\b").unwrap();
    let later = Regex::new(LATER).unwrap();
    let mut found = Vec::new();
    for (line, unit) in units(text) {
        let place = format!("{file}:{line}");
        let mut say = |why: String| {
            found.push(Finding {
                place: place.clone(),
                text: unit.trim().chars().take(160).collect(),
                why,
            })
        };
        // One finding per claim, however many patterns it matches.
        let mut claimed: Vec<std::ops::Range<usize>> = Vec::new();
        for re in &claims {
            for m in re.captures_iter(&unit) {
                let span = m.get(0).unwrap().range();
                if claimed
                    .iter()
                    .any(|c| c.start < span.end && span.start < c.end)
                {
                    continue;
                }
                claimed.push(span);
                let n = m.iter().skip(1).flatten().find_map(|g| number(g.as_str()));
                let noun = if m[0].contains("chapter") {
                    "chapters"
                } else {
                    "exercises"
                };
                let real = if noun == "chapters" {
                    cat.total()
                } else {
                    cat.exercises
                };
                if let Some(n) = n
                    && n != real
                {
                    say(format!(
                        "{:?} says {n} {noun}; the catalogue has {real}",
                        &m[0]
                    ));
                }
            }
        }
        let future = later.is_match(&unit);
        for m in range.captures_iter(&unit) {
            let hi: u32 = m[2].parse().unwrap();
            if !cat.has(hi) && !future {
                say(format!(
                    "{:?}: there is no chapter {hi}; the catalogue has {}",
                    &m[0],
                    cat.total()
                ));
            }
        }
        for m in single.captures_iter(&unit) {
            let n: u32 = m[1].parse().unwrap();
            if !cat.has(n) && !future {
                say(format!(
                    "{:?}: there is no chapter {n}; the catalogue has {}",
                    &m[0],
                    cat.total()
                ));
            }
        }
        if future {
            for topic in TOPICS {
                let taught = cat
                    .chapters
                    .iter()
                    .find(|(_, slug)| topic.slug_words.iter().any(|w| slug.contains(w)));
                let named = topic.phrases.iter().find(|p| unit.contains(*p));
                if let (Some((n, slug)), Some(phrase)) = (taught, named) {
                    say(format!(
                        "calls {phrase:?} {:?}, but chapter {n} ({slug}) teaches it",
                        later.find(&unit).map_or("", |m| m.as_str())
                    ));
                }
            }
        }
    }
    found
}

/// A Markdown chapter table (`| N | `slug` | ... |`) must list the catalogue, in order.
fn chapter_table(file: &str, text: &str, cat: &Catalogue) -> Vec<Finding> {
    let row = Regex::new(r"^\|\s*(\d+)\s*\|\s*`([a-z0-9-]+)`\s*\|").unwrap();
    let rows: Vec<(u32, String)> = text
        .lines()
        .filter_map(|l| row.captures(l))
        .map(|c| (c[1].parse().unwrap(), c[2].to_owned()))
        .collect();
    if rows.is_empty() || rows == cat.chapters {
        return Vec::new();
    }
    vec![Finding {
        place: file.to_owned(),
        text: format!("{rows:?}"),
        why: format!(
            "its chapter table lists {} chapters, not the catalogue's {:?}",
            rows.len(),
            cat.chapters
        ),
    }]
}

/// The texts checked, by their path in the clone.
fn texts() -> Vec<(String, String)> {
    let root = common::workspace();
    let mut files: Vec<String> = std::fs::read_dir(root.join("book/src"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("book/src/{n}"))
        .collect();
    files.sort();
    files.extend(
        [
            "README.md",
            "classroom/README.md",
            "lessons/src/doctor.rs",
            "src/commands/doctor.rs",
        ]
        .map(String::from),
    );
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(root.join(&f)).unwrap();
            (f, text)
        })
        .collect()
}

fn report(found: &[Finding]) -> String {
    found
        .iter()
        .map(|f| format!("{}: {}\n    {}", f.place, f.why, f.text))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_prose_agrees_with_the_catalogue() {
    let cat = Catalogue::real();
    let mut found = Vec::new();
    for (file, text) in texts() {
        found.extend(scan(&file, &text, &cat));
        if file.ends_with(".md") {
            found.extend(chapter_table(&file, &text, &cat));
        }
    }
    assert!(
        found.is_empty(),
        "the text contradicts the chapter catalogue (lessons::chapters()):\n{}",
        report(&found)
    );
}

#[test]
fn doctor_counts_the_catalogues_chapters() {
    let state = common::state_dir();
    let out = common::cli(&["doctor"], state.path());
    let said = common::text(&out);
    let total = lessons::chapters().len();
    let last =
        Regex::new(r"(All (\d+) chapters can run here|(\d+) of (\d+) chapters can run here)")
            .unwrap();
    let m = last
        .captures(&said)
        .unwrap_or_else(|| panic!("doctor ends with how many chapters can run: {said}"));
    let n: usize = m.get(2).or(m.get(4)).unwrap().as_str().parse().unwrap();
    assert_eq!(n, total, "{said}");
    let found = scan("doctor's output", &said, &Catalogue::real());
    assert!(found.is_empty(), "{}", report(&found));
}

// The scanner itself, on made-up text: each kind of contradiction is found, and what
// agrees passes.

#[test]
fn a_wrong_count_is_found() {
    let cat = Catalogue::planned(5);
    let wrong = "Intro.\n\nAll 4 chapters can run here.\n\nThe workshop's six exercises.\n";
    let found = scan("made-up.md", wrong, &cat);
    assert_eq!(found.len(), 2, "{}", report(&found));
    assert!(found[0].place == "made-up.md:3" && found[0].why.contains("4 chapters"));
    assert!(found[1].why.contains("6 exercises"), "{}", report(&found));
    let right = "All 5 chapters can run here.\n\nThe workshop's five exercises; the four chapters before it.\n";
    assert!(scan("made-up.md", right, &cat).is_empty());
    // A claim broken over two lines of a paragraph is still one claim.
    assert_eq!(
        scan("made-up.md", "Then: All 7\nchapters can run here.\n", &cat).len(),
        1
    );
}

#[test]
fn a_chapter_that_does_not_exist_is_found_unless_announced_as_future() {
    let cat = Catalogue::planned(5);
    let found = scan(
        "made-up.md",
        "See chapters 1–10.\n\nAs chapter 7 shows.\n",
        &cat,
    );
    assert_eq!(found.len(), 2, "{}", report(&found));
    assert!(
        scan(
            "made-up.md",
            "Chapters 1 to 4 built it. Chapter 7 is still to come.\n",
            &cat
        )
        .is_empty()
    );
}

#[test]
fn a_topic_called_later_is_found_once_a_chapter_teaches_it() {
    let text = "| user | `CLONE_NEWUSER` | a later chapter |\n\nLater chapters are planned: a network stack (network namespace and a veth pair).\n";
    assert!(scan("made-up.md", text, &Catalogue::planned(5)).is_empty());
    let found = scan("made-up.md", text, &Catalogue::planned(6));
    assert_eq!(found.len(), 1, "{}", report(&found));
    assert!(
        found[0].why.contains("user-namespace"),
        "{}",
        report(&found)
    );
    assert_eq!(scan("made-up.md", text, &Catalogue::planned(7)).len(), 2);
}

#[test]
fn the_book_as_it_is_would_be_caught_by_a_sixth_chapter() {
    // The real text, against a catalogue with chapter 6 (the user namespace): the pages
    // that still call it a later chapter are named.
    let found: Vec<Finding> = texts()
        .into_iter()
        .flat_map(|(f, t)| scan(&f, &t, &Catalogue::planned(6)))
        .collect();
    if lessons::chapters().len() == 5 {
        assert!(
            found.iter().any(|f| f.why.contains("user-namespace")),
            "{}",
            report(&found)
        );
    }
}

#[test]
fn a_chapter_table_that_differs_is_found() {
    let cat = Catalogue::planned(2);
    let table = "| # | slug |\n|---|---|\n| 1 | `chroot` | x |\n| 2 | `pid-namespace` | y |\n";
    assert!(chapter_table("t.md", table, &cat).is_empty());
    let more = format!("{table}| 3 | `mount-namespace` | z |\n");
    assert_eq!(chapter_table("t.md", &more, &cat).len(), 1);
}
