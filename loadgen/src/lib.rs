//! A load generator for the messenger. It speaks only the public protocol
//! (JSON over WebSocket at `/ws`, REST, OAuth tokens), so it can measure any
//! server that speaks it.

pub mod chart;
pub mod client;
pub mod connections;
pub mod dataset;
pub mod history;
pub mod idle;
pub mod latency;
pub mod ledger;
pub mod process;
pub mod report;
pub mod run;
pub mod soak;
pub mod timeline;
