//! Fuzz targets: each takes any bytes and feeds them to one of the places
//! where the messenger reads what a client (or a file) gives it, asserting
//! that it answers with a typed value or an error, never a panic or a hang.
//!
//! - [`frames`]: WebSocket text frames → the edge's parser and translator
//!   → the core's protobuf operation.
//! - [`rest`]: HTTP requests (method, path and query, body) → the edge's
//!   real routes (`/history`, the REST bodies, OAuth forms).
//! - [`session`]: protobuf `LinkSignal`s and `ClientOperation`s → decoded
//!   and dispatched by a real core on PostgreSQL; and `sync` cursors.
//! - [`populate`]: demo-data JSON → loaded, or refused with nothing loaded.
//!
//! `src/bin/` holds one `honggfuzz` binary per target (run by `fuzz/run`);
//! [`seeds`] makes their starting corpora, and `tests/short_runs.rs` runs
//! every target over its seeds and their mutations in the test suite, so
//! the harnesses keep working between fuzzing runs.

pub mod frames;
pub mod mutate;
pub mod populate;
pub mod rest;
pub mod seeds;
pub mod session;

/// The targets, by the names of their binaries and corpus folders.
pub const TARGETS: [&str; 5] = ["frames", "rest", "operations", "sync_cursors", "populate"];
