//! The REST endpoints.

pub mod accounts;
pub mod blocks;
pub mod body;
pub mod chats;
pub mod connections;
pub mod context;
pub mod docs;
pub mod health;
pub mod history;
pub mod media;
pub mod members;
pub mod oauth;
pub mod params;
pub mod people;
pub mod presence;
pub mod search;

pub use context::{Context, body_error, json_reply, query_error, with_context};
