use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while planning or building a rootfs.
///
/// Each message says what is wrong and what to do next, on one line, so the
/// CLI can print it as `error: <message>`.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("`{name}` was not found{where_} — check the spelling, or pass the full path (e.g. --bin /usr/bin/{name})", where_ = if name.contains('/') { "" } else { " in $PATH" })]
    NotFound { name: String },

    #[error(
        "{} is {what}, not an ELF program — rootfs-builder copies compiled programs and their libraries; for a script pass the interpreter named after #! instead (e.g. --bin sh)",
        path.display()
    )]
    NotElf { path: PathBuf, what: String },

    #[error("could not read the ELF headers of {}: {source} — is the file complete and readable?", path.display())]
    Elf {
        path: PathBuf,
        #[source]
        source: lddtree::Error,
    },

    #[error(
        "{} names the ELF interpreter {} (PT_INTERP), which does not exist on this host — the program was built for another system; pick a program installed by your distribution",
        binary.display(),
        interpreter.display()
    )]
    MissingInterpreter {
        binary: PathBuf,
        interpreter: PathBuf,
    },

    #[error(
        "{needed_by} needs {lib} (DT_NEEDED) but it is not in the loader's search path on this host ({} cannot run here either) — install the package that ships it (`apt-file search {lib}`)",
        binary.display()
    )]
    MissingLibrary {
        binary: PathBuf,
        needed_by: String,
        lib: String,
    },

    #[error(
        "busybox is not installed on this host — run `apt install busybox-static`, or leave out --busybox"
    )]
    BusyboxMissing,

    #[error(
        "two different files want the same place {}: {} and {} — pass only one of them",
        dest.display(),
        first.display(),
        second.display()
    )]
    Conflict {
        dest: PathBuf,
        first: PathBuf,
        second: PathBuf,
    },

    #[error(
        "refusing to build a rootfs at {}: it is the host's / — pick a new directory, e.g. /tmp/learn-containers-rootfs",
        dir.display()
    )]
    RefusedRoot { dir: PathBuf },

    #[error(
        "refusing to build into {}: it is not empty and was not built by rootfs-builder (no .learn-containers-rootfs marker) — pick a new or empty directory",
        dir.display()
    )]
    NotEmpty { dir: PathBuf },

    #[error("{} exists and is not a directory — remove it or pick another path", path.display())]
    NotADirectory { path: PathBuf },

    #[error(
        "{} already exists as a directory where a file belongs — remove it (`rm -r {}`) or build into a new directory",
        path.display(),
        path.display()
    )]
    Occupied { path: PathBuf },

    #[error(
        "{} is a symlink inside the rootfs; rootfs-builder never writes through symlinks, so it cannot redirect writes onto the host — remove it (`rm {}`) and build again, or build into a new directory",
        path.display(),
        path.display()
    )]
    SymlinkInDest { path: PathBuf },

    #[error(
        "entry path {} is not a plain relative path inside the rootfs (no leading /, no ..) — fix the plan",
        dest.display()
    )]
    BadDest { dest: PathBuf },

    #[error("could not {action} {}: {source} — check permissions and free disk space", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl BuildError {
    /// True when the problem is in what the user asked for or in the host setup
    /// (the CLI exits with 2), false for unexpected I/O failures (exit 1).
    pub fn is_usage(&self) -> bool {
        !matches!(self, BuildError::Io { .. })
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        BuildError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
