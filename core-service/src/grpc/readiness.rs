//! The core's readiness, in the standard gRPC health service (what
//! `messenger-core health`, load balancers and the edges' `/readyz` ask):
//! serving while its database answers and, in a cluster, its connection to
//! the bus is up; not serving otherwise, and from the start of a shutdown.

use crate::state::Core;
use messenger_proto::v1::messenger_server::SERVICE_NAME;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// How often the database and the bus are checked.
const CHECK_EVERY: Duration = Duration::from_secs(2);
/// How long the database may take to answer the check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Keeps the health status in step with the database and the bus until
/// shutdown (which sets it to not serving itself).
pub async fn follow(core: Arc<Core>, health: HealthReporter, mut shutdown: watch::Receiver<bool>) {
    let mut serving = true;
    loop {
        tokio::select! {
            () = tokio::time::sleep(CHECK_EVERY) => {}
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        }
        let (in_use, idle) = core.chats.store.pool_use();
        crate::telemetry::pool(in_use, idle);
        let ready = ready(&core).await;
        if ready == serving || *shutdown.borrow() {
            continue;
        }
        serving = ready;
        if ready {
            tracing::info!("ready again: the database and the bus answer");
            health
                .set_service_status(SERVICE_NAME, ServingStatus::Serving)
                .await;
        } else {
            tracing::warn!("not ready: the database or the bus does not answer");
            health
                .set_service_status(SERVICE_NAME, ServingStatus::NotServing)
                .await;
        }
    }
}

/// Whether the database answers and the bus (if any) is connected.
async fn ready(core: &Core) -> bool {
    let bus = core
        .live
        .bus
        .as_ref()
        .is_none_or(crate::bus::Bus::is_connected);
    bus && tokio::time::timeout(CHECK_TIMEOUT, core.chats.store.ping())
        .await
        .is_ok_and(|answered| answered.is_ok())
}
