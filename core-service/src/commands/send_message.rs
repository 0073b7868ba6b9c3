//! `SendMessage`: stores a message, acks it, delivers it to the chat.

use super::SessionState;
use crate::convert::parse_uuid;
use crate::error::{Error, Result};
use crate::events;
use crate::ids::{MessageId, UserId};
use crate::state::{Chats, Live, Rates};
use crate::store::records::{Attachments, NewMessage, StoredMessage};
use crate::store::sent_keys::MAX_CLOCK_AHEAD;
use chrono::{DateTime, Utc};
use messenger_proto::v1::{MessageAck, SendMessage, server_event::Event};
use startup::traces::Trace;
use uuid::Uuid;

/// Most files one message may carry.
pub const MAX_ATTACHMENTS: usize = 10;

/// Stores the message (one round trip), then acks it to this session, then
/// delivers it once to every other live session of every member, on every
/// core. A retry of a stored message (same `client_id`) is acked again and
/// nothing else. `trace` (the operation's span) gets the store's and the
/// fan-out's spans.
pub async fn run(
    chats: &Chats,
    rates: &Rates,
    live: &Live,
    session: &mut SessionState,
    send: SendMessage,
    trace: &Trace,
) -> Result<()> {
    let started = startup::metrics_on().then(std::time::Instant::now);
    let user = session.user()?;
    let mut message = parse(chats, user, &send)?;
    message.attachments = attachments(chats, user, &send.attachment_ids).await?;
    rates.send.take(user).await.map_err(Error::rate_limited)?;
    let members = chats
        .membership
        .members_with(&chats.store, message.chat_id, user)
        .await?
        .ok_or(Error::NotAMember)?;
    live.order.sending(message.id, session.id);
    let storing = trace.child("store");
    let stored = if message.attachments.is_empty() {
        chats.writer.store(message.clone()).await
    } else {
        // Rare and heavier (the uploads' locks): on its own, not batched.
        chats.store.insert_message_with_attachments(&message).await
    };
    storing.end();
    let stored = match stored {
        Ok(Some(stored)) if stored.created => stored,
        other => {
            live.order.not_sent(message.id);
            let Some(stored) = other? else {
                // The database refused a sender the cache took for a
                // member: the cached list is stale.
                chats.membership.read(&chats.store, message.chat_id).await?;
                return Err(Error::NotAMember);
            };
            stored
        }
    };
    if !stored.created {
        same_as_stored(chats, &message, &stored).await?;
    }
    let ack = MessageAck {
        client_id: send.client_id,
        id: stored.id.to_string(),
        timestamp: Some(messenger_proto::timestamp::to_proto(stored.timestamp)),
        seq: u64::try_from(stored.seq).unwrap_or_default(),
        chat_id: stored.chat_id.to_string(),
    };
    session.reply(Event::MessageAck(ack)).await;
    if let Some(started) = started {
        crate::telemetry::acked(started.elapsed());
    }
    trace.record("messenger.chat_id", || stored.chat_id.to_string());
    trace.record("messenger.seq", || stored.seq);
    if !stored.created {
        trace.record("messenger.retry", || true);
        return Ok(());
    }
    chats.words.note(stored.chat_id);
    let fan_out = trace.child("fan_out");
    fan_out.record("messenger.members", || {
        i64::try_from(members.len()).unwrap_or(i64::MAX)
    });
    events::stored(chats, live, stored.record(&message), members, session.id).await;
    fan_out.end();
    Ok(())
}

/// A retry must repeat the stored message: a `client_id` reused for another
/// chat or text is a client bug that would otherwise lose that message
/// silently behind the old one's ack. (One read, on retries only.)
async fn same_as_stored(chats: &Chats, message: &NewMessage, stored: &StoredMessage) -> Result<()> {
    if stored.chat_id != message.chat_id {
        return Err(Error::ClientIdReused);
    }
    match chats.store.message_text(stored.id).await? {
        Some(text) if text == message.text => Ok(()),
        _ => Err(Error::ClientIdReused),
    }
}

