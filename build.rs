//! Generates the gRPC client and server code from `proto/`.
//!
//! The `.proto` files are compiled in pure Rust (protox), so a fresh clone
//! builds without a system `protoc`. The encoded descriptor set is written to
//! `OUT_DIR` as well, for the core's gRPC server reflection.
//!
//! Generation runs twice: once for the messages, once for the service code.
//! The second run maps `ServerEvent` to [`SharedEvent`](src/shared_event.rs),
//! a wire-identical type that can carry an event encoded once for many
//! sessions; `LinkDelivery`, which holds one, is written by hand in
//! `src/shared_event.rs` for the same reason.

use prost::Message;
use std::{env, fs, path::PathBuf};

const PROTO_FILES: &[&str] = &["proto/messenger/v1/messenger.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(PROTO_FILES, ["proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("messenger_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .extern_path(".messenger.v1.LinkDelivery", "crate::LinkDelivery")
        .build_client(false)
        .build_server(false)
        .out_dir(&out_dir)
        .compile_fds(descriptors.clone())?;
    let services = out_dir.join("services");
    fs::create_dir_all(&services)?;
    tonic_prost_build::configure()
        .extern_path(".messenger.v1", "crate::v1")
        .extern_path(".messenger.v1.ServerEvent", "crate::SharedEvent")
        .extern_path(".messenger.v1.LinkDelivery", "crate::LinkDelivery")
        .codec_path("crate::codec::SmallBufferCodec")
        .out_dir(&services)
        .compile_fds(descriptors)?;
    Ok(())
}
