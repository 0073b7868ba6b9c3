//! The `sent_keys` table: each send's `client_id`, kept for the idempotency
//! window so that a retry is answered with the message stored first
//! (`sql/0033`). Every core keeps it: at start, then every [`KEEP_EVERY`];
//! the database lets one of them do the work at a time.

use crate::error::Result;
use crate::store::Store;
use std::time::Duration;
use tokio::sync::watch;

/// How long keys are kept unless configured (`IDEMPOTENCY_WINDOW`).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);
/// How far ahead of the server's clock a client's time of writing may be.
/// `sent_message_id` and `retry_is_stale` (`sql/functions/`) count on it.
pub const MAX_CLOCK_AHEAD: Duration = Duration::from_secs(24 * 3600);
/// Between two rounds: partitions are made two days ahead, and a horizon
/// moved in one round lets the next drop what it passed.
pub const KEEP_EVERY: Duration = Duration::from_secs(3600);

impl Store {
    /// One round of `keep_sent_keys` for `window`: the coming days'
    /// partitions, and the forgetting of what is older. Answers how many
    /// days of keys it dropped.
    pub async fn keep_sent_keys(&self, window: Duration) -> Result<i32> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached("SELECT keep_sent_keys(make_interval(secs => $1))")
            .await?;
        let row = client
            .query_one(&statement, &[&window.as_secs_f64()])
            .await?;
        Ok(row.get(0))
    }
}

/// Keeps the keys for `window` every [`KEEP_EVERY`] until `shutdown`,
/// after the [`round`] the core made at start.
pub async fn keep(store: &Store, window: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(KEEP_EVERY) => {}
            _ = shutdown.changed() => return,
        }
        round(store, window).await;
    }
}

/// One round, its outcome logged: a failed one is made again later (the
/// partitions are made days ahead).
pub async fn round(store: &Store, window: Duration) {
    match store.keep_sent_keys(window).await {
        Ok(0) => {}
        Ok(days) => tracing::info!(days, "forgot the send keys of past days"),
        Err(error) => tracing::warn!(%error, "keeping the send keys failed; trying again later"),
    }
}
