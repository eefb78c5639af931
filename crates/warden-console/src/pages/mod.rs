//! One module per section of the console (see [`crate::layout::SECTIONS`]).

pub mod audit;
pub mod check;
pub mod dashboard;
pub mod rules;
pub mod security;
pub mod sessions;
pub mod settings;
pub mod sign_in;
pub mod sod;
pub mod users;
pub mod webhooks;
