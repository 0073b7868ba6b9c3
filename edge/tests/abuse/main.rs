//! Attacks on the edge by anonymous or registered clients, one module per
//! family, each against the real stack: sockets that never log in, slow
//! HTTP clients.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod consent;
mod cookies;
mod passwords;
mod sizes;
mod slow_http;
mod sockets;
mod throttle;
mod tls;
