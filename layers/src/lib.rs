//! The workspace's modules as a graph read from their sources, and the
//! rules `docs/architecture.md` sets for them: no circles, the layer order
//! written there, and the core's operations taking services rather than
//! the whole core (`tests/workspace.rs` checks all three).
//!
//! - [`graph`]: a crate's modules and who uses whom.
//! - [`circles`]: modules that use one another, around a circle.
//! - [`order`]: the written layer order and the uses against it.
//! - [`reach`]: which functions take a given type (the core's operations
//!   take services, never the whole core).

pub mod circles;
pub mod graph;
pub mod order;
pub mod reach;
