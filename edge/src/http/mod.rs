//! The REST endpoints.

pub mod docs;
pub mod history;
