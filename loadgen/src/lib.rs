//! A load generator for the messenger. It speaks only the public protocol
//! (JSON over WebSocket at `/ws`, REST, OAuth tokens), so it can measure any
//! server that speaks it.
//!
//! Its modules, in their layers (`docs/architecture.md`, "Layers"), top
//! first:
//!
//! - [`report`]: a run's figures as text and JSON.
//! - [`files`], [`history`], [`idle`], [`run`], [`search`], [`soak`]: the
//!   kinds of load (uploads and downloads, history reads, idle connections,
//!   the send loop, one user's searches, the soak against a cluster with
//!   faults).
//! - [`chart`]: the charts of a run; [`connections`]: opening and logging
//!   in many sockets; [`ledger`]: every send and what became of it.
//! - [`client`]: one protocol client; [`dataset`]: the users and chats of
//!   a data set; [`latency`]: latency histograms; [`process`]: the CPU and
//!   memory of the server's processes; [`timeline`]: figures per second.

pub mod chart;
pub mod client;
pub mod connections;
pub mod dataset;
pub mod files;
pub mod history;
pub mod idle;
pub mod latency;
pub mod ledger;
pub mod limits;
pub mod one_user;
pub mod process;
pub mod report;
pub mod run;
pub mod soak;
pub mod sync;
pub mod timeline;
