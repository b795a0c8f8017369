//! One purpose's cgroups across several controllers, memory and pids say: one directory
//! on v2, where every controller shares one tree, and one per hierarchy on v1 and hybrid,
//! where each controller has a tree of its own (`cgcreate -g memory,pids:NAME` makes the
//! same). A process joins all of them.

use std::path::PathBuf;

use super::error::CgroupError;
use super::group::Cgroup;
use super::hierarchy::CgroupFs;
use super::mode::Version;
use super::owned::OwnedCgroup;

/// Cgroups of one name, one in each hierarchy that holds one of the controllers asked
/// for; removed (members killed) when dropped.
#[derive(Debug)]
pub struct Joint {
    /// Each cgroup with the controllers it stands for, in the order they were asked for.
    groups: Vec<(Vec<String>, OwnedCgroup)>,
}

impl CgroupFs {
    /// Creates `learn-containers/<purpose>-<this pid>` in the hierarchy of each of
    /// `controllers` (once per hierarchy), as owned cgroups (see
    /// [`CgroupFs::create_owned`]).
    pub fn create_owned_joint(
        &self,
        controllers: &[&str],
        purpose: &str,
    ) -> Result<Joint, CgroupError> {
        let mut by_dir: Vec<(PathBuf, Vec<&str>)> = Vec::new();
        for c in controllers {
            let dir = self.require(c)?.dir;
            match by_dir.iter_mut().find(|(d, _)| *d == dir) {
                Some((_, cs)) => cs.push(c),
                None => by_dir.push((dir, vec![c])),
            }
        }
        let mut groups = Vec::new();
        for (_, cs) in by_dir {
            let owned = self.create_owned_for(&cs, purpose)?;
            groups.push((cs.iter().map(|c| c.to_string()).collect(), owned));
        }
        Ok(Joint { groups })
    }
}

impl CgroupFs {
    /// [`CgroupFs::create_owned_joint`], in reach of the freezer too: the v1 freezer
    /// hierarchy joins the list; on v2 every cgroup can be frozen, so one is made for it
    /// only when no controller asked for one.
    pub fn create_owned_joint_freezable(
        &self,
        controllers: &[&str],
        purpose: &str,
    ) -> Result<Joint, CgroupError> {
        if self.freezer()?.version == Version::V1 {
            let mut all = controllers.to_vec();
            all.push("freezer");
            return self.create_owned_joint(&all, purpose);
        }
        if controllers.is_empty() {
            let owned = self.create_owned_freezable(purpose)?;
            return Ok(Joint {
                groups: vec![(vec!["freezer".into()], owned)],
            });
        }
        self.create_owned_joint(controllers, purpose)
    }
}

impl Joint {
    /// The cgroup the freezer reaches: the one in the v1 freezer hierarchy, or on v2 any
    /// of them (there is one).
    pub fn freezer(&self) -> Option<&Cgroup> {
        self.of("freezer")
            .or_else(|| self.cgroups().find(|g| g.version == Version::V2))
    }

    /// The cgroup that holds `controller`.
    pub fn of(&self, controller: &str) -> Option<&Cgroup> {
        self.groups
            .iter()
            .find(|(cs, _)| cs.iter().any(|c| c == controller))
            .map(|(_, g)| &**g)
    }

    /// Every cgroup, once each: one on v2, one per hierarchy on v1.
    pub fn cgroups(&self) -> impl Iterator<Item = &Cgroup> {
        self.groups.iter().map(|(_, g)| &**g)
    }

    /// Each cgroup with the controllers it stands for.
    pub fn by_controller(&self) -> impl Iterator<Item = (&[String], &Cgroup)> {
        self.groups.iter().map(|(cs, g)| (cs.as_slice(), &**g))
    }

    /// Lets the children of every cgroup use its controllers (v2's subtree_control).
    pub fn enable_for_children(&self) -> Result<(), CgroupError> {
        for (cs, g) in &self.groups {
            for c in cs {
                g.enable_for_children(c)?;
            }
        }
        Ok(())
    }

    /// The child `name` of each cgroup, made where missing.
    pub fn make_children(&self, name: &str) -> Result<Vec<Cgroup>, CgroupError> {
        self.cgroups().map(|g| g.make_child(name)).collect()
    }

    /// Removes every cgroup now, members killed first; the first failure is returned.
    pub fn remove(self) -> Result<(), CgroupError> {
        let mut first = Ok(());
        for (_, g) in self.groups {
            let r = g.remove();
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}
