//! A user came online or went offline, or hid or showed their presence:
//! the contacts who see it are told, here and (through the bus) on every
//! other core, at the pace [`crate::presence`] describes. The bus carries
//! only the user's state; each core reads who sees it from the database
//! (a bounded list) for its own sessions.

use super::fanout::publish;
use crate::bus::Event;
use crate::convert;
use crate::ids::UserId;
use crate::presence::{Announcement, Change, Due, MAX_CONTACTS};
use crate::state::{Chats, Core, Live};
use messenger_proto::v1::server_event::Event as ServerEvent;
use std::sync::Arc;
use tokio::sync::watch;

/// `change` of `user`'s state happened on this core: recorded (the
/// last-seen time) and told now or when its pace is over.
pub async fn changed(chats: &Chats, live: &Live, user: UserId, change: Change) {
    let last_seen = match change {
        Change::CameOnline => None,
        Change::WentOffline => chats
            .store
            .last_seen_now(user)
            .await
            .unwrap_or_else(|error| {
                error.log();
                None
            }),
    };
    if live.presence.pace(user, change, last_seen) && live.presence.is_news(user, true).await {
        let announcement = Announcement {
            user,
            online: true,
            last_seen: None,
            hidden: false,
        };
        announce(chats, live, announcement).await;
    }
}

/// `user` hid (`shown` false) or showed their presence: the contacts who
/// saw it are told they are offline with no last-seen time, or told the
/// state as it is.
pub async fn shown(chats: &Chats, live: &Live, user: UserId, shown: bool) {
    let announcement = if shown {
        let online = live
            .presence
            .online(&[user])
            .await
            .map(|online| online.first() == Some(&true))
            .unwrap_or(false);
        let last_seen = match online {
            true => None,
            false => chats.store.last_seen(user).await.unwrap_or_else(|error| {
                error.log();
                None
            }),
        };
        Announcement {
            user,
            online,
            last_seen,
            hidden: false,
        }
    } else {
        Announcement {
            user,
            online: false,
            last_seen: None,
            hidden: true,
        }
    };
    // Told whatever the cluster told before: the audience changed.
    live.presence.is_news(user, announcement.online).await;
    announce(chats, live, announcement).await;
}

/// Checks, at every tick until shutdown, the users whose pace is over.
pub(super) fn start(core: Arc<Core>, mut shutdown: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(core.live.presence.tick());
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = shutdown.wait_for(|stopping| *stopping) => return,
            }
            for due in core.live.presence.due() {
                recheck(&core.chats, &core.live, due).await;
            }
        }
    });
}

/// Tells the state of a user whose pace is over, if it is not what was
/// told last.
async fn recheck(chats: &Chats, live: &Live, due: Due) {
    let online = match live.presence.online(&[due.user]).await {
        Ok(online) => online.first() == Some(&true),
        Err(error) => return tracing::warn!(%error, "presence: state not rechecked"),
    };
    if online == due.shown_online {
        return;
    }
    live.presence.told(due.user, online);
    if !live.presence.is_news(due.user, online).await {
        return;
    }
    let last_seen = match (online, due.last_seen) {
        (true, _) => None,
        (false, Some(last_seen)) => Some(last_seen),
        // Another core saw the last device leave.
        (false, None) => chats
            .store
            .last_seen(due.user)
            .await
            .unwrap_or_else(|error| {
                error.log();
                None
            }),
    };
    let announcement = Announcement {
        user: due.user,
        online,
        last_seen,
        hidden: false,
    };
    announce(chats, live, announcement).await;
}

async fn announce(chats: &Chats, live: &Live, announcement: Announcement) {
    publish(live, || Event::Presence(announcement.clone()));
    tell(chats, live, &announcement).await;
}

/// Tells the sessions on this core that watch presence, of the contacts
/// who see the user's, the user's new state.
pub(super) async fn tell(chats: &Chats, live: &Live, announcement: &Announcement) {
    let audience = chats
        .store
        .presence_audience(announcement.user, announcement.hidden, MAX_CONTACTS)
        .await;
    let audience = match audience {
        Ok(audience) => audience,
        Err(error) => return error.log(),
    };
    let event = convert::event(ServerEvent::Presence(convert::presence(
        announcement.user,
        announcement.online,
        announcement.last_seen,
    )));
    live.sessions.deliver_presence(&audience, &event);
}
