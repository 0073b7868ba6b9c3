//! The `cores` table: which cores serve this database, and the connections
//! of the ones that are gone.

use crate::error::Result;
use crate::ids::CoreId;
use crate::store::Store;
use std::time::Duration;

impl Store {
    /// Records that core `id` serves, as of now. True when its row had to
    /// be made: at its start, or when another core took it for dead (and
    /// ended its open connections meanwhile).
    pub async fn core_alive(&self, id: CoreId) -> Result<bool> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO cores (id) VALUES ($1)
                 ON CONFLICT (id) DO UPDATE SET seen_at = now()
                 RETURNING xmax = 0",
            )
            .await?;
        let row = client.query_one(&statement, &[&id]).await?;
        Ok(row.get(0))
    }

    /// Removes the cores not seen for `silence` and ends the connections
    /// they left open, as a server shutdown. Returns the cores removed and
    /// how many connections it ended.
    pub async fn end_gone_cores(&self, silence: Duration) -> Result<(Vec<CoreId>, u64)> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "WITH gone AS (
                     DELETE FROM cores WHERE seen_at < now() - make_interval(secs => $1)
                     RETURNING id),
                 ended AS (
                     UPDATE connections SET ended_at = now(), end_reason = 'server_shutdown'
                     WHERE ended_at IS NULL AND core_id IN (SELECT id FROM gone)
                     RETURNING 1)
                 SELECT coalesce((SELECT array_agg(id) FROM gone), '{}'),
                        (SELECT count(*) FROM ended)",
            )
            .await?;
        let row = client
            .query_one(&statement, &[&silence.as_secs_f64()])
            .await?;
        let gone: Vec<uuid::Uuid> = row.get(0);
        let ended: i64 = row.get(1);
        Ok((
            gone.into_iter().map(CoreId).collect(),
            u64::try_from(ended).unwrap_or(0),
        ))
    }

    /// Ends the open connections of cores that have no row (gone before
    /// this core started, or from before cores had ids), as a server
    /// shutdown; returns how many. Run once at start: it reads every open
    /// connection (through the index of open ones), which a periodic check
    /// should not.
    pub async fn end_orphan_connections(&self) -> Result<u64> {
        let client = self.connection().await?;
        Ok(client
            .execute(
                "UPDATE connections c SET ended_at = now(), end_reason = 'server_shutdown'
                 WHERE c.ended_at IS NULL
                   AND (c.core_id IS NULL
                        OR NOT EXISTS (SELECT 1 FROM cores k WHERE k.id = c.core_id))",
                &[],
            )
            .await?)
    }

    /// Core `id` stops serving: its row goes (its sessions ended their
    /// connections themselves).
    pub async fn core_stopped(&self, id: CoreId) -> Result<()> {
        let client = self.connection().await?;
        client
            .execute("DELETE FROM cores WHERE id = $1", &[&id])
            .await?;
        Ok(())
    }
}
