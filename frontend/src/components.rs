//! The dashboard's components, one file each.

pub mod alerts;
pub mod announcer;
pub mod chart;
pub mod chat;
pub mod pace;
pub mod status;
pub mod symbol_picker;
pub mod theme;
pub mod toasts;
pub mod watchlist;
