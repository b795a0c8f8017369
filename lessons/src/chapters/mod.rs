//! One module per chapter, each with its demo, its verifier and its hints.

pub mod ch01_chroot;

use crate::catalogue::Chapter;

/// Every chapter, in course order.
pub static ALL: &[&Chapter] = &[&ch01_chroot::CHAPTER];
