//! This core among the cores that serve its database.
//!
//! Each core renews its row in `cores` every few seconds. A core whose row
//! has not been renewed for [`SILENCE`] is gone (killed, or cut off): the
//! first core to notice ends the connections it left open in the history,
//! so that a core never ends the live connections of a peer, only those of
//! the dead.

use crate::events;
use crate::ids::UserId;
use crate::presence::Change;
use crate::state::{Chats, Core, Live};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often a core renews its row.
const BEAT: Duration = Duration::from_secs(5);
/// How long a core may go without renewing its row before it counts as gone.
pub const SILENCE: Duration = Duration::from_secs(30);

/// Records this core as serving, ends the connections of cores that are
/// no more, and keeps this core's row current until shutdown.
pub async fn start(core: Arc<Core>, mut shutdown: watch::Receiver<bool>) {
    beat(&core.chats, &core.live, true).await;
    match core.chats.store.end_orphan_connections().await {
        Ok(0) => {}
        Ok(ended) => tracing::info!(ended, "ended connections left open by a stopped core"),
        Err(error) => error.log(),
    }
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(BEAT);
        ticks.tick().await;
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = shutdown.wait_for(|stopping| *stopping) => return,
            }
            beat(&core.chats, &core.live, false).await;
        }
    });
}

/// This core stops serving. Its sessions have moved to other cores or
/// ended; whoever that leaves with no device anywhere goes offline.
pub async fn stop(chats: &Chats, live: &Live) {
    if let Err(error) = chats.store.core_stopped(live.id).await {
        error.log();
    }
    announce_offline(chats, live, live.presence.stopped().await).await;
}

async fn beat(chats: &Chats, live: &Live, first: bool) {
    match chats.store.core_alive(live.id).await {
        Ok(made) if made && !first => tracing::warn!(
            "this core was silent for too long and taken for gone: \
             its open connections were ended in the history"
        ),
        Ok(_) => {}
        Err(error) => error.log(),
    }
    live.presence.beat().await;
    match chats.store.end_gone_cores(SILENCE).await {
        Ok((gone, ended)) => {
            if ended > 0 {
                tracing::info!(ended, "ended connections left open by cores that are gone");
            }
            announce_offline(chats, live, live.presence.cores_gone(&gone).await).await;
        }
        Err(error) => error.log(),
    }
}

/// Tells the contacts of each of `users` that they went offline.
async fn announce_offline(chats: &Chats, live: &Live, users: Vec<UserId>) {
    for user in users {
        events::presence::changed(chats, live, user, Change::WentOffline).await;
    }
}
