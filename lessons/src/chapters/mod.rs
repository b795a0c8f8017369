//! One module per chapter, each with its demo, its verifier and its hints, and the list
//! of them in course order. A chapter never imports another: what several chapters
//! share is in the kernel toolkit or a verify probe.

pub mod ch01_chroot;
pub mod ch02_pid_namespace;
pub mod ch03_mount_namespace;
pub mod ch04_cgroup_cpu;
pub mod ch05_run;
pub mod ch06_user_namespace;
pub mod ch07_network;
pub mod ch08_ipc_cgroup_time;
pub mod ch09_memory_pids;
pub mod ch10_lifecycle;

use crate::catalogue::{Chapter, Exercise};

/// Every chapter, in course order.
static ALL: &[&Chapter] = &[
    &ch01_chroot::CHAPTER,
    &ch02_pid_namespace::CHAPTER,
    &ch03_mount_namespace::CHAPTER,
    &ch04_cgroup_cpu::CHAPTER,
    &ch05_run::CHAPTER,
    &ch06_user_namespace::CHAPTER,
    &ch07_network::CHAPTER,
    &ch08_ipc_cgroup_time::CHAPTER,
    &ch09_memory_pids::CHAPTER,
    &ch10_lifecycle::CHAPTER,
];

/// Every chapter, in course order.
pub fn chapters() -> &'static [&'static Chapter] {
    ALL
}

/// Finds a chapter by number ("1", "01") or slug ("chroot").
pub fn find_chapter(key: &str) -> Option<&'static Chapter> {
    let key = key.trim();
    if let Ok(n) = key.parse::<u32>() {
        return chapters().iter().copied().find(|c| c.number == n);
    }
    let key = key.to_ascii_lowercase();
    chapters()
        .iter()
        .copied()
        .find(|c| c.slug == key || format!("ch{:02}-{}", c.number, c.slug) == key)
}

/// Finds an exercise by its id.
pub fn find_exercise(id: &str) -> Option<(&'static Chapter, &'static Exercise)> {
    chapters()
        .iter()
        .flat_map(|c| c.exercises.iter().map(move |e| (*c, e)))
        .find(|(_, e)| e.id == id)
}

#[cfg(test)]
mod rootless_tests {
    use super::*;
    use crate::catalogue::Rootless;

    #[test]
    fn namespaces_or_cgroups_alone_run_rootless_both_together_do_not() {
        let by_number: Vec<(u32, Rootless)> = chapters()
            .iter()
            .map(|c| (c.number, c.rootless()))
            .collect();
        assert_eq!(
            by_number,
            vec![
                (1, Rootless::UserNamespace),
                (2, Rootless::UserNamespace),
                (3, Rootless::UserNamespace),
                (4, Rootless::DelegatedCgroup),
                (5, Rootless::No),
                (6, Rootless::AsTheUser),
                (7, Rootless::UserNamespace),
                (8, Rootless::No),
                (9, Rootless::No),
                (10, Rootless::No),
            ]
        );
    }
}
