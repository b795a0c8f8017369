//! Normalising a lesson's output so that two runs, on two machines of the same kind, give
//! the same text: the transcripts the book shows are stored normalised and compared
//! normalised.
//!
//! What varies, and what replaces it:
//!
//! | what                                  | example                                  | becomes                           |
//! |---------------------------------------|------------------------------------------|-----------------------------------|
//! | scratch dirs (mkdtemp)                | `/tmp/learn-containers-kUMuz8`           | `/tmp/learn-containers-XXXXXX`    |
//! | PIDs the run allocated on the host    | `kill -9 31839`, `/proc/31838/status`    | `kill -9 <pid:2>`                 |
//! | names made from a PID                 | `learn-containers/demo-578`              | `learn-containers/demo-<pid:1>`   |
//! | namespace inodes; the host's own      | `pid:[4026532177]`; `pid:[4026531836]`   | `pid:[<ino:1>]`; `pid:[<host>]`   |
//! | mountinfo IDs, devices, peer groups   | `63 45 0:39 / /proc ... shared:1`        | `<mnt:1> <mnt:2> <dev:1> / ...`   |
//! | library load addresses                | `(0x00007f093f42d000)`                   | `(0x<addr>)`                      |
//! | the host's name, kernel, PID 1, `/`   | `vm`, `6.18.44-...`, `systemd`           | `<hostname>`, `<kernel>`, ...     |
//! | counts of the host's processes (≥ 10) | `lists 83 processes`                     | `lists <n> processes`             |
//! | counts of the host's mounts           | `20 mounts at first`, `9 lines`          | `<n> mounts at first`             |
//! | measurements on `kernel:`/meter lines | `1.78 s`, `0.52 of one CPU`, `50%`       | `<t> s`, `<x> of one CPU`, `<n>%` |
//! | cpu.stat counters                     | `nr_throttled 20`                        | `nr_throttled <n>`                |
//! | memory and pids counters of a bomb    | `pids.current: 14`, `pids.events: max 26`| `pids.current: <n>`               |
//! | meter bars (and their padding)        | `██████████░░░░░░░░░░`                   | `▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒`            |
//! | notes printed only on a busy machine  | `Less than 1.5: ... (load average 1.44)` | left out                          |
//!
//! Renamed values keep their identity: the same PID always gets the same placeholder,
//! numbered in order of first appearance, so "kill -9 the tail listed above" still reads
//! true. Inodes, mount IDs and devices keep theirs within a lesson step (the kernel reuses
//! freed numbers across steps). The host's own namespaces read `<host>`, so "the same
//! namespace as the host" stays visible.
//!
//! What is deliberately kept: PIDs inside new PID namespaces (1, 2, 3: small and fixed),
//! settings the lesson chose (`50000 100000`, `0.5 CPU`, `period 100 ms`), and everything
//! in explanatory prose except PIDs. Library paths and cgroup file lists depend on the
//! distribution and the kernel; the transcripts are recorded on one reference platform
//! (see `PLATFORM` next to them) and compared only there.
//!
//! No regex crate: every rule is a small scanner over one line, which keeps each rule's
//! exact reach visible here.

use std::collections::{BTreeSet, HashMap};

/// What identifies the machine a transcript was taken on, read from the machine itself.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    pub hostname: String,
    pub kernel_release: String,
    /// `comm` of the host's PID 1 (systemd, init, ...).
    pub init_comm: String,
    /// The names in the host's `/`, hidden ones excluded.
    pub root_entries: BTreeSet<String>,
    /// `std::env::temp_dir()`, e.g. `/tmp`.
    pub temp_dir: String,
    /// Inode numbers of the namespaces the host's processes are in (`/proc/self/ns/*`
    /// of the process that normalises, which runs where the CLI was started).
    pub host_namespaces: BTreeSet<String>,
    /// PIDs at or above this, in a PID context, were allocated on the host during the
    /// run: the CLI's own PID, capped at 100. PIDs in a fresh PID namespace (1, 2, 3)
    /// stay below it; inside a container whose own PIDs are small, the cap follows them.
    pub pid_floor: u64,
}

