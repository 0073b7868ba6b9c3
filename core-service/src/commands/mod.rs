//! The client operations, one file each: check the typed input, apply the
//! effect, answer. A session's operations reply on its outbox, and
//! [`dispatch`] is their one match; the unary calls (`history`, `chats`)
//! return what they found, and the transport converts it.

mod add_members;
mod block;
pub mod chats;
mod create_group;
mod delete_message;
pub mod download;
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
pub mod search_messages;
pub mod search_users;
mod send_message;
pub mod session_move;
mod session_state;
mod set_role;
mod sync;
pub mod typing;
pub mod upload;

use crate::error::Error;
use crate::state::Core;
use messenger_proto::v1::client_operation::Operation;
use messenger_proto::v1::{self as pb, server_event::Event};
pub use session_state::SessionState;
use startup::traces::SpanKind;

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
    let Core {
        chats,
        accounts,
        rates,
        live,
        ..
    } = core;
    let result = match operation {
        Operation::Login(login) => login::run(chats, accounts, live, session, login).await,
        Operation::SendMessage(send) => {
            send_message::run(chats, rates, live, session, send, &trace).await
        }
        Operation::CreateGroup(group) => create_group::run(chats, live, session, group).await,
        Operation::MessageSeen(seen) => message_seen::run(chats, live, session, seen).await,
        Operation::Sync(sync) => sync::run(chats, session, sync).await,
        Operation::WatchPresence(_) => presence::watch(chats, live, session).await,
        Operation::LeaveGroup(leave) => leave_group::run(chats, live, session, leave).await,
        Operation::BlockUser(block) => block::run(chats, live, session, &block.user_id, true).await,
        Operation::UnblockUser(unblock) => {
            block::run(chats, live, session, &unblock.user_id, false).await
        }
        Operation::ReadUpTo(read) => read_up_to::run(chats, live, session, read).await,
        Operation::OpenDirectChat(open) => open_direct_chat::run(chats, live, session, open).await,
        Operation::EditMessage(edit) => edit_message::run(chats, live, session, edit).await,
        Operation::DeleteMessage(delete) => delete_message::run(chats, live, session, delete).await,
        Operation::Typing(typing) => typing::run(chats, rates, live, session, typing).await,
        Operation::AddMembers(add) => add_members::run(chats, live, session, add).await,
        Operation::RemoveMember(remove) => remove_member::run(chats, live, session, remove).await,
        Operation::RenameGroup(rename) => rename_group::run(chats, live, session, rename).await,
        Operation::SetRole(set) => set_role::run(chats, live, session, set).await,
        Operation::SetPrivacy(set) => privacy::run(chats, live, session, set).await,
        Operation::HideChat(hide) => hide_chat::run(chats, live, session, hide).await,
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

/// Tells the session's client that its request failed with `error`.
pub(crate) async fn reply_error(
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
