//! What happened, told to every live session it concerns, on this core and
//! through the bus on every other: a stored message, a message seen by all
//! its chat's members, a new group, a member who left a group, a revoked
//! login, a user come online or gone offline.
//!
//! The operations call one function here per event; each applies the event
//! to this core's sessions and caches, and publishes it once for the other
//! cores, which apply it the same way ([`apply`]). Messages go through the
//! chat's line ([`crate::lines`]) on every core, so each live session gets a
//! chat's messages in `seq` order, exactly once, whichever core stored
//! them; what never arrives is read from the database ([`catch_up`]).
//!
//! How each cache stays correct when another core changes the data:
//! - membership: an event about a chat's members drops the chat from the
//!   cache (it is read from the database on next use; the event's list is
//!   never installed), and entries expire (see [`crate::membership`]);
//! - tokens: a revoked login's event drops its tokens; a core that missed
//!   it refuses them once their cache entry expires (see `auth::token_cache`);
//! - recent messages: every delivered message is appended in its chat's
//!   order, and a seen event marks its message.
//!
//! After the connection to NATS comes back, the token, membership and
//! recent-message caches are emptied, since events may have been missed in
//! between.

mod catch_up;
pub mod fanout;
pub mod presence;

use crate::bus::wire::Notice;
use crate::bus::{Event, Incoming};
use crate::convert;
use crate::ids::{LoginId, UserId};
use crate::membership::{Members, Membership};
use crate::sessions::SessionId;
use crate::state::Core;
use crate::store::chats::GroupRecord;
use crate::store::records::MessageRecord;
use fanout::{arrival, arrive, audience, publish};
use messenger_proto::v1::server_event::Event as ServerEvent;
use std::sync::Arc;
use tokio::sync::watch;

/// A session of this core stored `record` in a chat with `members`.
pub async fn stored(core: &Core, record: MessageRecord, members: Members, sender: SessionId) {
    publish(core, || Event::Stored(record.clone()));
    let members = audience(core, record.sender_id, members).await;
    arrive(core, arrival(record, members, Some(sender)));
}

/// Someone blocked or unblocked `user`: every core reads again who blocks
/// them before fanning out what they do.
pub fn blocks_changed(core: &Core, user: UserId) {
    publish(core, || Event::Blocked(user));
    core.blocks.forget(user);
}

/// `record` has just become seen by every member of its chat.
pub fn seen(core: &Core, record: &MessageRecord) {
    publish(core, || Event::Seen(record.clone()));
    tell_sender(core, record);
}

/// A message was edited or deleted by its sender (`record` is the message
/// as it is now): every core forgets the chat's cached messages, and every
/// member's sessions (the editing one included: it is its answer) get
/// `message_edited` or `message_deleted`.
pub async fn edited(core: &Core, record: &MessageRecord) {
    publish(core, || Event::Edited(record.clone()));
    tell_edit(core, record).await;
}

/// A session of this core (`creator`, which has its answer) created `group`.
pub fn group_created(core: &Core, group: &GroupRecord, creator: SessionId) {
    publish(core, || Event::Group(group.clone()));
    announce(core, group, Some(creator));
}

/// `user` left a group chat (or `removed_by` took them out), in which
/// `remaining` stay: every core's membership cache drops them, and the
/// sessions of both the remaining members and the user get `member_left`.
pub fn left(core: &Core, user: UserId, remaining: Membership, removed_by: Option<UserId>) {
    publish(core, || Event::Left {
        user,
        remaining: remaining.clone(),
        removed_by,
    });
    // The list comes from the transaction that changed it.
    core.membership.learn(&remaining);
    depart(core, user, &remaining, removed_by);
}

/// Tells `notice.event` to the sessions of `notice.users` (but `skip`),
/// here and on every other core, each core's membership cache first taking
/// `notice.membership` when it is given.
pub fn notify(core: &Core, notice: Notice, skip: Option<SessionId>) {
    publish(core, || Event::Notice(notice.clone()));
    if let Some(membership) = &notice.membership {
        core.membership.learn(membership);
    }
    tell(core, &notice, skip);
}

/// Tells `event` to every session of `user` (all their devices), here and
/// on every other core.
pub fn notify_user(core: &Core, user: UserId, event: ServerEvent) {
    let notice = Notice {
        users: vec![user].into(),
        event: convert::event(event),
        membership: None,
    };
    notify(core, notice, None);
}

/// The login `login` of `user` was revoked: its sessions close everywhere.
pub fn revoked(core: &Core, user: UserId, login: LoginId) {
    publish(core, || Event::Revoked { user, login });
    end_login(core, user, login);
}

/// Starts what keeps the lines going (reads for their starts and gaps,
/// the tail check) and, in a cluster, follows the other cores' events,
/// until shutdown. The bus subscription is in place when this returns.
pub async fn start(
    core: Arc<Core>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), async_nats::Error> {
    catch_up::start(core.clone(), shutdown.clone()).await;
    presence::start(core.clone(), shutdown.clone());
    let Some(bus) = &core.bus else {
        return Ok(());
    };
    let incoming = bus.subscribe().await?;
    let connections = bus.connections();
    tokio::spawn(follow(core, incoming, connections, shutdown));
    Ok(())
}