impl HostFacts {
    /// Reads this machine's facts; `cli_pid` is the PID of the CLI whose output is normalised.
    pub fn read(cli_pid: u32) -> HostFacts {
        let read = |p: &str| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        let root_entries = std::fs::read_dir("/")
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        let host_namespaces = std::fs::read_dir("/proc/self/ns")
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| std::fs::read_link(e.path()).ok())
                    .filter_map(|l| {
                        let l = l.to_string_lossy().into_owned();
                        Some(l.split_once(":[")?.1.strip_suffix(']')?.to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        HostFacts {
            host_namespaces,
            hostname: read("/proc/sys/kernel/hostname"),
            kernel_release: read("/proc/sys/kernel/osrelease"),
            init_comm: read("/proc/1/comm"),
            root_entries,
            temp_dir: std::env::temp_dir()
                .to_string_lossy()
                .trim_end_matches('/')
                .to_owned(),
            pid_floor: u64::from(cli_pid).min(100),
        }
    }
}

/// Normalises a whole transcript (stdout of `learn-containers lesson N --yes`, piped).
pub fn normalise(text: &str, host: &HostFacts) -> String {
    let mut n = Normaliser {
        host,
        suffixes: scratch_suffixes(text, &host.temp_dir),
        names: HashMap::new(),
        counters: HashMap::new(),
    };
    let mut out = String::new();
    let mut skipping = false;
    for raw in text.lines() {
        // A redrawn line (a live meter) keeps only what was drawn last.
        let line = raw.rsplit('\r').next().unwrap_or("").trim_end();
        if CONDITIONAL_NOTES
            .iter()
            .any(|n| line.trim_start().starts_with(n))
        {
            skipping = true;
        }
        if skipping {
            // The note ends with its paragraph (and takes the blank line after it along).
            skipping = !line.is_empty();
            continue;
        }
        out.push_str(&n.line(line));
        out.push('\n');
    }
    // One trailing newline, however the output ended.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// The first line where two texts differ, for failure messages: (line number, a, b).
pub fn first_difference<'a>(a: &'a str, b: &'a str) -> Option<(usize, &'a str, &'a str)> {
    let (mut la, mut lb) = (a.lines(), b.lines());
    let mut i = 0;
    loop {
        i += 1;
        match (la.next(), lb.next()) {
            (None, None) => return None,
            (x, y) if x == y => continue,
            (x, y) => {
                return Some((
                    i,
                    x.unwrap_or("<end of text>"),
                    y.unwrap_or("<end of text>"),
                ));
            }
        }
    }
}

/// The random part of every scratch dir in the text: `/tmp/learn-containers-kUMuz8` → `kUMuz8`.
fn scratch_suffixes(text: &str, temp_dir: &str) -> BTreeSet<String> {
    let prefix = format!("{temp_dir}/learn-containers-");
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices(&prefix) {
        let rest = &text[i + prefix.len()..];
        let run: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        // tempfile's random part is six characters.
        if run.len() == 6 {
            out.insert(run);
        }
    }
    out
}

enum Rep {
    Fixed(String),
    /// Spaces up to this column (at least one): a meter's bar keeps its column however
    /// long the normalised label before it became.
    PadTo(usize),
    /// A value renamed consistently: kind and the original text.
    Rename(&'static str, String),
}

struct Span {
    start: usize,
    end: usize,
    rep: Rep,
}

struct Normaliser<'h> {
    host: &'h HostFacts,
    suffixes: BTreeSet<String>,
    names: HashMap<(&'static str, String), usize>,
    counters: HashMap<&'static str, usize>,
}

/// Notes a lesson prints only when the machine is busy: their paragraph is left out.
const CONDITIONAL_NOTES: &[&str] = &[
    // chapter 4, step 5, when the burners got less than 1.5 CPUs together.
    "Less than 1.5: ",
];

/// Words after which a number counts something of the host's (mounts, mountinfo lines).
const HOST_COUNT_WORDS: &[&str] = &["mounts", "lines", "after"];

/// Counters of the memory and pids controllers as lessons print them (`pids.current: 14`,
/// `at most 17 seen`, `pids.events: max 26`): how far a fork bomb got varies by the run.
const COUNTER_KEYS: &[&str] = &["pids.current", "at most", "pids.events: max"];

/// cpu.stat keys (v1 and v2): their values are counters and times of this run.
const CPU_STAT_KEYS: &[&str] = &[
    "nr_periods",
    "nr_throttled",
    "throttled_time",
    "throttled_usec",
    "nr_bursts",
    "burst_time",
    "burst_usec",
    "usage_usec",
    "user_usec",
    "system_usec",
    "core_sched.force_idle_usec",
    "wait_sum",
];

/// Words after which a number is a PID (lowercase; trailing `:`, `=`, `(` and `#` ignored).
const PID_WORDS: &[&str] = &[
    "pid",
    "pids",
    "getpid()",
    "getppid()",
    "nspid",
    "ppid",
    "tgid",
    "kill",
    "waitpid",
    "--target",
    "process",
    "burner",
    "burners",
    "child",
    "cgroup.procs",
];

/// Units after which a decimal number is a measurement of this run.
const UNITS: &[&str] = &[
    "s", "ms", "us", "µs", "ns", "MB", "kB", "KB", "MiB", "KiB", "GB",
];

/// Characters a meter bar is drawn with.
fn is_bar(c: char) -> bool {
    matches!(c, '█' | '░' | '▏' | '▎' | '▍' | '▌' | '▋' | '▊' | '▉' | '▒')
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Occurrences of `word` in `line` not inside a longer word (`-` and `.` count as word
/// characters here, so a hostname `vm` does not match inside `vm-1` or `vm.img`).
fn bounded(line: &str, word: &str) -> Vec<(usize, usize)> {
    if word.is_empty() {
        return Vec::new();
    }
    let inside = |c: char| is_word(c) || c == '-';
    line.match_indices(word)
        .filter(|(i, _)| {
            let before = line[..*i].chars().next_back();
            let after = line[i + word.len()..].chars().next();
            !before.is_some_and(|c| inside(c) || c == '.')
                && !after.is_some_and(|c| {
                    inside(c) || (c == '.' && line[i + word.len() + 1..].starts_with(is_word))
                })
        })
        .map(|(i, w)| (i, i + w.len()))
        .collect()
}

impl Normaliser<'_> {
    fn line(&mut self, line: &str) -> String {
        // Namespace inodes, mount IDs, anonymous device numbers and peer groups are
        // allocated lowest-free-first, so a number freed in one step comes back in the
        // next: their identity only means something within a step, or within one shell
        // command's run when a step shows several (the namespaces of the first may be
        // freed, or not yet, when the second makes its own). PIDs are allocated
        // cyclically and keep theirs for the whole transcript.
        if (line.starts_with("Step ") && line.contains(" of "))
            || line.trim_start().starts_with("$ ")
        {
            for kind in ["ino", "mnt", "dev", "peer"] {
                self.counters.remove(kind);
                self.names.retain(|(k, _), _| *k != kind);
            }
        }
        let mut spans = Vec::new();
        self.scratch(line, &mut spans);
        self.hex(line, &mut spans);
        self.identity(line, &mut spans);
        self.mountinfo(line, &mut spans);
        self.inodes(line, &mut spans);
        self.cgroup_names(line, &mut spans);
        self.bars(line, &mut spans);
        self.numbers(line, &mut spans);

        // Earlier rules win where spans overlap.
        let mut accepted: Vec<Span> = Vec::new();
        for s in spans {
            if accepted
                .iter()
                .all(|a| s.end <= a.start || s.start >= a.end)
            {
                accepted.push(s);
            }
        }
        accepted.sort_by_key(|s| s.start);
        let mut out = String::new();
        let mut at = 0;
        for s in accepted {
            out.push_str(&line[at..s.start]);
            let text = match s.rep {
                Rep::Fixed(t) => t,
                Rep::Rename(kind, value) => self.rename(kind, value),
                Rep::PadTo(col) => " ".repeat(col.saturating_sub(out.chars().count()).max(1)),
            };
            out.push_str(&text);
            at = s.end;
        }
        out.push_str(&line[at..]);
        out
    }

    fn rename(&mut self, kind: &'static str, value: String) -> String {
        let k = match self.names.get(&(kind, value.clone())) {
            Some(k) => *k,
            None => {
                let c = self.counters.entry(kind).or_insert(0);
                *c += 1;
                self.names.insert((kind, value), *c);
                *c
            }
        };
        format!("<{kind}:{k}>")
    }

    /// `/tmp/learn-containers-kUMuz8` → `/tmp/learn-containers-XXXXXX`, and the same random
    /// part wherever else it appears (names derived from the scratch dir).
    fn scratch(&self, line: &str, spans: &mut Vec<Span>) {
        for s in &self.suffixes {
            let alnum = |c: char| c.is_ascii_alphanumeric();
            let found = line.match_indices(s.as_str()).filter(|(i, _)| {
                !line[..*i].ends_with(alnum) && !line[i + s.len()..].starts_with(alnum)
            });
            for (a, b) in found.map(|(i, m)| (i, i + m.len())) {
                spans.push(Span {
                    start: a,
                    end: b,
                    rep: Rep::Fixed("XXXXXX".into()),
                });
            }
        }
    }

    /// Load addresses: `0x00007f093f42d000` (ten or more hex digits; 32-bit magic numbers
    /// such as `0x63677270` are kept).
    fn hex(&self, line: &str, spans: &mut Vec<Span>) {
        for (i, _) in line.match_indices("0x") {
            if line[..i].chars().next_back().is_some_and(is_word) {
                continue;
            }
            let digits = line[i + 2..]
                .chars()
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            if digits >= 10 {
                spans.push(Span {
                    start: i + 2,
                    end: i + 2 + digits,
                    rep: Rep::Fixed("<addr>".into()),
                });
            }
        }
    }

    /// The host's own name, kernel release, PID 1 and `/` listing.
    fn identity(&self, line: &str, spans: &mut Vec<Span>) {
        let h = self.host;
        let mut fixed = |a, b, t: &str| {
            spans.push(Span {
                start: a,
                end: b,
                rep: Rep::Fixed(t.into()),
            })
        };
        if !h.kernel_release.is_empty() {
            for (a, b) in bounded(line, &h.kernel_release) {
                fixed(a, b, "<kernel>");
            }
            let version: String = h
                .kernel_release
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            if version.matches('.').count() >= 1 && version.len() >= 3 {
                for (a, b) in bounded(line, version.trim_end_matches('.')) {
                    fixed(a, b, "<kernel>");
                }
            }
        }
        for (a, b) in bounded(line, &h.hostname) {
            fixed(a, b, "<hostname>");
        }
        // The host's PID 1, where a lesson names it: "PID 1 is: systemd", "/proc/1 is init".
        if h.init_comm.len() >= 2 {
            for (a, b) in bounded(line, &h.init_comm) {
                let before = line[..a].trim_end_matches([' ', ':']);
                if before.ends_with("1 is") {
                    fixed(a, b, "<host's PID 1>");
                }
            }
        }
        // A listing of the host's `/`: a run of names that are exactly its entries.
        if h.root_entries.len() >= 3 {
            let mut run: Vec<(usize, usize)> = Vec::new();
            let flush = |run: &mut Vec<(usize, usize)>, spans: &mut Vec<Span>| {
                let names: BTreeSet<String> =
                    run.iter().map(|(a, b)| line[*a..*b].to_owned()).collect();
                if !run.is_empty() && names == h.root_entries {
                    spans.push(Span {
                        start: run[0].0,
                        end: run[run.len() - 1].1,
                        rep: Rep::Fixed("<the host's / entries>".into()),
                    });
                }
                run.clear();
            };
            for (a, word) in words(line) {
                if h.root_entries.contains(word) {
                    run.push((a, a + word.len()));
                } else {
                    flush(&mut run, spans);
                }
            }
            flush(&mut run, spans);
        }
    }

    /// mountinfo fields: `63 45 0:39 / /proc ...` (mount ID, parent ID, device) and the
    /// propagation peer groups `shared:N`, `master:N`, `propagate_from:N`.
    fn mountinfo(&self, line: &str, spans: &mut Vec<Span>) {
        // A line quoted in backticks or parentheses still starts with the mount ID.
        let w: Vec<(usize, &str)> = words(line)
            .into_iter()
            .map(|(a, t)| {
                let u = t.trim_start_matches(['`', '(']);
                (a + t.len() - u.len(), u)
            })
            .collect();
        for i in 0..w.len().saturating_sub(3) {
            let (a0, t0) = w[i];
            let (a1, t1) = w[i + 1];
            let (a2, t2) = w[i + 2];
            let (_, t3) = w[i + 3];
            let num = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            let dev = t2.split_once(':').is_some_and(|(x, y)| num(x) && num(y));
            if num(t0) && num(t1) && dev && t3.starts_with('/') {
                spans.push(Span {
                    start: a0,
                    end: a0 + t0.len(),
                    rep: Rep::Rename("mnt", t0.into()),
                });
                spans.push(Span {
                    start: a1,
                    end: a1 + t1.len(),
                    rep: Rep::Rename("mnt", t1.into()),
                });
                spans.push(Span {
                    start: a2,
                    end: a2 + t2.len(),
                    rep: Rep::Rename("dev", t2.into()),
                });
            }
        }
        for key in ["shared:", "master:", "propagate_from:"] {
            for (i, _) in line.match_indices(key) {
                if line[..i].chars().next_back().is_some_and(is_word) {
                    continue;
                }
                let s = i + key.len();
                let d = line[s..].bytes().take_while(u8::is_ascii_digit).count();
                if d > 0 {
                    spans.push(Span {
                        start: s,
                        end: s + d,
                        rep: Rep::Rename("peer", line[s..s + d].into()),
                    });
                }
            }
        }
    }

    /// Namespace inodes as /proc/PID/ns/* links show them: `pid:[4026532177]`.
    fn inodes(&self, line: &str, spans: &mut Vec<Span>) {
        for (i, _) in line.match_indices(":[") {
            let kind_ok = line[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
            let s = i + 2;
            let d = line[s..].bytes().take_while(u8::is_ascii_digit).count();
            if kind_ok && d > 0 && line[s + d..].starts_with(']') {
                let ino = &line[s..s + d];
                spans.push(Span {
                    start: s,
                    end: s + d,
                    rep: if self.host.host_namespaces.contains(ino) {
                        Rep::Fixed("<host>".into())
                    } else {
                        Rep::Rename("ino", ino.into())
                    },
                });
            }
        }
    }

    /// Cgroups and containers the tool names after a PID: `learn-containers/demo-578`,
    /// `learn-containers-11292`.
    fn cgroup_names(&self, line: &str, spans: &mut Vec<Span>) {
        for (i, m) in line.match_indices("learn-containers-") {
            let start = i + m.len();
            let d = line[start..].bytes().take_while(u8::is_ascii_digit).count();
            if d > 0 && !line[start + d..].starts_with(|c: char| c.is_ascii_alphanumeric()) {
                spans.push(Span {
                    start,
                    end: start + d,
                    rep: Rep::Rename("pid", line[start..start + d].into()),
                });
            }
        }
        for (i, m) in line.match_indices("learn-containers/") {
            let start = i + m.len();
            let path_len = line[start..]
                .find(|c: char| c.is_whitespace() || "`'\"()[],;".contains(c))
                .unwrap_or(line.len() - start);
            let mut at = start;
            for comp in line[start..start + path_len].split('/') {
                if let Some((name, digits)) = comp.rsplit_once('-')
                    && !name.is_empty()
                    && !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                {
                    let s = at + name.len() + 1;
                    spans.push(Span {
                        start: s,
                        end: s + digits.len(),
                        rep: Rep::Rename("pid", digits.into()),
                    });
                }
                at += comp.len() + 1;
            }
        }
    }

    /// Meter bars: their split between full and empty is a measurement.
    fn bars(&self, line: &str, spans: &mut Vec<Span>) {
        // The padding before the first bar: it aligns the bars of successive meter lines.
        if let Some(first) = line.find(is_bar) {
            let pad = line[..first].trim_end_matches(' ').len();
            if pad < first && pad > 0 {
                spans.push(Span {
                    start: pad,
                    end: first,
                    rep: Rep::PadTo(line[..first].chars().count()),
                });
            }
        }
        let mut start = None;
        let mut count = 0;
        let mut close = |start: &mut Option<usize>, end: usize, count: &mut usize| {
            if let Some(s) = start.take() {
                spans.push(Span {
                    start: s,
                    end,
                    rep: Rep::Fixed("▒".repeat(*count)),
                });
            }
            *count = 0;
        };
        for (i, c) in line.char_indices() {
            if is_bar(c) {
                start.get_or_insert(i);
                count += 1;
            } else {
                close(&mut start, i, &mut count);
            }
        }
        close(&mut start, line.len(), &mut count);
    }

    /// Every free-standing number, judged by its context.
    fn numbers(&self, line: &str, spans: &mut Vec<Span>) {
        let observation = line.trim_start().starts_with("kernel:") || line.chars().any(is_bar);
        let mut last_pid_end: Option<usize> = None;
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if !bytes[i].is_ascii_digit() {
                i += 1;
                continue;
            }
            let start = i;
            let prev = line[..start].chars().next_back();
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let mut decimal = false;
            if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                decimal = true;
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let end = i;
            let next = line[end..].chars().next();
            // Part of a word (x86_64, lib64, ch04), a version (so.6), or a flag or negative
            // value (-9, -1): not a free-standing number.
            if prev.is_some_and(|c| is_word(c) || c == '.' || c == '-')
                || next.is_some_and(|c| is_word(c) || (c == '.' && decimal))
            {
                continue;
            }
            let text = &line[start..end];
            let before = &line[..start];
            let after = &line[end..];
            let fixed = |t: &str| Span {
                start,
                end,
                rep: Rep::Fixed(t.into()),
            };
            let stripped = before
                .trim_end_matches([' ', '\t', ':', '=', '(', '#'])
                .to_lowercase();

            if COUNTER_KEYS.iter().any(|k| stripped.ends_with(k)) {
                spans.push(fixed("<n>"));
                continue;
            }
            // cpu.stat counters, wherever they appear.
            if CPU_STAT_KEYS.iter().any(|k| {
                stripped.ends_with(k)
                    && !stripped[..stripped.len() - k.len()]
                        .ends_with(|c: char| is_word(c) || c == '.')
            }) {
                spans.push(fixed("<n>"));
                continue;
            }

            if !decimal && self.pid_context(before, &stripped, after, last_pid_end) {
                last_pid_end = Some(end);
                let value: u64 = text.parse().unwrap_or(0);
                if value >= self.host.pid_floor {
                    spans.push(Span {
                        start,
                        end,
                        rep: Rep::Rename("pid", text.into()),
                    });
                }
                continue;
            }
            if !decimal && (stripped.ends_with("inode") || stripped.ends_with(" ino")) {
                spans.push(Span {
                    start,
                    end,
                    rep: Rep::Rename("ino", text.into()),
                });
                continue;
            }
            // How many processes the host has: varies; a fresh namespace's few do not.
            let clause = before
                .rsplit(['·', ';', ',', '('])
                .next()
                .unwrap_or("")
                .to_lowercase();
            if !decimal
                && text.parse::<u64>().unwrap_or(0) >= 10
                && (after.trim_start().starts_with("process") || clause.contains("process"))
            {
                spans.push(fixed("<n>"));
                continue;
            }
            // How many mounts the host has (the namespace's copy starts with as many).
            if !decimal
                && line.contains("mount")
                && HOST_COUNT_WORDS
                    .iter()
                    .any(|w| after.strip_prefix(' ').is_some_and(|a| a.starts_with(w)))
            {
                spans.push(fixed("<n>"));
                continue;
            }
            if stripped.ends_with("machine has") || stripped.ends_with("load average") {
                spans.push(fixed("<n>"));
                continue;
            }
            if !observation {
                continue;
            }
            // Measurements: only on lines that report what the kernel did.
            if next == Some('%') {
                // Right-aligned percentages after a bar: normalise the padding too.
                let pad_start = before.trim_end_matches(' ').len();
                if before[..pad_start].ends_with(is_bar) {
                    spans.push(Span {
                        start: pad_start,
                        end,
                        rep: Rep::Fixed("  <n>".into()),
                    });
                } else {
                    spans.push(fixed("<n>"));
                }
                continue;
            }
            if !decimal && after.starts_with(" times") {
                spans.push(fixed("<n>"));
                continue;
            }
            if decimal {
                let unit = after.trim_start_matches(' ');
                let has_unit = UNITS
                    .iter()
                    .any(|u| unit.starts_with(u) && !unit[u.len()..].starts_with(is_word));
                if has_unit {
                    spans.push(fixed("<t>"));
                    continue;
                }
                if after.starts_with(" of one CPU")
                    || after.starts_with(" CPUs together")
                    || stripped.ends_with("share")
                {
                    spans.push(fixed("<x>"));
                    continue;
                }
            }
        }
    }

    fn pid_context(
        &self,
        before: &str,
        stripped: &str,
        after: &str,
        last_pid_end: Option<usize>,
    ) -> bool {
        if before.ends_with("/proc/") {
            return true;
        }
        // NSpid: 31842 1, "burners 581 and 888": a number right after a PID is one too.
        if let Some(e) = last_pid_end {
            let gap = before[e..].trim();
            if gap.is_empty() || gap == "," || gap == "and" {
                return true;
            }
        }
        // Skip signal flags: kill -9 N, kill -KILL N.
        let mut toks: Vec<&str> = stripped.split_whitespace().collect();
        while toks.last().is_some_and(|t| {
            t.len() > 1
                && t.starts_with('-')
                && !t.starts_with("--")
                && t[1..].bytes().all(|b| b.is_ascii_alphanumeric())
        }) {
            toks.pop();
        }
        let Some(last) = toks.last() else {
            return false;
        };
        let last = last.trim_start_matches(['(', '`', '$', '\'', '"']);
        if PID_WORDS
            .iter()
            .any(|w| last == *w || last.ends_with(&format!("/{w}")))
            || last.ends_with("pid")
            || last.ends_with("pids")
        {
            return true;
        }
        // echo N > .../cgroup.procs
        last == "echo"
            && after.trim_start().starts_with('>')
            && (after.contains("cgroup.procs") || after.contains("/tasks"))
    }
}

/// Whitespace-separated words with their byte offsets.
fn words(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                out.push((s, &line[s..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((s, &line[s..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostFacts {
        HostFacts {
            hostname: "vm".into(),
            kernel_release: "6.18.44-fc-v769".into(),
            init_comm: "process_api".into(),
            root_entries: ["bin", "boot", "etc", "home", "lib", "proc", "usr", "var"]
                .into_iter()
                .map(String::from)
                .collect(),
            temp_dir: "/tmp".into(),
            host_namespaces: ["4026531836".to_owned()].into(),
            pid_floor: 100,
        }
    }

    fn norm(text: &str) -> String {
        normalise(text, &host())
    }

    #[test]
    fn scratch_dirs_and_names_made_from_them() {
        assert_eq!(
            norm(
                "  $ mkdir /tmp/learn-containers-kUMuz8/rootfs\n  name learn-containers-kUMuz8-a\n"
            ),
            "  $ mkdir /tmp/learn-containers-XXXXXX/rootfs\n  name learn-containers-XXXXXX-a\n"
        );
    }

    #[test]
    fn pids_are_renamed_consistently_and_namespace_pids_kept() {
        let text = "On the host, we start `sleep 300` as PID 28298.\n\
                    $ chroot /tmp/x /bin/bash -c 'kill -9 28298'\n\
                    kernel: waitpid(28298) on the host: killed by SIGKILL\n\
                    kernel: /proc/31842/status: NSpid: 31842 1\n\
                    PID 4: kill -TERM 1\n\
                    $ kill -KILL 31855      # from the host: its PID 1\n\
                    burners 581 and 888: done\n\
                    /bin/bash: line 1: kill: (31850) - No such process\n\
                    before unshare: getpid() = 31841\n";
        assert_eq!(
            norm(text),
            "On the host, we start `sleep 300` as PID <pid:1>.\n\
             $ chroot /tmp/x /bin/bash -c 'kill -9 <pid:1>'\n\
             kernel: waitpid(<pid:1>) on the host: killed by SIGKILL\n\
             kernel: /proc/<pid:2>/status: NSpid: <pid:2> 1\n\
             PID 4: kill -TERM 1\n\
             $ kill -KILL <pid:3>      # from the host: its PID 1\n\
             burners <pid:4> and <pid:5>: done\n\
             /bin/bash: line 1: kill: (<pid:6>) - No such process\n\
             before unshare: getpid() = <pid:7>\n"
        );
    }

    #[test]
    fn containers_named_after_a_pid() {
        assert_eq!(
            norm("  $ runc run --bundle /tmp/b learn-containers-11292\n"),
            "  $ runc run --bundle /tmp/b learn-containers-<pid:1>\n"
        );
    }

    #[test]
    fn cgroup_moves_and_names() {
        assert_eq!(
            norm(
                "  $ echo 581 > /sys/fs/cgroup/cpu/learn-containers/demo-578/cgroup.procs\n  kernel: cgroup.procs: 581\n"
            ),
            "  $ echo <pid:1> > /sys/fs/cgroup/cpu/learn-containers/demo-<pid:2>/cgroup.procs\n  kernel: cgroup.procs: <pid:1>\n"
        );
    }

    #[test]
    fn inodes_keep_their_identity_within_a_step() {
        assert_eq!(
            norm(
                "Step 1 of 2 · a\nkernel: /proc/self/ns/pid → pid:[4026531836]\nns/pid → pid:[4026532177] vs pid:[4026532178] vs pid:[4026532177]\nStep 2 of 2 · b\nns/pid → pid:[4026532178]\n"
            ),
            "Step 1 of 2 · a\nkernel: /proc/self/ns/pid → pid:[<host>]\nns/pid → pid:[<ino:1>] vs pid:[<ino:2>] vs pid:[<ino:1>]\nStep 2 of 2 · b\nns/pid → pid:[<ino:1>]\n"
        );
    }

    #[test]
    fn mountinfo_lines() {
        assert_eq!(
            norm(
                "kernel: inside: 63 45 0:39 / /proc rw,nosuid - proc learn-containers rw\n`43 42 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw`\n"
            ),
            "kernel: inside: <mnt:1> <mnt:2> <dev:1> / /proc rw,nosuid - proc learn-containers rw\n`<mnt:3> <mnt:4> <dev:2> / / rw,relatime shared:<peer:1> - ext4 /dev/vda rw`\n"
        );
    }

    #[test]
    fn host_identity() {
        assert_eq!(
            norm(
                "hostname inside: vm\nPID 1 is: process_api\n/proc/1 is bash\nkernel 6.18.44-fc-v769 and 6.18.44\nafter: bin boot etc home lib proc usr var\ninside: bin etc lib proc\n"
            ),
            "hostname inside: <hostname>\nPID 1 is: <host's PID 1>\n/proc/1 is bash\nkernel <kernel> and <kernel>\nafter: <the host's / entries>\ninside: bin etc lib proc\n"
        );
    }

    #[test]
    fn addresses_but_not_magic_numbers() {
        assert_eq!(
            norm(
                "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f093f0c7000)\nmagic 0x63677270\n"
            ),
            "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x<addr>)\nmagic 0x63677270\n"
        );
    }

    #[test]
    fn host_process_counts_but_not_a_namespace_s_few() {
        assert_eq!(
            norm(
                "processes visible inside the chroot: 90\nkernel: on the host: 88 processes, hostname vm\necho $$ → 1 · processes in /proc: 1 · /proc/1 is bash\n"
            ),
            "processes visible inside the chroot: <n>\nkernel: on the host: <n> processes, hostname <hostname>\necho $$ → 1 · processes in /proc: 1 · /proc/1 is bash\n"
        );
    }

    #[test]
    fn meters_and_measurements_but_not_settings() {
        let text = "  burner pid 581, cfs_quota 0.5 CPU ██████████░░░░░░░░░░  50%  nr_throttled 20  \n\
                    \x20 burner pid 581, no limit         ████████████████████ 100%\n\
                    \x20 kernel: burner 581: 1.78 s of CPU time in 2.01 s → 0.89 of one CPU\n\
                    \x20 kernel: period 100 ms: share 0.53; throttled 9 times in 1.0 s, 49.6 ms each\n\
                    \x20 kernel: burners 581 and 888: 3.07 s → 1.53 CPUs together (this machine has 2)\n\
                    \x20 The quota can be larger: 150000 every 100000 is 1.5 CPUs, 2.5 s.\n\
                    \x20         nr_periods 0\n";
        assert_eq!(
            norm(text),
            "  burner pid <pid:1>, cfs_quota 0.5 CPU ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒  <n>%  nr_throttled <n>\n\
             \x20 burner pid <pid:1>, no limit     ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒  <n>%\n\
             \x20 kernel: burner <pid:1>: <t> s of CPU time in <t> s → <x> of one CPU\n\
             \x20 kernel: period 100 ms: share <x>; throttled <n> times in <t> s, <t> ms each\n\
             \x20 kernel: burners <pid:1> and <pid:2>: <t> s → <x> CPUs together (this machine has <n>)\n\
             \x20 The quota can be larger: 150000 every 100000 is 1.5 CPUs, 2.5 s.\n\
             \x20         nr_periods <n>\n"
        );
    }

    #[test]
    fn host_mount_counts() {
        assert_eq!(
            norm(
                "  inside: 20 mounts at first, 21 after mounting the tmpfs, 9 after unmounting /sys\n  kernel: /proc/5/mountinfo: 9 lines · on the host: 20 lines\n  Step 2 of 3 · after 2 s\n"
            ),
            "  inside: <n> mounts at first, <n> after mounting the tmpfs, <n> after unmounting /sys\n  kernel: /proc/5/mountinfo: <n> lines · on the host: <n> lines\n  Step 2 of 3 · after 2 s\n"
        );
    }

    #[test]
    fn notes_only_a_busy_machine_prints_are_left_out() {
        let text = "  kernel: burners 581 and 888: 3.07 s\n\n  Less than 1.5: the burners share this machine (load\n  average 1.44). A quota is a ceiling.\n\n  The period sets\n";
        assert_eq!(
            norm(text),
            "  kernel: burners <pid:1> and <pid:2>: <t> s\n\n  The period sets\n"
        );
    }

    #[test]
    fn meter_bars_keep_their_column_whatever_the_pid() {
        let a = norm("  burner pid 581, no limit         ██░░ 100%\n");
        let b = norm("  burner pid 31838, no limit       ██░░  50%\n");
        assert_eq!(a, b);
        // The bar stays at column 35, where the lesson drew it.
        assert_eq!(a, "  burner pid <pid:1>, no limit     ▒▒▒▒  <n>%\n");
    }

    #[test]
    fn redrawn_lines_keep_the_last_drawing() {
        assert_eq!(norm("meter 10%\rmeter 20%\n"), "meter 20%\n");
    }

    #[test]
    fn normalising_twice_changes_nothing() {
        let text = "kernel: /proc/31842/status: NSpid: 31842 1 · pid:[4026532177]\n\
                    $ mkdir /tmp/learn-containers-kUMuz8/rootfs\n\
                    kernel: 63 45 0:39 / /proc rw - proc proc rw shared:12\n\
                    kernel: burner 581: 1.78 s → 0.89 of one CPU ██░░  50%\n";
        let once = norm(text);
        assert_eq!(norm(&once), once);
    }

    #[test]
    fn first_difference_names_the_line() {
        assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
        assert_eq!(first_difference("a\nb\n", "a\nc\n"), Some((2, "b", "c")));
        assert_eq!(
            first_difference("a\n", "a\nc\n"),
            Some((2, "<end of text>", "c"))
        );
    }
}
