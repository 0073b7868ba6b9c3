//! The core's gRPC face, driven with real gRPC clients, one module per
//! family: health and reflection, history, login check, session streams,
//! edge links.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod abuse_access;
mod abuse_core_port;
mod abuse_input;
mod accounts;
mod common;
mod history;
mod links;
mod media;
mod search;
mod service;
mod sessions;
