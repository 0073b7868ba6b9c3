//! The core's one error type, and its mapping to the wire.
//!
//! An error inside a session becomes an `Error` event (its `code` is stable,
//! its text is for humans); an error in a unary RPC becomes a gRPC status.
//! Internal causes are logged where they happen and never sent to clients.

use tonic::Status;

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field of an operation has an invalid value.
    #[error("invalid {field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
    /// Wrong password, or no account with that email.
    #[error("wrong email or password")]
    InvalidCredentials,
    /// Too many failed logins for the account or from the address, or
    /// too many registrations from the address.
    #[error("too many attempts: retry in {retry_after_seconds} seconds")]
    TooManyAttempts { retry_after_seconds: u32 },
    /// The user sends messages faster than one user may (all devices and
    /// cores together).
    #[error("too many messages: retry in {retry_after_seconds} seconds")]
    RateLimited { retry_after_seconds: u32 },
    /// A credential that is missing, unknown, expired or revoked.
    #[error("missing, invalid, expired or revoked credential")]
    InvalidCredential,
    /// A refresh token that is unknown, expired, or already used.
    #[error("invalid, expired or already used refresh token")]
    InvalidGrant,
    /// Registration with an email that already has an account.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// An operation other than login on a session that has not logged in.
    #[error("access denied: log in first")]
    NotAuthenticated,
    /// A send whose `sender_id` is not the logged-in user.
    #[error("access denied: sender_id is not the logged-in user")]
    SenderMismatch,
    /// The chat does not exist or the user is not one of its members.
    #[error("access denied: you are not a member of this chat")]
    NotAMember,
    /// The message does not exist or is in a chat the user is not in.
    #[error("no such message in your chats")]
    MessageNotFound,
    /// An edit or delete of someone else's message.
    #[error("only its sender may change a message")]
    NotYourMessage,
    /// An edit of a deleted message.
    #[error("the message was deleted")]
    MessageDeleted,
    /// The user's role in the group does not allow this change.
    #[error("your role in this group does not allow this")]
    NotAllowed,
    /// A member change names a user who is not in the chat.
    #[error("user {0} is not a member of this chat")]
    NotInChat(crate::ids::UserId),
    /// The user has created as many groups as one user may.
    #[error("you have created {max} groups, the most one user may")]
    TooManyGroups { max: usize },
    /// The user has as many sessions logged in on this core as one may.
    #[error("you have {max} connections logged in, the most one user may; close one first")]
    TooManySessions { max: usize },
    /// A new group's member is in as many chats as one user may be.
    #[error("user {0} is in as many chats as one user may be")]
    TooManyChats(crate::ids::UserId),
    /// A new group's member blocks its creator.
    #[error("user {0} does not accept being added by you")]
    Blocked(crate::ids::UserId),
    /// A new member lets only their contacts add them to groups.
    #[error("user {0} lets only their contacts add them to groups")]
    ContactsOnly(crate::ids::UserId),
    /// Leaving a personal chat, which has no membership to give up.
    #[error("a personal chat cannot be left")]
    PersonalChat,
    /// A `client_id` already used for a different message: the retry of a
    /// send must repeat it exactly.
    #[error("client_id already used for a different message")]
    ClientIdReused,
    /// A send written longer ago than the idempotency window, whose first
    /// attempt's key may be forgotten: storing it might store a message
    /// twice (`sql/0033`).
    #[error(
        "this send was written longer ago than the server keeps retries for; if it was never \
         acked, send it again with a new client_id and the current time"
    )]
    StaleRetry,
    /// Too many password hashes are waiting already: retry in a moment.
    #[error("the server is busy: retry in a moment")]
    Busy,
    /// A referenced user does not exist.
    #[error("unknown user {0}")]
    UnknownUser(crate::ids::UserId),
    #[error("the file is larger than {max_bytes} bytes, the most one upload may be")]
    FileTooLarge { max_bytes: u64 },
    #[error("the file would take your storage beyond its {quota_bytes} bytes")]
    QuotaExceeded { quota_bytes: u64 },
    #[error("the image has more than {max_pixels} pixels")]
    ImageTooLarge { max_pixels: u64 },
    #[error("the upload ended before all its bytes came")]
    TruncatedUpload,
    #[error("no such file of yours, or it was deleted")]
    UnknownAttachment,
    #[error("the file was sent in another message already")]
    AttachmentInUse,
    #[error("no such file in your chats")]
    FileNotFound,
    #[error("the range asked for is beyond the file's {size} bytes")]
    RangeNotSatisfiable { size: u64 },
    #[error("file storage unavailable")]
    Storage(#[from] object_store::Error),
    /// The database failed; the cause is logged, never sent.
    #[error("database error occurred")]
    Database(#[from] tokio_postgres::Error),
    /// No database connection could be had in time.
    #[error("database unavailable")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// Who is online could not be read (Redis failed); the cause is logged.
    #[error("presence unavailable")]
    Presence(#[from] crate::presence::PresenceError),
    /// Anything else that is the core's fault.
    #[error("internal error")]
    Internal(String),
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::InvalidField`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidField {
            field,
            reason: reason.into(),
        }
    }

    /// [`Error::TooManyAttempts`] for a throttle's `wait`, in whole seconds
    /// rounded up.
    pub fn too_many_attempts(wait: std::time::Duration) -> Self {
        Error::TooManyAttempts {
            retry_after_seconds: u32::try_from(wait.as_secs() + 1).unwrap_or(u32::MAX),
        }
    }

    /// [`Error::RateLimited`] for a wait, in whole seconds rounded up.
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        Error::RateLimited {
            retry_after_seconds: seconds_up(wait),
        }
    }

    /// The seconds a client is told to wait, if this error has one.
    pub fn retry_after_seconds(&self) -> Option<u32> {
        match self {
            Error::TooManyAttempts {
                retry_after_seconds,
            }
            | Error::RateLimited {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            _ => None,
        }
    }

    /// The stable snake_case code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidField { .. } => "invalid_field",
            Error::InvalidCredentials => "invalid_credentials",
            Error::TooManyAttempts { .. } => "too_many_attempts",
            Error::RateLimited { .. } => "rate_limited",
            Error::InvalidCredential => "invalid_credential",
            Error::InvalidGrant => "invalid_grant",
            Error::EmailTaken => "email_taken",
            Error::NotAuthenticated => "not_authenticated",
            Error::SenderMismatch => "sender_mismatch",
            Error::NotAMember => "not_a_member",
            Error::MessageNotFound => "message_not_found",
            Error::NotYourMessage => "not_your_message",
            Error::NotAllowed => "not_allowed",
            Error::NotInChat(_) => "not_in_chat",
            Error::MessageDeleted => "message_deleted",
            Error::UnknownUser(_) => "unknown_user",
            Error::FileTooLarge { .. } => "file_too_large",
            Error::QuotaExceeded { .. } => "quota_exceeded",
            Error::ImageTooLarge { .. } => "image_too_large",
            Error::TruncatedUpload => "truncated_upload",
            Error::UnknownAttachment => "unknown_attachment",
            Error::AttachmentInUse => "attachment_in_use",
            Error::FileNotFound => "file_not_found",
            Error::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            Error::TooManyGroups { .. } => "too_many_groups",
            Error::TooManyChats(_) => "too_many_chats",
            Error::TooManySessions { .. } => "too_many_sessions",
            Error::Blocked(_) => "blocked",
            Error::ContactsOnly(_) => "contacts_only",
            Error::PersonalChat => "personal_chat",
            Error::ClientIdReused => "client_id_reused",
            Error::StaleRetry => "stale_retry",
            Error::Busy => "server_busy",
            Error::Database(_)
            | Error::Pool(_)
            | Error::Presence(_)
            | Error::Storage(_)
            | Error::Internal(_) => "internal_error",
        }
    }

    /// Logs internal causes; client errors are not worth a warning.
    pub fn log(&self) {
        match self {
            Error::Database(cause) => tracing::error!(%cause, "database error"),
            Error::Pool(cause) => tracing::error!(%cause, "database pool error"),
            Error::Presence(cause) => tracing::warn!(%cause, "presence unavailable"),
            Error::Internal(cause) => tracing::error!(%cause, "internal error"),
            Error::Storage(cause) => tracing::error!(%cause, "file storage error"),
            _ => tracing::debug!(code = self.code(), "operation refused"),
        }
    }

    /// [`Error::log`] for an operation of a session: the line names the
    /// session and its user (empty before login), so that one client's
    /// trouble can be followed in the logs.
    pub fn log_in(&self, session_id: &dyn std::fmt::Display, user_id: &dyn std::fmt::Display) {
        match self {
            Error::Database(cause) => {
                tracing::error!(%cause, %session_id, %user_id, "database error");
            }
            Error::Pool(cause) => {
                tracing::error!(%cause, %session_id, %user_id, "database pool error");
            }
            Error::Presence(cause) => {
                tracing::warn!(%cause, %session_id, %user_id, "presence unavailable");
            }
            Error::Internal(cause) => {
                tracing::error!(%cause, %session_id, %user_id, "internal error");
            }
            Error::Storage(cause) => {
                tracing::error!(%cause, %session_id, %user_id, "file storage error");
            }
            _ => tracing::debug!(code = self.code(), %session_id, %user_id, "operation refused"),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        let code = error.code();
        let mut status = status(error);
        status.metadata_mut().insert(
            messenger_proto::ERROR_CODE_METADATA,
            tonic::metadata::MetadataValue::from_static(code),
        );
        status
    }
}

/// The status of `error`, logged.
fn status(error: Error) -> Status {
    {
        error.log();
        let text = error.to_string();
        match error {
            Error::InvalidField { field, .. } => {
                let mut status = Status::invalid_argument(text);
                status.metadata_mut().insert(
                    messenger_proto::INVALID_FIELD_METADATA,
                    tonic::metadata::MetadataValue::from_static(field),
                );
                status
            }
            Error::UnknownUser(_) | Error::TruncatedUpload => Status::invalid_argument(text),
            Error::FileTooLarge { .. }
            | Error::QuotaExceeded { .. }
            | Error::ImageTooLarge { .. }
            | Error::AttachmentInUse => Status::failed_precondition(text),
            Error::UnknownAttachment | Error::FileNotFound => Status::not_found(text),
            Error::RangeNotSatisfiable { size } => {
                let mut status = Status::out_of_range(text);
                status
                    .metadata_mut()
                    .insert(messenger_proto::FILE_SIZE_METADATA, size.into());
                status
            }
            Error::InvalidCredentials
            | Error::NotAuthenticated
            | Error::InvalidCredential
            | Error::InvalidGrant => Status::unauthenticated(text),
            Error::TooManyAttempts {
                retry_after_seconds,
            }
            | Error::RateLimited {
                retry_after_seconds,
            } => {
                let mut status = Status::resource_exhausted(text);
                status.metadata_mut().insert(
                    messenger_proto::RETRY_AFTER_METADATA,
                    retry_after_seconds.into(),
                );
                status
            }
            Error::EmailTaken | Error::ClientIdReused => Status::already_exists(text),
            Error::TooManyGroups { .. } | Error::TooManyChats(_) | Error::StaleRetry => {
                Status::failed_precondition(text)
            }
            Error::TooManySessions { .. } => Status::resource_exhausted(text),
            Error::SenderMismatch
            | Error::NotAMember
            | Error::Blocked(_)
            | Error::ContactsOnly(_)
            | Error::NotYourMessage
            | Error::NotAllowed => Status::permission_denied(text),
            Error::PersonalChat | Error::MessageDeleted => Status::failed_precondition(text),
            Error::MessageNotFound | Error::NotInChat(_) => Status::not_found(text),
            Error::Pool(_) | Error::Presence(_) | Error::Busy => Status::unavailable(text),
            Error::Database(_) | Error::Storage(_) | Error::Internal(_) => Status::internal(text),
        }
    }
}

/// `wait` in whole seconds, rounded up, at least one.
fn seconds_up(wait: std::time::Duration) -> u32 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    u32::try_from(seconds.max(1)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    #[test]
    fn client_errors_map_to_their_status_codes() {
        let cases = [
            (
                Error::invalid("chat_id", "not a uuid"),
                Code::InvalidArgument,
            ),
            (Error::InvalidCredentials, Code::Unauthenticated),
            (Error::NotAMember, Code::PermissionDenied),
            (Error::MessageNotFound, Code::NotFound),
            (Error::Internal("boom".into()), Code::Internal),
        ];
        for (error, code) in cases {
            assert_eq!(Status::from(error).code(), code);
        }
    }

    #[test]
    fn invalid_fields_are_named_in_metadata() {
        let status = Status::from(Error::invalid("limit", "too big"));
        let field = status
            .metadata()
            .get(messenger_proto::INVALID_FIELD_METADATA)
            .unwrap();
        assert_eq!(field.to_str().unwrap(), "limit");
    }

    #[test]
    fn internal_causes_are_not_sent_to_clients() {
        let status = Status::from(Error::Internal("secret detail".into()));
        assert!(!status.message().contains("secret"));
    }
}
