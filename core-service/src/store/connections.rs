//! The `connections` table: the history of each user's connections.

use crate::error::Result;
use crate::ids::{ConnectionId, CoreId, UserId};
use crate::store::Store;
use chrono::{DateTime, Utc};

pub use messenger_proto::v1::EndReason;

/// Where a connection comes from.
#[derive(Debug, Clone, Default)]
pub struct ConnectionOrigin {
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
    pub edge: Option<String>,
}

/// The longest text kept of an origin's fields: they come from clients.
const ORIGIN_TEXT_CHARS: usize = 512;

impl ConnectionOrigin {
    /// An origin from what the edge reported; empty texts count as absent
    /// and long ones are cut.
    pub fn new(address: Option<&str>, user_agent: Option<&str>, edge: Option<&str>) -> Self {
        ConnectionOrigin {
            client_address: origin_text(address),
            user_agent: origin_text(user_agent),
            edge: origin_text(edge),
        }
    }
}

/// One field of an origin as kept: absent when empty, cut when long.
pub fn origin_text(value: Option<&str>) -> Option<String> {
    value
        .filter(|value| !value.is_empty())
        .map(|value| value.chars().take(ORIGIN_TEXT_CHARS).collect())
}

/// One connection of the history.
#[derive(Debug, Clone)]
pub struct ConnectionRecord {
    pub id: ConnectionId,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub origin: ConnectionOrigin,
    pub end_reason: Option<String>,
}

impl Store {
    /// Records that a connection of `user_id` started now, served by `core`.
    pub async fn start_connection(
        &self,
        id: ConnectionId,
        user_id: UserId,
        origin: &ConnectionOrigin,
        core: CoreId,
    ) -> Result<()> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO connections (id, user_id, client_address, user_agent, edge, core_id)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await?;
        client
            .execute(
                &statement,
                &[
                    &id,
                    &user_id,
                    &origin.client_address,
                    &origin.user_agent,
                    &origin.edge,
                    &core,
                ],
            )
            .await?;
        Ok(())
    }

    /// Records that a connection ended now, and how.
    pub async fn end_connection(&self, id: ConnectionId, reason: EndReason) -> Result<()> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "UPDATE connections SET ended_at = now(), end_reason = $2
                 WHERE id = $1 AND ended_at IS NULL",
            )
            .await?;
        client.execute(&statement, &[&id, &reason.name()]).await?;
        Ok(())
    }

    /// One page of the user's connections, newest first.
    pub async fn connections_of(
        &self,
        user_id: UserId,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ConnectionRecord>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT id, started_at, ended_at, client_address, user_agent, edge, end_reason
                 FROM connections WHERE user_id = $1
                 ORDER BY started_at DESC, id LIMIT $2 OFFSET $3",
            )
            .await?;
        let rows = client
            .query(&statement, &[&user_id, &limit, &offset])
            .await?;
        Ok(rows
            .iter()
            .map(|row| ConnectionRecord {
                id: row.get(0),
                started_at: row.get(1),
                ended_at: row.get(2),
                origin: ConnectionOrigin {
                    client_address: row.get(3),
                    user_agent: row.get(4),
                    edge: row.get(5),
                },
                end_reason: row.get(6),
            })
            .collect())
    }
}
