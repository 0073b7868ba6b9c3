//! The client operations, one file each: check the typed input, apply the
//! effect, answer. A session's operations reply on its outbox, and
//! [`dispatch`] is their one match; the unary calls (`history`, `chats`)
//! return what they found, and the transport converts it.

mod add_members;
mod block;
pub mod chats;
mod create_group;
mod delete_message;
mod edit_message;
mod hide_chat;
pub mod history;
mod leave_group;
pub(crate) mod login;
mod message_seen;
mod open_direct_chat;
pub mod presence;
mod privacy;
mod read_up_to;
mod remove_member;
mod rename_group;
pub mod search_users;
mod send_message;
mod set_role;
mod sync;
pub mod typing;

use crate::error::{Error, Result};
use crate::ids::{ConnectionId, LoginId, UserId};
use crate::sessions::{Outbox, SessionId};
use crate::state::Core;
use crate::store::connections::{ConnectionOrigin, EndReason};
use chrono::{DateTime, Utc};
use messenger_proto::v1::client_operation::Operation;
use messenger_proto::v1::{self as pb, server_event::Event};
use startup::traces::SpanKind;
use std::sync::Arc;
use uuid::Uuid;

/// What the core knows about one client session.
pub struct SessionState {
    pub id: SessionId,
    /// The logged-in user; `None` until login.
    pub user: Option<UserId>,
    pub outbox: Arc<Outbox>,
    /// Where the connection comes from, as the edge reported it.
    pub origin: ConnectionOrigin,
    /// This login's row in the connection history.
    pub connection: Option<ConnectionId>,
    /// The login the session's credential belongs to, and when that
    /// credential expires; `None` for a session logged in with a password.
    pub grant: Option<(LoginId, DateTime<Utc>)>,
    /// The hash of the token its edge was given to move the session to
    /// another core (see [`resumable`]), revoked when the session ends here.
    pub resume_token: Option<String>,
}

impl SessionState {
    /// A session that has not logged in yet.
    pub fn new(id: SessionId, outbox: Arc<Outbox>, origin: ConnectionOrigin) -> Self {
        SessionState {
            id,
            user: None,
            outbox,
            origin,
            connection: None,
            grant: None,
            resume_token: None,
        }
    }

    /// Binds the session to `user` (replacing any earlier login) and
    /// replies `auth_success`.
    pub async fn log_in(
        &mut self,
        core: &Core,
        user: &crate::store::users::UserRecord,
    ) -> Result<()> {
        self.finish(core, EndReason::SwitchedUser).await;
        // Time-ordered like message ids: connection rows are append-only.
        let connection = ConnectionId(Uuid::now_v7());
        core.store
            .start_connection(connection, user.id, &self.origin, core.id)
            .await?;
        self.connection = Some(connection);
        self.user = Some(user.id);
        core.sessions
            .register(user.id, self.id, self.outbox.clone());
        self.outbox.logged_in();
        tracing::info!(user_id = %user.id, session_id = %self.id, "logged in");
        self.reply(Event::AuthSuccess(crate::convert::user(user)))
            .await;
        if self.outbox.is_linked() {
            let resumable = resumable(core, user.id, self.grant).await?;
            self.resume_token = Some(resumable.1);
            self.reply(Event::Resumable(resumable.0)).await;
        }
        if let Some(change) = core.presence.arrived(user.id).await {
            crate::events::presence::changed(core, user.id, change).await;
        }
        Ok(())
    }

    /// The logged-in user, or [`Error::NotAuthenticated`].
    pub fn user(&self) -> Result<UserId> {
        self.user.ok_or(Error::NotAuthenticated)
    }

    /// Makes the session unreachable and records in the connection history
    /// how it ended (a failure to record is logged, not fatal).
    pub async fn finish(&mut self, core: &Core, reason: EndReason) {
        // A session that ends with its core moves to another core: its
        // login stays, and its user does not go offline in between (the
        // core's presence counts go when it stops, see `cores::stop`).
        let moves = matches!(reason, EndReason::ServerShutdown | EndReason::Error);
        if self.connection.is_some() {
            crate::telemetry::session_ended(reason.name());
        }
        if let Some(user) = self.user.take() {
            core.sessions.unregister(user, self.id);
            let stopping = reason == EndReason::ServerShutdown;
            if !stopping && let Some(change) = core.presence.left(user).await {
                crate::events::presence::changed(core, user, change).await;
            }
        }
        if let Some(connection) = self.connection.take()
            && let Err(error) = core.store.end_connection(connection, reason).await
        {
            error.log();
        }
        if let Some(token) = self.resume_token.take().filter(|_| !moves)
            && let Err(error) = core.store.revoke_token(&token).await
        {
            error.log();
        }
    }

    /// Queues a reply to this session's own client.
    pub(crate) async fn reply(&self, event: Event) {
        let _ = self
            .outbox
            .reply(pb::ServerEvent { event: Some(event) })
            .await;
    }

