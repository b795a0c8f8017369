//! Which cgroups a process is in: /proc/PID/cgroup, one line per hierarchy.

use std::path::PathBuf;

/// One line of /proc/PID/cgroup: `hierarchy-id:controllers:path` (`0::/path` is the v2
/// tree; v1 lines name their controllers, or `name=systemd` for a named hierarchy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The hierarchy id; 0 is the cgroup2 tree.
    pub hierarchy: u32,
    /// The controllers bound to the hierarchy (empty on v2).
    pub controllers: Vec<String>,
    /// The cgroup's path, relative to the hierarchy's root (or to the reader's cgroup
    /// namespace root).
    pub path: PathBuf,
}

impl Membership {
    /// The v2 line.
    pub fn is_unified(&self) -> bool {
        self.hierarchy == 0 && self.controllers.is_empty()
    }

    /// Whether this v1 line is for `controller`'s hierarchy.
    pub fn binds(&self, controller: &str) -> bool {
        self.hierarchy != 0 && self.controllers.iter().any(|c| c == controller)
    }
}

/// Parses the text of /proc/PID/cgroup. Lines that do not have that shape are skipped.
pub fn parse(text: &str) -> Vec<Membership> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let hierarchy = it.next()?.parse().ok()?;
            let controllers = it
                .next()?
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            let path = PathBuf::from(it.next()?);
            Some(Membership {
                hierarchy,
                controllers,
                path,
            })
        })
        .collect()
}

/// The line of `lines` for the hierarchy a cgroup of `version` binding `controller` is in:
/// the v2 line (`0::`), or the v1 line that lists `controller`.
pub fn line_for<'a>(
    lines: &'a [Membership],
    version: super::Version,
    controller: &str,
) -> Option<&'a Membership> {
    lines.iter().find(|m| match version {
        super::Version::V1 => m.binds(controller),
        super::Version::V2 => m.is_unified(),
    })
}

/// The lines whose path is not `/`: what a process whose cgroup namespace is rooted at
/// its own cgroups (in every hierarchy: the cgroups it was in when it unshared) would not
/// show. Empty for a process that sees itself at the root everywhere.
pub fn not_at_root(lines: &[Membership]) -> Vec<&Membership> {
    lines
        .iter()
        .filter(|m| m.path != std::path::Path::new("/"))
        .collect()
}

/// A line as /proc/PID/cgroup shows it: `4:cpu:/a/b`, `0::/`.
pub fn show(m: &Membership) -> String {
    format!(
        "{}:{}:{}",
        m.hierarchy,
        m.controllers.join(","),
        m.path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::cgroup::Version;

    const HYBRID_INSIDE: &str = "12:pids:/\n4:cpu:/\n1:name=systemd:/\n0::/\n";
    const HYBRID_OUTSIDE: &str = "12:pids:/learn-containers/verify-9\n4:cpu:/learn-containers/ch08-verify-9/ch08-77\n1:name=systemd:/user.slice\n0::/\n";

    #[test]
    fn finds_the_line_of_a_hierarchy_on_v1_and_v2() {
        let out = parse(HYBRID_OUTSIDE);
        let cpu = line_for(&out, Version::V1, "cpu").unwrap();
        assert_eq!(
            cpu.path,
            PathBuf::from("/learn-containers/ch08-verify-9/ch08-77")
        );
        assert_eq!(show(cpu), "4:cpu:/learn-containers/ch08-verify-9/ch08-77");
        assert_eq!(show(line_for(&out, Version::V2, "cpu").unwrap()), "0::/");
        assert!(line_for(&parse("0::/a\n"), Version::V1, "cpu").is_none());
    }

    #[test]
    fn a_namespace_rooted_at_its_cgroups_shows_slash_everywhere() {
        assert!(not_at_root(&parse(HYBRID_INSIDE)).is_empty());
        let leaked = parse("4:cpu:/../ch08-77\n0::/\n");
        let off: Vec<String> = not_at_root(&leaked).into_iter().map(show).collect();
        assert_eq!(off, vec!["4:cpu:/../ch08-77"]);
        assert_eq!(not_at_root(&parse(HYBRID_OUTSIDE)).len(), 3);
    }
}
