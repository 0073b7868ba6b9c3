//! `WatchPresence` and `ListPresence`: whether the user's contacts are
//! online, and when they were last seen (for those who share it).

use super::SessionState;
use crate::error::Result;
use crate::ids::UserId;
use crate::presence::MAX_CONTACTS;
use crate::state::{Chats, Live};
use crate::store::presence::ContactRecord;
use messenger_proto::v1::server_event::Event;

/// The session gets presence events from now on, and the current presence
/// of every contact as its answer (read after the switch, so no change
/// falls between the two).
pub async fn watch(chats: &Chats, live: &Live, session: &mut SessionState) -> Result<()> {
    let user = session.user()?;
    session.outbox.watch_presence();
    let people = list(chats, live, user).await?;
    session
        .reply(Event::PresenceList(crate::convert::presence_list(people)))
        .await;
    Ok(())
}

/// Each contact of `user` who sees their presence (up to
/// [`MAX_CONTACTS`], the most recently seen first), with whether they are
/// online now.
pub async fn list(chats: &Chats, live: &Live, user: UserId) -> Result<Vec<(ContactRecord, bool)>> {
    let contacts = chats.store.contacts_last_seen(user, MAX_CONTACTS).await?;
    let ids: Vec<UserId> = contacts.iter().map(|contact| contact.id).collect();
    let online = live.presence.online(&ids).await?;
    Ok(contacts.into_iter().zip(online).collect())
}
