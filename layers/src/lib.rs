//! The workspace's modules as a graph read from their sources, and the two
//! rules `docs/architecture.md` sets for it: no circles, and the layer
//! order written there (`tests/workspace.rs` checks both).
//!
//! - [`graph`]: a crate's modules and who uses whom.
//! - [`circles`]: modules that use one another, around a circle.
//! - [`order`]: the written layer order and the uses against it.

pub mod circles;
pub mod graph;
pub mod order;
