//! The messenger core's gRPC contract.
//!
//! Everything here is generated from `proto/messenger/v1/messenger.proto`;
//! that file is the documentation of every message and RPC. The core service
//! implements [`v1::messenger_server::Messenger`], the edge calls it through
//! [`v1::messenger_client::MessengerClient`].

/// Version 1 of the `messenger.v1` package.
pub mod v1 {
    tonic::include_proto!("messenger.v1");
}

/// The encoded file descriptor set of the contract, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("messenger_descriptor");

pub mod timestamp;

/// Metadata key of an INVALID_ARGUMENT status that names the invalid field
/// of the request (e.g. `limit`), so callers can point at it.
pub const INVALID_FIELD_METADATA: &str = "x-invalid-field";