    /// Replies with one event of a catch-up, as fast as the client takes
    /// them (see [`crate::sessions::Outbox::paced_reply`]).
    /// False once the session is gone: the rest of the catch-up is moot.
    pub(crate) async fn reply_paced(&self, event: Event) -> bool {
        self.outbox
            .paced_reply(pb::ServerEvent { event: Some(event) })
            .await
    }
}

/// What the edge of a session needs to move it to another core: a token
/// (see [`crate::accounts::resume_token`]), and the last seq of each of the
/// user's chats now (read after the session was registered, so every later
/// message reaches it live). Returns the token's hash too.
async fn resumable(
    core: &Core,
    user: UserId,
    grant: Option<(LoginId, DateTime<Utc>)>,
) -> Result<(pb::Resumable, String)> {
    let (token, hash) = crate::accounts::resume_token(core, user, grant).await?;
    let chats = core
        .store
        .chat_positions(user)
        .await?
        .into_iter()
        .map(|chat| {
            (
                chat.id.to_string(),
                u64::try_from(chat.last_seq).unwrap_or(0),
            )
        })
        .collect();
    let cursor = pb::Cursor { chats };
    let resumable = pb::Resumable {
        token,
        cursor: Some(cursor),
        user_id: user.to_string(),
    };
    Ok((resumable, hash))
}

/// Applies one client operation. A failure is answered with an `Error`
/// event that repeats the operation's `client_id` or `message_id`.
/// The operation's span continues the trace the caller passed, if any.
pub async fn dispatch(core: &Core, session: &mut SessionState, operation: pb::ClientOperation) {
    let pb::ClientOperation {
        operation,
        traceparent,
    } = operation;
    let Some(operation) = operation else {
        let error = Error::invalid("operation", "no operation given");
        return reply_error(session, error, None, None).await;
    };
    let parent = Some(traceparent.as_str()).filter(|value| !value.is_empty());
    let trace = core
        .traces
        .start(operation.name(), SpanKind::Consumer, parent);
    let (client_id, message_id) = request_ids(&operation);
    let result = match operation {
        Operation::Login(login) => login::run(core, session, login).await,
        Operation::SendMessage(send) => send_message::run(core, session, send, &trace).await,
        Operation::CreateGroup(group) => create_group::run(core, session, group).await,
        Operation::MessageSeen(seen) => message_seen::run(core, session, seen).await,
        Operation::Sync(sync) => sync::run(core, session, sync).await,
        Operation::WatchPresence(_) => presence::watch(core, session).await,
        Operation::LeaveGroup(leave) => leave_group::run(core, session, leave).await,
        Operation::BlockUser(block) => block::run(core, session, &block.user_id, true).await,
        Operation::UnblockUser(unblock) => block::run(core, session, &unblock.user_id, false).await,
        Operation::ReadUpTo(read) => read_up_to::run(core, session, read).await,
        Operation::OpenDirectChat(open) => open_direct_chat::run(core, session, open).await,
        Operation::EditMessage(edit) => edit_message::run(core, session, edit).await,
        Operation::DeleteMessage(delete) => delete_message::run(core, session, delete).await,
        Operation::Typing(typing) => typing::run(core, session, typing).await,
        Operation::AddMembers(add) => add_members::run(core, session, add).await,
        Operation::RemoveMember(remove) => remove_member::run(core, session, remove).await,
        Operation::RenameGroup(rename) => rename_group::run(core, session, rename).await,
        Operation::SetRole(set) => set_role::run(core, session, set).await,
        Operation::SetPrivacy(set) => privacy::run(core, session, set).await,
        Operation::HideChat(hide) => hide_chat::run(core, session, hide).await,
    };
    if let Err(error) = result {
        trace.fail(error.code());
        reply_error(session, error, client_id, message_id).await;
    }
}

/// The ids a client uses to tell which of its requests failed.
fn request_ids(operation: &Operation) -> (Option<String>, Option<String>) {
    match operation {
        Operation::SendMessage(send) => (Some(send.client_id.clone()), None),
        Operation::MessageSeen(seen) => (None, Some(seen.message_id.clone())),
        Operation::EditMessage(edit) => {
            (Some(edit.client_id.clone()), Some(edit.message_id.clone()))
        }
        Operation::DeleteMessage(delete) => (None, Some(delete.message_id.clone())),
        _ => (None, None),
    }
}

async fn reply_error(
    session: &SessionState,
    error: Error,
    client_id: Option<String>,
    message_id: Option<String>,
) {
    let user = session
        .user
        .map(|user| user.to_string())
        .unwrap_or_default();
    error.log_in(&session.id, &user);
    crate::telemetry::error_reply(error.code());
    let retry_after_seconds = error.retry_after_seconds();
    let event = Event::Error(pb::Error {
        code: error.code().to_owned(),
        message: error.to_string(),
        client_id,
        message_id,
        retry_after_seconds,
    });
    session.reply(event).await;
}
