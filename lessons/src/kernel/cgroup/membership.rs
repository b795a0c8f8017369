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
