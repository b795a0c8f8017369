//! Deciding what goes into the rootfs, and why.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Component, Path, PathBuf};

use crate::BuildError;
use crate::elf::{analyze, lookup};
use crate::why::{Reason, add_user, render};

/// What one entry of the rootfs is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file with the contents of `source` (symlinks followed).
    File { source: PathBuf },
    /// A directory (mode 0755; `tmp` gets 1777).
    Dir,
    /// A symlink pointing at `target`, e.g. bin/ps -> busybox.
    Symlink { target: PathBuf },
    /// A small regular file written from text (mode 0644).
    Contents(String),
}

/// One file, directory or link in the rootfs and the reason it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the rootfs, e.g. "lib64/ld-linux-x86-64.so.2".
    pub dest: PathBuf,
    pub kind: EntryKind,
    /// One learner-facing sentence.
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Program names (looked up in $PATH) or paths.
    pub bins: Vec<String>,
    /// Add the host's busybox and applet links (ps, mount, ...).
    pub busybox: bool,
    /// Add proc, dev, tmp, etc and a minimal etc/passwd, etc/group, etc/hostname.
    pub skeleton: bool,
}

impl Default for Options {
    /// The same defaults as the CLI: bash plus the skeleton.
    fn default() -> Self {
        Options {
            bins: vec!["bash".into()],
            busybox: false,
            skeleton: true,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub entries: Vec<Entry>,
}

impl Plan {
    /// Bytes the regular files will take (sources are stat'ed now).
    pub fn total_bytes(&self) -> u64 {
        self.entries
            .iter()
            .map(|e| match &e.kind {
                EntryKind::File { source } => std::fs::metadata(source).map_or(0, |m| m.len()),
                EntryKind::Contents(text) => text.len() as u64,
                EntryKind::Dir | EntryKind::Symlink { .. } => 0,
            })
            .sum()
    }

    /// Regular files (copied or written), the "N files" of the summary.
    pub fn file_count(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::File { .. } | EntryKind::Contents(_)))
            .count()
    }

    /// The entry at `dest`, if any.
    pub fn get(&self, dest: impl AsRef<Path>) -> Option<&Entry> {
        self.entries.iter().find(|e| e.dest == dest.as_ref())
    }
}

/// Busybox applets linked into bin/ when asked for busybox.
pub const BUSYBOX_APPLETS: &[&str] = &[
    "sh", "ls", "ps", "mount", "umount", "hostname", "cat", "echo", "sleep",
];

/// Works out every entry for `opts`. Nothing is written.
pub fn plan(opts: &Options) -> Result<Plan, BuildError> {
    let busybox = if opts.busybox {
        Some(which::which("busybox").map_err(|_| BuildError::BusyboxMissing)?)
    } else {
        None
    };
    plan_with_busybox(opts, busybox.as_deref())
}

/// [`plan`] with the busybox lookup already done, so tests can pass any file.
pub(crate) fn plan_with_busybox(
    opts: &Options,
    busybox: Option<&Path>,
) -> Result<Plan, BuildError> {
    let mut p = Planner::default();
    for name in &opts.bins {
        let (found, canonical) = lookup(name)?;
        let dest_name = found.file_name().map(PathBuf::from).unwrap_or_default();
        p.add_program(Path::new("bin").join(dest_name), &found, &canonical, false)?;
    }
    if opts.busybox {
        let path = busybox.ok_or(BuildError::BusyboxMissing)?;
        let canonical = path
            .canonicalize()
            .map_err(|_| BuildError::BusyboxMissing)?;
        p.add_program(PathBuf::from("bin/busybox"), path, &canonical, true)?;
        for applet in BUSYBOX_APPLETS {
            let dest = Path::new("bin").join(applet);
            // Programs the user asked for win: bin/sh stays dash, bin/bash stays bash.
            if !p.index.contains_key(&dest) {
                p.push(
                    dest,
                    EntryKind::Symlink {
                        target: "busybox".into(),
                    },
                    Reason::Applet(applet.to_string()),
                );
            }
        }
    }
    if opts.skeleton {
        p.add_skeleton();
    }
    Ok(p.finish())
}

