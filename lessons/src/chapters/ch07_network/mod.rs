//! Chapter 7 · Network namespace: a veth pair from the host into the container.
//! Not yet in `chapters::ALL`: its verifier and exercise are complete, its lesson and
//! book pages are not yet written.

mod observe;
pub mod verify;
