//! The guided demo of chapter 9 (being written).

use crate::present::Presenter;

pub const STEPS: usize = 4;

pub fn run(_p: &mut dyn Presenter) -> crate::Result<()> {
    Ok(())
}
