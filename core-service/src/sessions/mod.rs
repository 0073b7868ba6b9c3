//! Who is connected where, and delivery of events to them.

pub mod registry;

pub use registry::{CloseReason, Outbox, Registry, SessionId};