#[derive(Default)]
struct Planner {
    items: Vec<(PathBuf, EntryKind, Reason)>,
    index: HashMap<PathBuf, usize>,
}

impl Planner {
    fn push(&mut self, dest: PathBuf, kind: EntryKind, reason: Reason) {
        self.index.insert(dest.clone(), self.items.len());
        self.items.push((dest, kind, reason));
    }

    /// The index of an already planned copy of `source` at `dest`; a different
    /// source at the same place is a conflict.
    fn existing(&self, dest: &Path, source: &Path) -> Result<Option<usize>, BuildError> {
        let Some(&i) = self.index.get(dest) else {
            return Ok(None);
        };
        match &self.items[i].1 {
            EntryKind::File { source: s } if s == source => Ok(Some(i)),
            EntryKind::File { source: s } => Err(BuildError::Conflict {
                dest: dest.to_path_buf(),
                first: s.clone(),
                second: source.to_path_buf(),
            }),
            _ => Err(BuildError::Conflict {
                dest: dest.to_path_buf(),
                first: dest.to_path_buf(),
                second: source.to_path_buf(),
            }),
        }
    }

    fn add_program(
        &mut self,
        dest: PathBuf,
        found: &Path,
        canonical: &Path,
        busybox: bool,
    ) -> Result<(), BuildError> {
        let (info, tree) = analyze(canonical)?;
        if self.existing(&dest, canonical)?.is_some() {
            return Ok(()); // asked twice
        }
        let user = dest.file_name().unwrap_or_default().to_string_lossy();
        let user = user.into_owned();
        self.push(
            dest,
            EntryKind::File {
                source: canonical.to_path_buf(),
            },
            Reason::Program {
                found: found.to_path_buf(),
                canonical: canonical.to_path_buf(),
                is_static: info.is_static,
                busybox,
            },
        );

        let mut interp_real = None;
        if let Some(interp) = &info.interpreter {
            let real = interp
                .canonicalize()
                .map_err(|_| BuildError::MissingInterpreter {
                    binary: canonical.to_path_buf(),
                    interpreter: interp.clone(),
                })?;
            // The kernel opens the literal PT_INTERP path, which on the host is
            // usually a symlink: copy the file it points to under the literal name.
            let dest = relative(interp).ok_or_else(|| BuildError::BadDest {
                dest: interp.clone(),
            })?;
            match self.existing(&dest, &real)? {
                Some(i) => add_user(&mut self.items[i].2, &user),
                None => self.push(
                    dest,
                    EntryKind::File {
                        source: real.clone(),
                    },
                    Reason::Interpreter {
                        users: vec![user.clone()],
                    },
                ),
            }
            interp_real = Some(real);
        }

        // Breadth first, so direct DT_NEEDED come before the libraries they pull in.
        let mut queue: VecDeque<(String, Option<String>)> =
            info.needed.iter().map(|n| (n.clone(), None)).collect();
        let mut seen = HashSet::new();
        while let Some((name, via)) = queue.pop_front() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let missing = || BuildError::MissingLibrary {
                binary: canonical.to_path_buf(),
                needed_by: via.clone().unwrap_or_else(|| user.clone()),
                lib: name.clone(),
            };
            let lib = tree.libraries.get(&name).ok_or_else(missing)?;
            let real = lib.realpath.clone().ok_or_else(missing)?;
            // libc lists the loader itself as DT_NEEDED; the loader answers that
            // from memory, so the copy at the PT_INTERP path is all it takes.
            if interp_real.as_ref() == Some(&real) {
                continue;
            }
            let (dest, relocated_from) = library_dest(&lib.path, interp_real.as_deref());
            match self.existing(&dest, &real)? {
                Some(i) => add_user(&mut self.items[i].2, &user),
                None => self.push(
                    dest,
                    EntryKind::File { source: real },
                    Reason::Library {
                        needed_by: user.clone(),
                        via: via.clone(),
                        users: vec![user.clone()],
                        relocated_from,
                    },
                ),
            }
            for next in &lib.needed {
                queue.push_back((next.clone(), Some(name.clone())));
            }
        }
        Ok(())
    }

    fn add_skeleton(&mut self) {
        let fixed = |s: &str| Reason::Fixed(s.to_string());
        let dirs = [
            (
                "proc",
                "mount point for procfs: `mount -t proc proc /proc` inside the container gives ps its process list",
            ),
            (
                "dev",
                "mount point for device nodes (a tmpfs or a bind mount of /dev); empty until something is mounted",
            ),
            (
                "tmp",
                "scratch space, mode 1777 (anyone may write, only the owner may delete) as on the host",
            ),
            (
                "etc",
                "configuration files: the few below are all a shell needs",
            ),
            (
                "root",
                "root's home directory, named in etc/passwd, so `cd` with no argument works",
            ),
        ];
        for (dir, why) in dirs {
            if !self.index.contains_key(Path::new(dir)) {
                self.push(dir.into(), EntryKind::Dir, fixed(why));
            }
        }
        let shell = if self.index.contains_key(Path::new("bin/bash")) {
            "/bin/bash"
        } else {
            "/bin/sh"
        };
        let files = [
            (
                "etc/hostname",
                "learn-containers\n".to_string(),
                "the name this system calls itself; the UTS namespace lets a container change it without touching the host",
            ),
            (
                "etc/passwd",
                format!("root:x:0:0:root:/root:{shell}\n"),
                "maps uid 0 to the name root, so ls -l and prompts show a name instead of a number",
            ),
            (
                "etc/group",
                "root:x:0:\n".to_string(),
                "maps gid 0 to the group name root",
            ),
        ];
        for (dest, text, why) in files {
            if !self.index.contains_key(Path::new(dest)) {
                self.push(dest.into(), EntryKind::Contents(text), fixed(why));
            }
        }
    }

    fn finish(self) -> Plan {
        let entries = self
            .items
            .into_iter()
            .map(|(dest, kind, reason)| Entry {
                why: render(&reason),
                dest,
                kind,
            })
            .collect();
        Plan { entries }
    }
}

