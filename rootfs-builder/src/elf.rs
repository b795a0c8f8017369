//! Finding a program and reading what its ELF headers ask of the loader.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use lddtree::{DependencyAnalyzer, DependencyTree};

use crate::BuildError;

/// What the kernel and the dynamic loader need to run one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    pub path: PathBuf,
    /// The literal PT_INTERP path, e.g. /lib64/ld-linux-x86-64.so.2. The kernel
    /// opens exactly this path, so it must exist under that name in the rootfs.
    pub interpreter: Option<PathBuf>,
    /// Direct DT_NEEDED entries, e.g. ["libtinfo.so.6", "libc.so.6"].
    pub needed: Vec<String>,
    /// No interpreter and no DT_NEEDED: the file runs on its own.
    pub is_static: bool,
}

/// Finds a program: a bare name is looked up in $PATH with `which`, a path
/// containing '/' is used as it is. The result is canonicalized.
pub fn resolve_binary(name: &str) -> Result<PathBuf, BuildError> {
    lookup(name).map(|(_, canonical)| canonical)
}

/// Like [`resolve_binary`], but also returns the path before symlinks were
/// resolved: its file name is the name the user knows (`sh`, not `dash`).
pub(crate) fn lookup(name: &str) -> Result<(PathBuf, PathBuf), BuildError> {
    let not_found = || BuildError::NotFound {
        name: name.to_string(),
    };
    if name.is_empty() {
        return Err(not_found());
    }
    let found = if name.contains('/') {
        PathBuf::from(name)
    } else {
        which::which(name).map_err(|_| not_found())?
    };
    let canonical = found.canonicalize().map_err(|_| not_found())?;
    Ok((found, canonical))
}

/// Reads PT_INTERP and DT_NEEDED of `binary`. A script or any other non-ELF
/// file gives [`BuildError::NotElf`].
pub fn inspect(binary: &Path) -> Result<ElfInfo, BuildError> {
    analyze(binary).map(|(info, _)| info)
}

/// Inspects `binary` and, for a dynamic one, resolves its whole library tree.
pub(crate) fn analyze(binary: &Path) -> Result<(ElfInfo, DependencyTree), BuildError> {
    check_elf_header(binary)?;
    let tree = DependencyAnalyzer::default()
        .analyze(binary)
        .map_err(|source| BuildError::Elf {
            path: binary.to_path_buf(),
            source,
        })?;
    let interpreter = tree.interpreter.as_ref().map(PathBuf::from);
    let info = ElfInfo {
        path: binary.to_path_buf(),
        is_static: interpreter.is_none() && tree.needed.is_empty(),
        interpreter,
        needed: tree.needed.clone(),
    };
    Ok((info, tree))
}

/// Rejects anything that is not an ELF executable or shared object, with a
/// description a learner recognises ("a script starting with #!/bin/sh").
fn check_elf_header(path: &Path) -> Result<(), BuildError> {
    let not_elf = |what: String| BuildError::NotElf {
        path: path.to_path_buf(),
        what,
    };
    let meta = std::fs::metadata(path).map_err(|e| BuildError::io("read", path, e))?;
    if meta.is_dir() {
        return Err(not_elf("a directory".into()));
    }
    let mut head = Vec::with_capacity(128);
    File::open(path)
        .and_then(|f| f.take(128).read_to_end(&mut head))
        .map_err(|e| BuildError::io("read", path, e))?;
    if head.is_empty() {
        return Err(not_elf("an empty file".into()));
    }
    if let Some(rest) = head.strip_prefix(b"#!") {
        let line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(line);
        return Err(not_elf(format!(
            "a script starting with #!{}",
            line.trim_end()
        )));
    }
    if !head.starts_with(b"\x7fELF") {
        return Err(not_elf(
            "a file whose first bytes are not the ELF magic \\x7fELF".into(),
        ));
    }
    // e_type sits at offset 16, in the byte order named by EI_DATA (offset 5).
    if head.len() >= 18 {
        let bytes = [head[16], head[17]];
        let e_type = if head[5] == 2 {
            u16::from_be_bytes(bytes)
        } else {
            u16::from_le_bytes(bytes)
        };
        match e_type {
            1 => return Err(not_elf("an ELF relocatable object (.o)".into())),
            4 => return Err(not_elf("an ELF core dump".into())),
            _ => {}
        }
    }
    Ok(())
}
