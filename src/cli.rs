//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "learn-containers",
    version,
    about = "Build a Linux container from kernel primitives, one chapter at a time",
    after_help = "Start with `learn-containers doctor`, then `learn-containers lesson 1`."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Chapters, exercises and your progress
    List,
    /// The guided live demo of a chapter
    Lesson {
        /// Chapter number or slug, e.g. 1 or chroot
        chapter: String,
        /// Do not pause between steps
        #[arg(long, short)]
        yes: bool,
    },
    /// Check your exercise by what it does to the kernel
    Verify {
        /// Chapter number or slug (or --all)
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        chapter: Option<String>,
        /// Every exercise
        #[arg(long)]
        all: bool,
        /// Verify the reference solution instead of your exercise
        #[arg(long)]
        solution: bool,
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Use prebuilt binaries from this directory instead of building with cargo
        #[arg(long, value_name = "DIR", env = "LEARN_CONTAINERS_BIN_DIR")]
        bin_dir: Option<PathBuf>,
    },
    /// The next hint for a chapter's exercise
    Hint {
        /// Chapter number or slug
        chapter: String,
    },
    /// Put a chapter's exercise back as shipped (your version is backed up)
    Reset {
        /// Chapter number or slug
        chapter: String,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
    },
    /// Can this host run the workshop? How to fix it if not
    Doctor,
    /// Remove what interrupted runs left behind
    Clean,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}