/// Applies the other cores' events as they come.
async fn follow(
    core: Arc<Core>,
    mut incoming: Incoming,
    mut connections: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
) {
    connections.borrow_and_update();
    loop {
        let event = tokio::select! {
            event = incoming.next() => event,
            Ok(()) = connections.changed() => {
                tracing::info!("reconnected to the bus: dropping caches that may have missed events");
                core.tokens.clear();
                core.membership.clear();
                core.blocks.clear();
                core.store.clear_cache();
                continue;
            }
            _ = shutdown.wait_for(|stopping| *stopping) => None,
        };
        let Some(event) = event else { return };
        apply(&core, event).await;
    }
}

/// Applies another core's event here.
async fn apply(core: &Core, event: Event) {
    crate::telemetry::bus_event("received");
    match event {
        Event::Stored(record) => {
            if startup::metrics_on() {
                let lag = chrono::Utc::now() - record.timestamp;
                crate::telemetry::bus_lag(lag.to_std().unwrap_or_default());
            }
            match core.membership.members(&core.store, record.chat_id).await {
                Ok(members) => {
                    let members = audience(core, record.sender_id, members).await;
                    arrive(core, arrival(record, members, None));
                }
                // The chat's line finds the gap when its next message comes,
                // or its tail check does.
                Err(error) => error.log(),
            }
        }
        Event::Seen(record) => {
            core.store.cache_seen(&record);
            tell_sender(core, &record);
        }
        // A new chat: read from the database on first use.
        Event::Group(group) => announce(core, &group, None),
        Event::Revoked { user, login } => end_login(core, user, login),
        Event::Left {
            user,
            remaining,
            removed_by,
        } => {
            core.membership.forget(remaining.chat, remaining.version);
            depart(core, user, &remaining, removed_by);
        }
        Event::Presence(announcement) => presence::tell(core, &announcement).await,
        Event::Notice(notice) => {
            if let Some(membership) = &notice.membership {
                core.membership.forget(membership.chat, membership.version);
            }
            tell(core, &notice, None);
        }
        Event::Edited(record) => tell_edit(core, &record).await,
        Event::Blocked(user) => core.blocks.forget(user),
    }
}

/// Forgets a revoked login's tokens and closes its sessions on this core.
fn end_login(core: &Core, user: UserId, login: LoginId) {
    core.tokens.forget_login(login);
    core.sessions.close_login(user, login);
}

/// Tells a departure here (the cache has been updated first, so that no
/// message of the chat is fanned out to the user after their `member_left`).
fn depart(core: &Core, user: UserId, remaining: &Membership, removed_by: Option<UserId>) {
    let mut told = remaining.members.to_vec();
    told.push(user);
    let event = convert::event(ServerEvent::MemberLeft(messenger_proto::v1::MemberLeft {
        chat_id: remaining.chat.to_string(),
        user_id: user.to_string(),
        removed_by: removed_by.map(|by| by.to_string()),
    }));
    core.sessions.deliver(&told, None, &event);
}

/// Tells a notice here (the cache has been updated first, so that no
/// message of the chat is fanned out by the old members after the event).
fn tell(core: &Core, notice: &Notice, skip: Option<SessionId>) {
    core.sessions.deliver(&notice.users, skip, &notice.event);
}

/// Applies an edit or delete here: told to the members who may see the
/// message (not those who block its sender, nor those who hid the chat
/// after it; the sender always, as the answer to the editing session).
async fn tell_edit(core: &Core, record: &MessageRecord) {
    core.store.forget_cached(record.chat_id);
    let members = match core.membership.members(&core.store, record.chat_id).await {
        Ok(members) => audience(core, record.sender_id, members).await,
        Err(error) => return error.log(),
    };
    let hidden = match core.store.hidden_from(record.chat_id, record.seq).await {
        Ok(hidden) => hidden,
        Err(error) => return error.log(),
    };
    let members: Vec<UserId> = members
        .iter()
        .copied()
        .filter(|member| *member == record.sender_id || !hidden.contains(member))
        .collect();
    core.sessions
        .deliver(&members, None, &convert::edit_event(record));
}

/// Tells the sender's sessions that every member has seen their message.
fn tell_sender(core: &Core, record: &MessageRecord) {
    let event = convert::event(ServerEvent::MessageSeen(convert::message(record)));
    core.sessions.deliver(&[record.sender_id], None, &event);
}

/// Tells the members' sessions (but `skip`) about a new group.
fn announce(core: &Core, group: &GroupRecord, skip: Option<SessionId>) {
    let event = convert::event(ServerEvent::GroupCreated(convert::group_created(group)));
    core.sessions.deliver(&group.member_ids, skip, &event);
}
