//! What happened, told to every live session it concerns, on this core and
//! through the bus on every other: a stored message, a message seen by all
//! its chat's members, a new group, a member who left a group, a revoked
//! login, a user come online or gone offline.
//!
//! One module per kind of event. The operations call its function (re-
//! exported here: [`stored`], [`seen`], [`edited`], [`group_created`],
//! [`left`], [`notify`], [`revoked`], [`blocks_changed`], and
//! [`presence`]'s); it applies the event to this core's sessions and
//! caches, and publishes it once for the other cores, where the module's
//! `apply` does the same on receipt. Messages go through the
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

mod blocked;
mod catch_up;
mod edited;
pub mod fanout;
mod group;
mod left;
mod notice;
pub mod presence;
mod revoked;
mod seen;
mod stored;

pub use blocked::blocks_changed;
pub use edited::edited;
pub use group::group_created;
pub use left::left;
pub use notice::{notify, notify_user};
pub use revoked::revoked;
pub use seen::seen;
pub use stored::stored;

use crate::bus::{Event, Incoming};
use crate::state::{Accounts, Chats, Core, Live};
use std::sync::Arc;
use tokio::sync::watch;

/// Starts what keeps the lines going (reads for their starts and gaps,
/// the tail check) and, in a cluster, follows the other cores' events,
/// until shutdown. The bus subscription is in place when this returns.
pub async fn start(
    core: Arc<Core>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), async_nats::Error> {
    catch_up::start(core.clone(), shutdown.clone()).await;
    presence::start(core.clone(), shutdown.clone());
    let Some(bus) = &core.live.bus else {
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
                core.accounts.tokens.clear();
                core.chats.membership.clear();
                core.chats.blocks.clear();
                core.chats.store.clear_cache();
                continue;
            }
            _ = shutdown.wait_for(|stopping| *stopping) => None,
        };
        let Some(event) = event else { return };
        apply(&core.chats, &core.accounts, &core.live, event).await;
    }
}

/// Applies another core's event here.
async fn apply(chats: &Chats, accounts: &Accounts, live: &Live, event: Event) {
    crate::telemetry::bus_event("received");
    match event {
        Event::Stored(record) => stored::apply(chats, live, record).await,
        Event::Seen(record) => seen::apply(chats, live, &record),
        Event::Group(group) => group::apply(live, &group),
        Event::Revoked { user, login } => revoked::apply(accounts, live, user, login),
        Event::Left {
            user,
            remaining,
            removed_by,
        } => left::apply(chats, live, user, &remaining, removed_by),
        Event::Presence(announcement) => presence::tell(chats, live, &announcement).await,
        Event::Notice(notice) => notice::apply(chats, live, &notice),
        Event::Edited(record) => edited::apply(chats, live, &record).await,
        Event::Blocked(user) => blocked::apply(chats, user),
    }
}
