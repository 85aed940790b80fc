//! The dashboard's components, one file each.

pub mod chart;
pub mod status;
pub mod theme;
pub mod watchlist;
