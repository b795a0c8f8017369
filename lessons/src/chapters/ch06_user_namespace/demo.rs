//! The guided demo of chapter 6 (being written).

use crate::present::Presenter;

pub const STEPS: usize = 5;

pub fn run(_p: &mut dyn Presenter) -> crate::Result<()> {
    Ok(())
}
