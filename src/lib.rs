//! The messenger core's gRPC contract.
//!
//! Everything in [`v1`] is generated from `proto/messenger/v1/messenger.proto`;
//! that file is the documentation of every message and RPC. The core service
//! implements [`v1::messenger_server::Messenger`], the edge calls it through
//! [`v1::messenger_client::MessengerClient`]. The `Session` stream and the
//! `EdgeLink` deliveries carry [`SharedEvent`]s, which are `ServerEvent`s
//! on the wire.
//!
//! Beside [`v1`]: `shared_event` (an event encoded once for many
//! sessions), [`codec`] (prost with small buffers, for every RPC),
//! [`timestamp`] (times on the wire and in the protocol's text), `address`
//! (client addresses as the per-address limits count them: IPv6 by /64) and
//! `edge_secret` (the secret the edges present to the cores).

/// Version 1 of the `messenger.v1` package.
// Generated code: its length is the generator's.
#[allow(clippy::too_many_lines)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/messenger.v1.rs"));
    include!(concat!(env!("OUT_DIR"), "/services/messenger.v1.rs"));
}

mod address;
pub mod codec;
mod edge_secret;
mod had;
mod shared_event;
pub mod timestamp;

pub use address::{address_group, address_key};
pub use edge_secret::{
    EDGE_SECRET_METADATA, EdgeSecret, MIN_EDGE_SECRET_CHARS, secret_text, text_or_file,
};
pub use had::Had;
pub use shared_event::{LinkDelivery, SharedEvent};

/// The encoded file descriptor set of the contract, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("messenger_descriptor");

/// Metadata key of an INVALID_ARGUMENT status that names the invalid field
/// of the request (e.g. `limit`), so callers can point at it.
pub const INVALID_FIELD_METADATA: &str = "x-invalid-field";

/// Metadata key carrying the client's network address (for login throttling).
pub const CLIENT_ADDRESS_METADATA: &str = "x-client-address";

/// Metadata key of a RESOURCE_EXHAUSTED login status: seconds to wait.
pub const RETRY_AFTER_METADATA: &str = "retry-after";

/// The metadata entry naming why the core refused a call (the `code` of
/// its error, as WebSocket error frames name it: `file_too_large`, …).
pub const ERROR_CODE_METADATA: &str = "messenger-error";

/// The metadata entry of an OUT_OF_RANGE download: the file's size.
pub const FILE_SIZE_METADATA: &str = "file-size";

/// Metadata key carrying the client's `User-Agent` (for connection history).
pub const CLIENT_USER_AGENT_METADATA: &str = "x-client-user-agent";

/// Metadata key naming the edge that serves a session (for connection history).
pub const EDGE_ID_METADATA: &str = "x-edge-id";

/// Metadata key naming an edge's link (a UUID) on `EdgeLink`.
pub const EDGE_LINK_METADATA: &str = "x-edge-link";

/// Metadata key on `EdgeLink` in which the edge names how many frames of a
/// session's catch-up it takes ahead of the session's socket (see
/// `LinkDelivery.paced`); without it the core does not pace catch-ups.
pub const EDGE_CREDIT_METADATA: &str = "x-edge-credit";

/// The largest credit window the core accepts in [`EDGE_CREDIT_METADATA`]:
/// more would let one catch-up fill a link's share of replies by itself.
pub const MAX_CREDIT_WINDOW: u32 = 4096;

/// How many operations of one session on an edge link the core may not
/// have taken yet: the edge sends no more until the core reports some
/// taken (`LinkDelivery.operations_taken`).
pub const LINK_OPERATION_WINDOW: u32 = 64;

impl v1::EndReason {
    /// The reason's name in `connections.end_reason` and in the REST API.
    pub fn name(self) -> &'static str {
        match self {
            v1::EndReason::Unspecified => "unspecified",
            v1::EndReason::ClientClosed => "client_closed",
            v1::EndReason::Error => "error",
            v1::EndReason::ServerShutdown => "server_shutdown",
            v1::EndReason::SlowConsumer => "slow_consumer",
            v1::EndReason::SwitchedUser => "switched_user",
            v1::EndReason::LoggedOut => "logged_out",
            v1::EndReason::TimedOut => "timed_out",
            v1::EndReason::Overloaded => "overloaded",
            v1::EndReason::Expired => "expired",
        }
    }
}

impl v1::client_operation::Operation {
    /// The operation's name, as its field in `ClientOperation` (the JSON
    /// frame's `type` for the additions): a span's name, a log field.
    pub fn name(&self) -> &'static str {
        use v1::client_operation::Operation;
        match self {
            Operation::Login(_) => "login",
            Operation::SendMessage(_) => "send_message",
            Operation::CreateGroup(_) => "create_group",
            Operation::MessageSeen(_) => "message_seen",
            Operation::Sync(_) => "sync",
            Operation::WatchPresence(_) => "watch_presence",
            Operation::LeaveGroup(_) => "leave_group",
            Operation::BlockUser(_) => "block_user",
            Operation::UnblockUser(_) => "unblock_user",
            Operation::ReadUpTo(_) => "read_up_to",
            Operation::OpenDirectChat(_) => "open_direct_chat",
            Operation::EditMessage(_) => "edit_message",
            Operation::DeleteMessage(_) => "delete_message",
            Operation::Typing(_) => "typing",
            Operation::AddMembers(_) => "add_members",
            Operation::RemoveMember(_) => "remove_member",
            Operation::RenameGroup(_) => "rename_group",
            Operation::SetRole(_) => "set_role",
            Operation::SetPrivacy(_) => "set_privacy",
            Operation::HideChat(_) => "hide_chat",
        }
    }
}

impl From<v1::client_operation::Operation> for v1::ClientOperation {
    /// The operation, with no trace context.
    fn from(operation: v1::client_operation::Operation) -> Self {
        v1::ClientOperation {
            operation: Some(operation),
            traceparent: String::new(),
        }
    }
}
