//! One module per command.

mod clean;
mod containers;
mod detach;
mod doctor;
mod hint;
mod lesson;
mod lifecycle;
mod list;
mod quiz;
mod reset;
mod run;
mod solution;
mod verify;
mod watch;

use lessons::Chapter;
use lessons::kernel::container::{Net, Root};

use crate::Outcome;
use crate::cli::{Cli, Command};
use crate::error::{CliError, Result};

pub fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::List => list::run(),
        Command::Lesson { chapter, yes } => lesson::run(&chapter, yes),
        Command::Verify {
            chapter,
            all,
            solution,
            format,
            bin_dir,
        } => verify::run(
            chapter.as_deref(),
            all,
            solution,
            format,
            bin_dir.as_deref(),
        ),
        Command::Watch { chapter } => watch::run(chapter.as_deref()),
        Command::Hint { chapter } => hint::run(&chapter),
        Command::Quiz { chapter, print } => quiz::run(&chapter, print),
        Command::Solution { chapter, force } => solution::run(&chapter, force),
        Command::Reset { chapter, yes } => reset::run(&chapter, yes),
        Command::Run {
            rootfs,
            cpus,
            memory,
            pids,
            hostname,
            keep_rootfs_readonly,
            rw,
            uptime_offset,
            net,
            publish,
            detach,
            name,
            cmd,
        } => {
            let root = if rw {
                Root::Writable
            } else if keep_rootfs_readonly {
                Root::ReadOnly
            } else {
                Root::Ephemeral
            };
            let net = match net {
                Some(crate::cli::NetMode::None) => Net::None,
                Some(crate::cli::NetMode::Bridge) => Net::Bridge,
                None => Net::Host,
            };
            let limits = run::Limits { cpus, memory, pids };
            let detached = name.filter(|_| detach);
            run::run(
                rootfs,
                limits,
                &hostname,
                root,
                uptime_offset,
                net,
                publish,
                detached.as_deref(),
                &cmd,
            )
        }
        Command::Ps { format } => lifecycle::ps(format),
        Command::Pause { name } => lifecycle::pause(&name),
        Command::Resume { name } => lifecycle::resume(&name),
        Command::Stop { name, time } => lifecycle::stop(&name, time),
        Command::Rm { name, force } => lifecycle::rm(&name, force),
        Command::Logs { name } => lifecycle::logs(&name),
        Command::Doctor => doctor::run(),
        Command::Clean => clean::run(),
    }
}

/// The chapter `watch` starts with when none is named: the first whose exercise has not
/// passed.
pub fn watch_first(progress: &crate::progress::Progress) -> Option<&'static Chapter> {
    watch::next_unpassed(progress, None)
}

/// The chapter a learner named, or a usage error that lists the valid ones.
pub fn chapter(key: &str) -> Result<&'static Chapter> {
    lessons::find_chapter(key).ok_or_else(|| {
        let list: Vec<String> = lessons::chapters()
            .iter()
            .map(|c| format!("{} ({})", c.number, c.slug))
            .collect();
        CliError::Usage(format!(
            "there is no chapter {key:?}; the chapters are: {}. Try `learn-containers lesson 1`",
            list.join(", ")
        ))
    })
}

/// Every chapter, and every verifier, copies the host's bash into a rootfs: without it,
/// say so before anything starts.
pub fn require_bash(what: &str) -> Result<()> {
    if which::which("bash").is_ok() {
        return Ok(());
    }
    Err(CliError::Usage(format!(
        "{what} needs bash on this host (every chapter copies it into a rootfs), and there is none in $PATH ({}): install it (`apt install bash`) or put its directory in PATH; `learn-containers doctor` checks the rest",
        std::env::var("PATH").unwrap_or_default()
    )))
}

/// What runs the chapters' kernel work without root: a user namespace (entered first
/// thing in main, then we are root in it) for the chapters that need only namespaces; a
/// cgroup v2 subtree delegated to the user for those that need cgroups; nothing for the
/// chapter that makes user namespaces itself.
pub fn require_privileges(what: &str, chapters: &[&Chapter]) -> Result<()> {
    use lessons::catalogue::Rootless;
    // Chapters that make user namespaces of their own run as whoever starts them.
    if chapters.iter().all(|c| c.rootless() == Rootless::AsTheUser) {
        return lessons::doctor::unprivileged_user_namespaces().map_err(|why| {
            CliError::Usage(format!(
                "{what} makes user namespaces as an unprivileged user, even when run as root, and this host refuses them ({why}): `learn-containers doctor` says how to allow them"
            ))
        });
    }
    let delegable = chapters
        .iter()
        .all(|c| c.rootless() == Rootless::DelegatedCgroup);
    let delegated = lessons::kernel::cgroup::delegation::base().is_some();
    if delegable && delegated {
        return Ok(());
    }
    require_root(what).map_err(|e| {
        // Delegation is a v2 feature: on v1 and hybrid hosts, root it is.
        let v2 = lessons::kernel::cgroup::CgroupFs::detect()
            .is_ok_and(|fs| fs.mode == lessons::kernel::cgroup::Mode::V2);
        if delegable && v2 {
            let args: Vec<String> = std::env::args().collect();
            CliError::Usage(format!(
                "{e}; without root, a cgroup v2 subtree delegated to you works too: `systemd-run --user --scope -p Delegate=yes {}`",
                args.join(" ")
            ))
        } else {
            e
        }
    })
}

/// Root (or a user namespace that maps us to root), for commands that need it.
pub fn require_root(what: &str) -> Result<()> {
    if nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let args: Vec<String> = std::env::args().collect();
    let rootless = match crate::rootless::failure() {
        Some(why) => format!(" and running it in a user namespace failed here ({why})"),
        None => String::new(),
    };
    Err(CliError::Usage(format!(
        "{what} needs root (chroot, mounts and cgroups){rootless}: run `sudo {}`",
        args.join(" ")
    )))
}
