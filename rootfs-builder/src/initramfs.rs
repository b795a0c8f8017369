//! Packs a built rootfs into an initramfs: a gzip-compressed cpio archive in the "newc"
//! format, which the kernel unpacks into its first root filesystem and then runs /init.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use cpio::newc::{Builder, ModeFileType, trailer};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::BuildError;

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BuildError {
    let path = path.to_owned();
    move |source| BuildError::Io {
        action,
        path,
        source,
    }
}

/// Writes `rootfs` to `out` as a gzipped newc cpio. Everything is owned by root in the
/// archive; symlinks are stored as links, never followed. `/dev/console` is added when
/// missing: without it the kernel cannot give /init a console, and nothing it prints is
/// seen.
pub fn write_initramfs(rootfs: &Path, out: &Path) -> Result<(), BuildError> {
    let file = File::create(out).map_err(io("create", out))?;
    let mut gz = GzEncoder::new(BufWriter::new(file), Compression::fast());
    let mut entries = Vec::new();
    collect(rootfs, Path::new(""), &mut entries)?;
    let mut ino = 1;
    for rel in &entries {
        let path = rootfs.join(rel);
        let md = std::fs::symlink_metadata(&path).map_err(io("stat", &path))?;
        let name = rel.to_string_lossy();
        let head = Builder::new(&name)
            .ino(ino)
            .nlink(1)
            .uid(0)
            .gid(0)
            .mtime(md.mtime() as u32);
        ino += 1;
        let ft = md.file_type();
        if ft.is_dir() {
            let head = head
                .mode(md.permissions().mode() & 0o7777)
                .set_mode_file_type(ModeFileType::Directory);
            gz = head.write(gz, 0).finish().map_err(io("write", out))?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&path).map_err(io("readlink", &path))?;
            let bytes = target.as_os_str().as_encoded_bytes();
            let head = head.mode(0o777).set_mode_file_type(ModeFileType::Symlink);
            let mut w = head.write(gz, bytes.len() as u32);
            w.write_all(bytes).map_err(io("write", out))?;
            gz = w.finish().map_err(io("write", out))?;
        } else if ft.is_file() {
            let data = std::fs::read(&path).map_err(io("read", &path))?;
            let head = head
                .mode(md.permissions().mode() & 0o7777)
                .set_mode_file_type(ModeFileType::Regular);
            let mut w = head.write(gz, data.len() as u32);
            w.write_all(&data).map_err(io("write", out))?;
            gz = w.finish().map_err(io("write", out))?;
        }
    }
    if !entries.iter().any(|e| e == Path::new("dev/console")) {
        if !entries.iter().any(|e| e == Path::new("dev")) {
            let head = Builder::new("dev")
                .ino(ino)
                .nlink(2)
                .mode(0o755)
                .set_mode_file_type(ModeFileType::Directory);
            ino += 1;
            gz = head.write(gz, 0).finish().map_err(io("write", out))?;
        }
        // A character device, major 5 minor 1, made in the archive: no mknod needed here.
        let head = Builder::new("dev/console")
            .ino(ino)
            .nlink(1)
            .mode(0o600)
            .rdev_major(5)
            .rdev_minor(1)
            .set_mode_file_type(ModeFileType::Char);
        gz = head.write(gz, 0).finish().map_err(io("write", out))?;
    }
    let gz = trailer(gz).map_err(io("write", out))?;
    gz.finish()
        .map_err(io("write", out))?
        .flush()
        .map_err(io("write", out))?;
    Ok(())
}

/// Every path under `root`, parents before children, without following symlinks.
fn collect(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<(), BuildError> {
    let dir = root.join(rel);
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .map_err(io("read", &dir))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    names.sort();
    for name in names {
        let child = rel.join(&name);
        out.push(child.clone());
        let md = std::fs::symlink_metadata(root.join(&child)).map_err(io("stat", &child))?;
        if md.is_dir() {
            collect(root, &child, out)?;
        }
    }
    Ok(())
}
