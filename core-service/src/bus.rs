//! Events between the cores of a cluster, over NATS (`NATS_URL`).
//!
//! So far one kind: a revoked login. The core that revokes it closes its own
//! sessions of that login and publishes the revocation; every other core
//! forgets the login's cached tokens and closes its sessions of it, so a
//! logout ends the user's sockets wherever they are. PostgreSQL stays the
//! source of truth: a core that misses the event (cut off from NATS) still
//! refuses the token within the token cache's bound, when it next reads it.
//!
//! Without `NATS_URL` there is no bus, and nothing is published: one core
//! sees all of its own revocations.

use crate::ids::{LoginId, UserId};
use crate::state::Core;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::watch;
use uuid::Uuid;

/// The subject revocations are published on.
const REVOCATIONS: &str = "messenger.revocations";

/// This core's connection to the bus.
pub struct Bus {
    client: async_nats::Client,
    /// Names this core in what it publishes, so it skips its own events.
    core: Uuid,
}

/// A login revoked on one core.
#[derive(Debug, Serialize, Deserialize)]
struct Revoked {
    core: Uuid,
    user_id: Uuid,
    login_id: Uuid,
}

impl Bus {
    /// Connects to the NATS server at `url`.
    pub async fn connect(url: &str) -> Result<Bus, async_nats::ConnectError> {
        let client = async_nats::connect(url).await?;
        Ok(Bus {
            client,
            core: Uuid::new_v4(),
        })
    }

    /// Tells the other cores that `login` of `user` was revoked.
    pub async fn revoked(&self, user: UserId, login: LoginId) {
        let event = Revoked {
            core: self.core,
            user_id: user.0,
            login_id: login.0,
        };
        let payload = serde_json::to_vec(&event).expect("events serialise");
        if let Err(error) = self.client.publish(REVOCATIONS, payload.into()).await {
            tracing::error!(%error, "cannot publish a revocation");
        }
    }
}

/// Subscribes to the other cores' revocations and applies them to `core`
/// until shutdown. The subscription is in place when this returns.
pub async fn follow(
    core: Arc<Core>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), async_nats::Error> {
    let mut revocations = match &core.bus {
        Some(bus) => {
            let subscriber = bus.client.subscribe(REVOCATIONS).await?;
            // The server has the subscription once a round trip followed it.
            bus.client.flush().await?;
            subscriber
        }
        None => return Ok(()),
    };
    let follower = async move {
        loop {
            let message = tokio::select! {
                message = revocations.next() => message,
                _ = shutdown.wait_for(|stopping| *stopping) => None,
            };
            let Some(message) = message else {
                return;
            };
            match serde_json::from_slice::<Revoked>(&message.payload) {
                Ok(event) => apply(&core, &event),
                Err(error) => tracing::warn!(%error, "undecodable revocation on the bus"),
            }
        }
    };
    tokio::spawn(follower);
    Ok(())
}

/// Applies another core's revocation here.
fn apply(core: &Core, event: &Revoked) {
    let own = core.bus.as_ref().is_some_and(|bus| bus.core == event.core);
    if own {
        return;
    }
    let login = LoginId(event.login_id);
    core.tokens.forget_login(login);
    core.sessions.close_login(UserId(event.user_id), login);
}