/// Checks the operation's fields; the sender must be the session's user.
fn parse(chats: &Chats, user: UserId, send: &SendMessage) -> Result<NewMessage> {
    let client_id = parse_uuid("client_id", &send.client_id)?;
    let sender_id = parse_uuid("sender_id", &send.sender_id)?;
    let chat_id = parse_uuid("chat_id", &send.chat_id)?;
    if sender_id != user {
        return Err(Error::SenderMismatch);
    }
    let written_at = written_at(send.written_at.as_ref())?;
    if send.attachment_ids.is_empty() {
        check_text(&send.text, chats.limits.max_text_chars)?;
    } else if !send.text.is_empty() {
        check_length(&send.text, chats.limits.max_text_chars)?;
    }
    if send.attachment_ids.len() > MAX_ATTACHMENTS {
        return Err(Error::invalid(
            "attachments",
            format!("more than {MAX_ATTACHMENTS} files"),
        ));
    }
    Ok(NewMessage {
        // Time-ordered, so the inserts into the primary key and the seen
        // status's key land on the same few index pages instead of random
        // ones (PostgreSQL's CPU per stored message: 44 → 41 µs).
        id: MessageId(Uuid::now_v7()),
        chat_id,
        sender_id,
        client_id,
        written_at,
        text: send.text.clone(),
        attachments: Attachments::default(),
    })
}

/// The client's time of writing, if it gave one: a valid time at most
/// [`MAX_CLOCK_AHEAD`] ahead of the server's clock, which the store's
/// window counts on.
fn written_at(time: Option<&prost_types::Timestamp>) -> Result<Option<DateTime<Utc>>> {
    let Some(time) = time else {
        return Ok(None);
    };
    let time = messenger_proto::timestamp::from_proto(time)
        .ok_or_else(|| Error::invalid("timestamp", "not a valid time"))?;
    if time > Utc::now() + MAX_CLOCK_AHEAD {
        return Err(Error::invalid(
            "timestamp",
            "more than a day ahead of the server's clock",
        ));
    }
    Ok(Some(time))
}

/// The sender's uploads `ids`, as the message will show them: each must
/// be theirs, once. Whether one was sent already is the store's to say,
/// under its lock (a retry of this very message may carry it).
async fn attachments(chats: &Chats, sender: UserId, ids: &[String]) -> Result<Attachments> {
    if ids.is_empty() {
        return Ok(Attachments::default());
    }
    let ids = ids
        .iter()
        .map(|id| parse_uuid("attachments", id))
        .collect::<Result<Vec<Uuid>>>()?;
    if ids.iter().collect::<std::collections::HashSet<_>>().len() != ids.len() {
        return Err(Error::invalid("attachments", "a file is attached twice"));
    }
    let found = chats.store.uploads(&ids).await?;
    ids.iter()
        .map(|id| {
            found
                .iter()
                .find(|upload| upload.attachment.id == *id && upload.owner == sender)
                .map(|upload| upload.attachment.clone())
                .ok_or(Error::UnknownAttachment)
        })
        .collect()
}

pub(super) fn check_text(text: &str, max_chars: usize) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::invalid("text", "must not be empty"));
    }
    check_length(text, max_chars)
}

/// A text that may be blank (a message of files): valid characters, not
/// too long.
fn check_length(text: &str, max_chars: usize) -> Result<()> {
    crate::text::check("text", text)?;
    if text.chars().count() > max_chars {
        return Err(Error::invalid(
            "text",
            format!("longer than {max_chars} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_text;

    #[test]
    fn text_must_be_present_and_within_the_limit() {
        assert!(check_text("hi", 2).is_ok());
        assert!(check_text("héé", 3).is_ok());
        assert!(check_text("   ", 10).is_err());
        assert!(check_text("abc", 2).is_err());
        assert!(check_text("nul\0", 10).is_err());
    }
}
