//! One module per system tool; each registers itself.

mod analytics;
mod calendar;
mod export;
mod gmail;
