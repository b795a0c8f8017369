//! Chapter 7 · Network namespace: a veth pair from the host into the container.

mod demo;
mod observe;
mod show;
mod steps;
pub mod verify;

use crate::catalogue::{Chapter, Exercise, Need};

pub static CHAPTER: Chapter = Chapter {
    number: 7,
    slug: "network",
    title: "unshare --net: a veth pair, a bridge, NAT and a published port",
    book_page: "ch07-network.md",
    steps: demo::STEPS,
    demo: demo::run,
    exercises: &[Exercise {
        id: "ch07_network",
        summary: "run a command in a new network namespace plugged into yours by a veth pair: lo up, eth0 addressed, a default route, the pair gone afterwards",
        path: "src/network.rs",
        shipped: include_str!("../../../exercises/src/network.rs"),
        verify: verify::verify,
    }],
    hints: &[
        "Run `unshare --net bash` as root and type `ip link`: why is there only lo, why is it down, and which process has to be where for `ip link add ... netns PID` to put the peer in the right namespace? A netlink socket acts in the namespace it was opened in: which process opens which one?",
        "Book: \"A namespace with nothing in it\" and \"A cable between two namespaces\". Man pages: man 7 network_namespaces, man 4 veth, man 2 unshare (CLONE_NEWNET), and man 7 rtnetlink for what each request of src/netlink.rs is.",
        "The shape: new_network_namespace is one unshare(CLONE_NEWNET). plug_in, in the parent: Netlink::open(), then create_veth(NAME, INSIDE, child), add_address(NAME, host), set_up(NAME). configure_inside, in the child: Netlink::open() (now inside), set_up(\"lo\"), add_address(INSIDE, container), set_up(INSIDE), add_default_route(host's address). unplug: Netlink::open() and delete_link(NAME).",
        "What the verifier's messages mean. `lo is down`: a new namespace's lo starts down. `no eth0 inside ... never moved`: the peer was made with the program's own PID, not the child's. `ENETUNREACH` on the route: eth0 needs its address and to be up before a route goes via the host address. `the pair was left behind`: the kernel removes a veth with its namespace only when nothing holds that namespace; delete NAME yourself.",
        "The answer. new_network_namespace: `unshare(CloneFlags::CLONE_NEWNET).map_err(|e| format!(\"unshare(CLONE_NEWNET): {e}\"))`. plug_in: `let nl = Netlink::open()?; nl.create_veth(&veth.name, INSIDE, child)?; nl.add_address(&veth.name, &veth.host)?; nl.set_up(&veth.name)`. configure_inside: `let nl = Netlink::open()?; nl.set_up(\"lo\")?; nl.add_address(INSIDE, &veth.container)?; nl.set_up(INSIDE)?; nl.add_default_route(veth.host.addr)`. unplug: `Netlink::open()?.delete_link(&veth.name)`.",
    ],
    quiz: include_str!("../../../../book/src/quiz/ch07.md"),
    needs: &[Need::Root],
};
