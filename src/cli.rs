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
    /// Re-verify your exercise every time you save it
    #[command(
        after_help = "Watches the first chapter whose exercise has not passed yet (or chapter N), verifies it \
                      now and again on every save, and moves on to the next chapter after a pass.\n\
                      In a terminal: [h] next hint, [r] verify again, [q] quit. Ctrl-C also quits; what a \
                      verification had started is removed either way. With stdin a pipe, a line `q` \
                      or the end of the input quits; with stdin neither a terminal nor a pipe (e.g. \
                      /dev/null) it is not read, and Ctrl-C or SIGTERM ends the watch."
    )]
    Watch {
        /// Chapter number or slug (default: the first whose exercise has not passed)
        chapter: Option<String>,
    },
    /// The next hint for a chapter's exercise
    Hint {
        /// Chapter number or slug
        chapter: String,
    },
    /// A chapter's self-check questions, asked one at a time (in a terminal)
    Quiz {
        /// Chapter number or slug
        chapter: String,
        /// Print the questions with their answers as plain text, without asking
        #[arg(long)]
        print: bool,
    },
    /// The reference solution of a chapter's exercise, once yours passes
    Solution {
        /// Chapter number or slug
        chapter: String,
        /// Show it even though your exercise has not passed (recorded in your progress)
        #[arg(long)]
        force: bool,
    },
    /// Put a chapter's exercise back as shipped (your version is backed up)
    Reset {
        /// Chapter number or slug
        chapter: String,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
    },
    /// Run a command in a container built from the four primitives (chapter 5)
    #[command(
        after_help = "Example: learn-containers run --cpus 0.5 --memory 64M --pids 20 --hostname box -- sh\n\
                      Without --rootfs, a rootfs of bash and busybox is built once with rootfs-builder \
                      and cached in /var/cache/learn-containers/ (root) or ~/.cache/learn-containers/ \
                      ($XDG_CACHE_HOME; LEARN_CONTAINERS_CACHE moves it).\n\
                      Without root it runs in a user namespace of its own; --cpus, --memory and --pids \
                      then need a cgroup v2 subtree delegated to you.\n\
                      LEARN_CONTAINERS_TRACE=1 prints how long each step of the start took, to stderr."
    )]
    Run {
        /// The directory that becomes / (default: bash + busybox, built once and cached)
        #[arg(long, value_name = "DIR")]
        rootfs: Option<PathBuf>,
        /// Cap CPU at this many CPUs, e.g. 0.5, in a cgroup under learn-containers/
        #[arg(long, value_name = "FLOAT", allow_negative_numbers = true)]
        cpus: Option<f64>,
        /// Cap memory at SIZE (bytes, or with k, m, g: 64M), swap held to it; the OOM
        /// killer ends CMD beyond it (chapter 9)
        #[arg(long, value_name = "SIZE")]
        memory: Option<String>,
        /// Cap the number of processes (pids.max) at N (chapter 9)
        #[arg(long, value_name = "N")]
        pids: Option<u64>,
        /// The container's hostname
        #[arg(long, value_name = "NAME", default_value = lessons::kernel::container::DEFAULT_HOSTNAME)]
        hostname: String,
        /// Mount the rootfs read-only inside the container (/tmp stays writable)
        #[arg(long, conflicts_with = "rw")]
        keep_rootfs_readonly: bool,
        /// Let the container write into the rootfs directory itself (by default its writes
        /// go to a layer of its own over the rootfs, gone when it ends)
        #[arg(long)]
        rw: bool,
        /// Run the container in a time namespace of its own, its CLOCK_MONOTONIC and
        /// CLOCK_BOOTTIME (and so /proc/uptime) this many seconds ahead (chapter 8)
        #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
        uptime_offset: Option<i64>,
        /// The container's network (chapter 7): `none`, a network namespace of its own with
        /// only lo, up; `bridge`, one on the host's bridge with NAT. Without it the
        /// container shares the host's network
        #[arg(long, value_name = "MODE")]
        net: Option<NetMode>,
        /// With --net bridge: publish the container's TCP port CONTAINER on the host's
        /// port HOST (repeatable)
        #[arg(short = 'p', long = "publish", value_name = "HOST:CONTAINER")]
        publish: Vec<lessons::kernel::net::bridge::Port>,
        /// Start the container and return: it runs on, named NAME, its output in a log
        /// (`learn-containers ps`, `logs`, `pause`, `resume`, `stop`, `rm`; chapter 10)
        #[arg(short = 'd', long, requires = "name")]
        detach: bool,
        /// The name of a detached container
        #[arg(long, value_name = "NAME", requires = "detach")]
        name: Option<String>,
        /// The command to run as PID 1, and its arguments (after --)
        #[arg(last = true, required = true, value_name = "CMD")]
        cmd: Vec<String>,
    },
    /// The detached containers (`run -d`), with their status read from the kernel
    Ps {
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Freeze a detached container's processes where they stand (the cgroup freezer)
    Pause {
        /// The container's name (`run -d --name`)
        name: String,
    },
    /// Thaw a paused container
    Resume {
        /// The container's name
        name: String,
    },
    /// Stop a container: SIGTERM to its PID 1, then SIGKILL after a grace period
    Stop {
        /// The container's name
        name: String,
        /// Seconds to wait after SIGTERM before SIGKILL
        #[arg(short = 't', long, value_name = "SECONDS", default_value_t = 10)]
        time: u64,
    },
    /// Remove a stopped container's record and log
    Rm {
        /// The container's name
        name: String,
        /// Kill it first if it still runs
        #[arg(short = 'f', long)]
        force: bool,
    },
    /// What a detached container's CMD printed
    Logs {
        /// The container's name
        name: String,
    },
    /// Can this host run the workshop? How to fix it if not
    Doctor,
    /// Remove what interrupted runs left behind
    Clean,
}

/// `learn-containers run --net MODE`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetMode {
    /// A network namespace of its own, with only lo, up
    None,
    /// A network namespace of its own on the host's bridge lc-br0, an address from
    /// 10.213.0.0/24, NAT out, and ports published with -p
    Bridge,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}
