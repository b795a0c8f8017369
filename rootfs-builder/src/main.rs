//! `rootfs-builder DIR [--bin NAME]... [--busybox] [--no-skeleton] [--initramfs FILE] [--quiet]`

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use rootfs_builder::{BuildError, Entry, EntryKind, Options, Plan};

/// Build a minimal root filesystem from host programs and the ELF files they
/// need, explaining every file it copies and why.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    /// Directory to build into: new, empty, or built by rootfs-builder before.
    dir: PathBuf,
    /// A program to copy, by name ($PATH) or path; repeat for more. Default: bash.
    #[arg(long = "bin", value_name = "NAME")]
    bins: Vec<String>,
    /// Also copy the host's busybox and link ps, ls, mount, ... to it.
    #[arg(long)]
    busybox: bool,
    /// Leave out proc, dev, tmp, etc and the minimal etc/passwd and etc/group.
    #[arg(long)]
    no_skeleton: bool,
    /// Also pack the built directory into this gzipped cpio archive (an initramfs a
    /// kernel can boot; put an executable /init in DIR first).
    #[arg(long, value_name = "FILE")]
    initramfs: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is_usage() { 2 } else { 1 })
        }
    }
}

fn run(cli: &Cli) -> Result<(), BuildError> {
    let bins = if cli.bins.is_empty() {
        vec!["bash".to_string()]
    } else {
        cli.bins.clone()
    };
    let opts = Options {
        bins,
        busybox: cli.busybox,
        skeleton: !cli.no_skeleton,
    };
    let plan = rootfs_builder::plan(&opts)?;

    let bar = (!cli.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(plan.entries.len() as u64);
        if let Ok(style) = ProgressStyle::with_template("  {bar:30} {pos}/{len} {wide_msg}") {
            bar.set_style(style);
        }
        bar
    });
    let width = plan
        .entries
        .iter()
        .map(|e| e.dest.as_os_str().len())
        .max()
        .unwrap_or(0);
    let mut on_entry = |entry: &Entry| {
        if cli.quiet {
            return;
        }
        let line = format!(
            "  {:<width$}  — {}",
            entry.dest.display().to_string(),
            entry.why
        );
        match &bar {
            Some(bar) => {
                bar.suspend(|| println!("{line}"));
                bar.set_message(entry.dest.display().to_string());
                bar.inc(1);
            }
            None => println!("{line}"),
        }
    };
    rootfs_builder::build(&cli.dir, &plan, &mut on_entry)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if !cli.quiet {
        println!("{}", summary(&plan, &cli.dir));
    }
    if let Some(out) = &cli.initramfs {
        rootfs_builder::write_initramfs(&cli.dir, out)?;
        if !cli.quiet {
            println!(
                "Packed {} into {} (newc cpio, gzip).",
                cli.dir.display(),
                out.display()
            );
        }
    }
    Ok(())
}

/// "Built /tmp/x: 10 files, 5 directories, 4.35 MiB. Try: chroot /tmp/x /bin/bash"
fn summary(plan: &Plan, dir: &std::path::Path) -> String {
    let count = |f: fn(&EntryKind) -> bool| plan.entries.iter().filter(|e| f(&e.kind)).count();
    let links = count(|k| matches!(k, EntryKind::Symlink { .. }));
    let dirs = count(|k| matches!(k, EntryKind::Dir));
    let shell = ["bin/bash", "bin/sh"]
        .into_iter()
        .find(|p| plan.get(p).is_some())
        .or_else(|| {
            plan.entries
                .iter()
                .find(|e| e.dest.starts_with("bin"))
                .and_then(|e| e.dest.to_str())
        });
    let mut parts = vec![format!("{} files", plan.file_count())];
    if links > 0 {
        parts.push(format!("{links} symlinks"));
    }
    if dirs > 0 {
        parts.push(format!("{dirs} directories"));
    }
    let mut line = format!(
        "Built {}: {}, {}.",
        dir.display(),
        parts.join(", "),
        HumanBytes(plan.total_bytes())
    );
    if let Some(shell) = shell {
        line.push_str(&format!(" Try: chroot {} /{shell}", shell_quote(dir)));
    }
    line
}

/// Quotes a path for copy-pasting into a shell, only when it needs it.
fn shell_quote(path: &std::path::Path) -> String {
    let s = path.display().to_string();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
