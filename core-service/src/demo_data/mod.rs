//! The demo-data file (`fake_data.json`): its shape and generator (the
//! `demo-data` crate, shared with the load generator) and the loader that
//! puts it into the database ([`populate`]).

pub mod populate;

pub use demo_data::*;
