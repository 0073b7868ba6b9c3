//! `SetPrivacy`: who sees the user's presence, who may add them to groups.

use super::SessionState;
use crate::error::{Error, Result};
use crate::events;
use crate::state::{Chats, Live};
use crate::store::privacy::{Privacy, PrivacyChange};
use messenger_proto::v1::{self as pb, server_event::Event};

/// Changes what is given (nothing: only reads); every session of the user
/// gets the settings as they are now. Hiding presence tells the contacts
/// who saw it that it is gone; showing it again tells them where it is.
pub async fn run(
    chats: &Chats,
    live: &Live,
    session: &mut SessionState,
    set: pb::SetPrivacy,
) -> Result<()> {
    let user = session.user()?;
    let change = parse(&set)?;
    let (before, after) = chats
        .store
        .change_privacy(user, change)
        .await?
        .ok_or(Error::NotAuthenticated)?;
    if before.shares_presence != after.shares_presence {
        events::presence::shown(chats, live, user, after.shares_presence).await;
    }
    events::notify_user(chats, live, user, Event::Privacy(wire(after)));
    Ok(())
}

fn parse(set: &pb::SetPrivacy) -> Result<PrivacyChange> {
    let shares_presence = match set.presence.as_deref() {
        None => None,
        Some("contacts") => Some(true),
        Some("nobody") => Some(false),
        Some(_) => return Err(Error::invalid("presence", "must be contacts or nobody")),
    };
    let adds_from_contacts_only = match set.group_adds.as_deref() {
        None => None,
        Some("everyone") => Some(false),
        Some("contacts") => Some(true),
        Some(_) => return Err(Error::invalid("group_adds", "must be everyone or contacts")),
    };
    Ok(PrivacyChange {
        shares_presence,
        adds_from_contacts_only,
    })
}

/// The settings as the contract names them.
fn wire(privacy: Privacy) -> pb::Privacy {
    pb::Privacy {
        presence: if privacy.shares_presence {
            "contacts"
        } else {
            "nobody"
        }
        .to_owned(),
        group_adds: if privacy.adds_from_contacts_only {
            "contacts"
        } else {
            "everyone"
        }
        .to_owned(),
    }
}
