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
use crate::state::Core;
use messenger_proto::v1::server_event::Event as ServerEvent;
use std::sync::Arc;
use tokio::sync::watch;

/// `change` of `user`'s state happened on this core: recorded (the
/// last-seen time) and told now or when its pace is over.
pub async fn changed(core: &Core, user: UserId, change: Change) {
    let last_seen = match change {
        Change::CameOnline => None,
        Change::WentOffline => core
            .store
            .last_seen_now(user)
            .await
            .unwrap_or_else(|error| {
                error.log();
                None
            }),
    };
    if core.presence.pace(user, change, last_seen) && core.presence.is_news(user, true).await {
        let announcement = Announcement {
            user,
            online: true,
            last_seen: None,
            hidden: false,
        };
        announce(core, announcement).await;
    }
}

/// `user` hid (`shown` false) or showed their presence: the contacts who
/// saw it are told they are offline with no last-seen time, or told the
/// state as it is.
pub async fn shown(core: &Core, user: UserId, shown: bool) {
    let announcement = if shown {
        let online = core
            .presence
            .online(&[user])
            .await
            .map(|online| online.first() == Some(&true))
            .unwrap_or(false);
        let last_seen = match online {
            true => None,
            false => core.store.last_seen(user).await.unwrap_or_else(|error| {
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
    core.presence.is_news(user, announcement.online).await;
    announce(core, announcement).await;
}

/// Checks, at every tick until shutdown, the users whose pace is over.
pub(super) fn start(core: Arc<Core>, mut shutdown: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(core.presence.tick());
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = shutdown.wait_for(|stopping| *stopping) => return,
            }
            for due in core.presence.due() {
                recheck(&core, due).await;
            }
        }
    });
}

/// Tells the state of a user whose pace is over, if it is not what was
/// told last.
async fn recheck(core: &Core, due: Due) {
    let online = match core.presence.online(&[due.user]).await {
        Ok(online) => online.first() == Some(&true),
        Err(error) => return tracing::warn!(%error, "presence: state not rechecked"),
    };
    if online == due.shown_online {
        return;
    }
    core.presence.told(due.user, online);
    if !core.presence.is_news(due.user, online).await {
        return;
    }
    let last_seen = match (online, due.last_seen) {
        (true, _) => None,
        (false, Some(last_seen)) => Some(last_seen),
        // Another core saw the last device leave.
        (false, None) => core
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
    announce(core, announcement).await;
}

async fn announce(core: &Core, announcement: Announcement) {
    publish(core, || Event::Presence(announcement.clone()));
    tell(core, &announcement).await;
}

/// Tells the sessions on this core that watch presence, of the contacts
/// who see the user's, the user's new state.
pub(super) async fn tell(core: &Core, announcement: &Announcement) {
    let audience = core
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
    core.sessions.deliver_presence(&audience, &event);
}