/// `path` without its leading '/', if it is absolute and plain (no "..").
fn relative(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    let mut comps = path.components();
    if comps.next() != Some(Component::RootDir) {
        return None;
    }
    for c in comps {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// Where a library goes: the directory lddtree found it in, when the loader
/// searches that directory without ld.so.cache (/lib, /usr/lib, their
/// multiarch subdirectory, or the interpreter's own directory). Anything else
/// (/usr/local/lib, a RUNPATH directory) moves next to the real interpreter.
fn library_dest(host: &Path, interp_real: Option<&Path>) -> (PathBuf, Option<PathBuf>) {
    let strip_usr = |p: &Path| -> PathBuf {
        p.strip_prefix("/usr")
            .map_or_else(|_| p.to_path_buf(), |rest| Path::new("/").join(rest))
    };
    let file_name = host.file_name().map(PathBuf::from).unwrap_or_default();
    let interp_dir = interp_real.and_then(Path::parent).map(strip_usr);
    if let (Some(rel), Some(dir)) = (relative(host), host.parent()) {
        let dir = strip_usr(dir);
        let multiarch = dir.parent() == Some(Path::new("/lib"))
            && dir
                .file_name()
                .is_some_and(|n| n.to_string_lossy().contains("-linux-"));
        if dir == Path::new("/lib") || multiarch || Some(&dir) == interp_dir.as_ref() {
            return (rel, None);
        }
    }
    let target_dir = interp_real
        .and_then(Path::parent)
        .and_then(relative)
        .unwrap_or_else(|| PathBuf::from("usr/lib"));
    (target_dir.join(file_name), Some(host.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_rejects_dotdot_and_relative_paths() {
        assert_eq!(
            relative(Path::new("/lib64/ld-linux-x86-64.so.2")),
            Some(PathBuf::from("lib64/ld-linux-x86-64.so.2"))
        );
        assert_eq!(relative(Path::new("/lib/../etc/passwd")), None);
        assert_eq!(relative(Path::new("lib/libc.so.6")), None);
        assert_eq!(relative(Path::new("/")), None);
    }

    #[test]
    fn libraries_stay_in_default_dirs_and_move_out_of_others() {
        let interp = Path::new("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
        let keep = |p: &str| library_dest(Path::new(p), Some(interp));
        assert_eq!(
            keep("/lib/x86_64-linux-gnu/libc.so.6"),
            ("lib/x86_64-linux-gnu/libc.so.6".into(), None)
        );
        assert_eq!(
            keep("/usr/lib/x86_64-linux-gnu/libc.so.6"),
            ("usr/lib/x86_64-linux-gnu/libc.so.6".into(), None)
        );
        assert_eq!(
            keep("/usr/lib/libfoo.so.1"),
            ("usr/lib/libfoo.so.1".into(), None)
        );
        let (dest, from) = keep("/usr/local/lib/libfoo.so.1");
        assert_eq!(dest, PathBuf::from("usr/lib/x86_64-linux-gnu/libfoo.so.1"));
        assert_eq!(from, Some(PathBuf::from("/usr/local/lib/libfoo.so.1")));
        // Fedora style: the interpreter's own directory is searched.
        let fedora = Path::new("/usr/lib64/ld-linux-x86-64.so.2");
        assert_eq!(
            library_dest(Path::new("/lib64/libc.so.6"), Some(fedora)),
            ("lib64/libc.so.6".into(), None)
        );
    }

    #[test]
    fn busybox_applets_never_replace_requested_programs() {
        // Any ELF stands in for busybox here; what matters is the linking plan.
        let fake = which::which("true").expect("coreutils true");
        let opts = Options {
            bins: vec!["bash".into()],
            busybox: true,
            skeleton: false,
        };
        let plan = plan_with_busybox(&opts, Some(&fake)).unwrap();
        let bash = plan.get("bin/bash").expect("bin/bash planned");
        assert!(matches!(&bash.kind, EntryKind::File { source } if source.ends_with("bash")));
        assert!(matches!(
            plan.get("bin/busybox").unwrap().kind,
            EntryKind::File { .. }
        ));
        for applet in BUSYBOX_APPLETS {
            let e = plan.get(Path::new("bin").join(applet)).unwrap();
            assert_eq!(
                e.kind,
                EntryKind::Symlink {
                    target: "busybox".into()
                },
                "{applet}"
            );
            assert!(e.why.contains("argv[0]"), "{}", e.why);
        }
        let sh_opts = Options {
            bins: vec!["sh".into()],
            ..opts
        };
        let plan = plan_with_busybox(&sh_opts, Some(&fake)).unwrap();
        assert!(matches!(
            plan.get("bin/sh").unwrap().kind,
            EntryKind::File { .. }
        ));
    }

    #[test]
    fn busybox_missing_says_how_to_install_it() {
        let opts = Options {
            bins: vec![],
            busybox: true,
            skeleton: false,
        };
        let err = plan_with_busybox(&opts, None).unwrap_err();
        assert!(matches!(err, BuildError::BusyboxMissing));
        assert!(err.to_string().contains("apt install busybox-static"));
    }

    #[test]
    fn skeleton_has_dirs_and_files() {
        let opts = Options {
            bins: vec![],
            busybox: false,
            skeleton: true,
        };
        let plan = plan_with_busybox(&opts, None).unwrap();
        for d in ["proc", "dev", "tmp", "etc"] {
            assert_eq!(plan.get(d).unwrap().kind, EntryKind::Dir, "{d}");
        }
        assert_eq!(
            plan.get("etc/hostname").unwrap().kind,
            EntryKind::Contents("learn-containers\n".into())
        );
        let EntryKind::Contents(passwd) = &plan.get("etc/passwd").unwrap().kind else {
            panic!("etc/passwd is not Contents");
        };
        assert!(passwd.starts_with("root:x:0:0:"), "{passwd}");
        let EntryKind::Contents(group) = &plan.get("etc/group").unwrap().kind else {
            panic!("etc/group is not Contents");
        };
        assert!(group.starts_with("root:x:0:"), "{group}");
        assert!(plan.entries.iter().all(|e| !e.why.is_empty()));
    }
}
