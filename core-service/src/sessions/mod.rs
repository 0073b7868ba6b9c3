//! Who is connected where, and delivery of events to them.

pub mod link;
pub mod registry;

pub use link::{Link, LinkSession, Links};
pub use registry::{CloseReason, Outbox, Registry, SessionId};
