//! What a container's start does, stage by stage: the table lesson 5 walks through, each
//! stage with the chapter it comes from and the shell command that does the same.

/// The steps of a container's start, in order, with the chapter each comes from and the
/// shell command that does the same. The demo walks through them; PID 1 does them.
pub const STAGES: &[Stage] = &[
    Stage {
        chapter: 1,
        what: "a root filesystem: a directory with bash, busybox and what they need",
        shell: "rootfs-builder DIR --bin bash --busybox",
    },
    Stage {
        chapter: 2,
        what: "new PID, mount and UTS namespaces, then fork: the child is PID 1",
        shell: "unshare --pid --mount --uts --fork",
    },
    Stage {
        chapter: 4,
        what: "a cgroup with the CPU cap, made by the caller; PID 1 joins it first, long before exec, so everything CMD forks is capped",
        shell: "echo \"50000 100000\" > CG/cpu.max; echo 0 > CG/tasks   # v2: CG/cgroup.procs",
    },
    Stage {
        chapter: 3,
        what: "make every mount private, so nothing propagates back to the host",
        shell: "mount --make-rprivate /",
    },
    Stage {
        chapter: 5,
        what: "one tmpfs for everything the container may write; on it, DIR as the lower layer of an overlay whose upper layer is that tmpfs: the container writes there, DIR never changes",
        shell: "mount -t tmpfs tmpfs /tmp; mkdir /tmp/{upper,work,root,dev,tmp}; mount -t overlay overlay -o lowerdir=DIR,upperdir=/tmp/upper,workdir=/tmp/work /tmp/root",
    },
    Stage {
        chapter: 5,
        what: "a /dev from that tmpfs: null, zero, full, random, urandom and tty made as the host's (bound from the host's where mknod is not allowed), a devpts of its own, /dev/shm",
        shell: "mknod -m 666 /tmp/dev/null c 1 3 ...; mount --rbind /tmp/dev /tmp/root/dev; mount -t devpts -o newinstance devpts /tmp/root/dev/pts",
    },
    Stage {
        chapter: 3,
        what: "a /tmp that only this container sees, from the same tmpfs",
        shell: "mount --bind /tmp/tmp /tmp/root/tmp",
    },
    Stage {
        chapter: 2,
        what: "a fresh proc, showing only the new PID namespace (mounted before pivot_root: in a user namespace the kernel mounts a proc only where one is already fully visible)",
        shell: "mount -t proc proc /tmp/root/proc",
    },
    Stage {
        chapter: 5,
        what: "pivot_root into it (an overlay is a mount point, as pivot_root needs), and detach the old root",
        shell: "cd /tmp/root; pivot_root . .; umount -l .",
    },
    Stage {
        chapter: 5,
        what: "a hostname of its own, in the new UTS namespace",
        shell: "hostname NAME",
    },
    Stage {
        chapter: 1,
        what: "exec CMD: it is PID 1, in the rootfs, with its own hostname, capped",
        shell: "exec CMD",
    },
];

/// One step of the composition.
#[derive(Debug, Clone, Copy)]
pub struct Stage {
    pub chapter: u32,
    pub what: &'static str,
    pub shell: &'static str,
}
