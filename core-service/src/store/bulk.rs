//! Loading a whole data set at once (the demo data): one transaction, every
//! row inserted with `ON CONFLICT DO NOTHING`, so loading the same rows
//! twice adds nothing and fails nothing.

use crate::error::Result;
use crate::ids::UserId;
use crate::store::Store;
use crate::store::users::UserRecord;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A chat to load.
#[derive(Debug, Clone)]
pub struct BulkChat {
    pub id: Uuid,
    pub name: String,
    /// 0 personal, 1 group.
    pub kind: i16,
}

/// A group to load.
#[derive(Debug, Clone)]
pub struct BulkGroup {
    pub id: Uuid,
    pub name: String,
    pub creator_id: Uuid,
    pub chat_id: Uuid,
}

/// A message to load, with its own time and seen flag.
#[derive(Debug, Clone)]
pub struct BulkMessage {
    pub id: Uuid,
    pub chat_id: Uuid,
    pub sender_id: Uuid,
    pub text: String,
    pub timestamp: DateTime<Utc>,
    pub seen: bool,
}

/// Everything one load writes. References must be valid: the caller
/// checks them first, so a load fails only on the database's own rules.
#[derive(Debug, Clone, Default)]
pub struct BulkLoad {
    /// Accounts with their passwords already hashed.
    pub users: Vec<UserRecord>,
    pub chats: Vec<BulkChat>,
    /// `(chat, user)`.
    pub chat_members: Vec<(Uuid, Uuid)>,
    pub groups: Vec<BulkGroup>,
    /// `(group, user)`.
    pub user_groups: Vec<(Uuid, Uuid)>,
    /// In time order: new messages are numbered in this order.
    pub messages: Vec<BulkMessage>,
    /// `(message, user)`.
    pub seen: Vec<(Uuid, Uuid)>,
}

/// What a load added.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    pub users: u64,
    pub chats: u64,
    pub messages: u64,
}

/// Every table a load writes.
const ANALYZE_LOADED: &str = "ANALYZE users, chats, chat_members, direct_chats, groups, \
     user_groups, messages, message_seen_status";

type Transaction<'a> = deadpool_postgres::Transaction<'a>;

impl Store {
    /// Writes `load` in one transaction; rows already there are left as
    /// they are.
    pub async fn load(&self, load: &BulkLoad) -> Result<Loaded> {
        let mut client = self.connection().await?;
        let transaction = client.transaction().await?;
        let loaded = Loaded {
            users: insert_users(&transaction, &load.users).await?,
            chats: insert_chats(&transaction, load).await?,
            messages: insert_messages(&transaction, load).await?,
        };
        transaction.commit().await?;
        // The planner learns the new sizes now rather than when autovacuum
        // (which may be off) gets to them.
        client.batch_execute(ANALYZE_LOADED).await?;
        Ok(loaded)
    }
}

async fn insert_users(transaction: &Transaction<'_>, users: &[UserRecord]) -> Result<u64> {
    let ids: Vec<UserId> = users.iter().map(|user| user.id).collect();
    let names: Vec<&str> = users.iter().map(|user| user.name.as_str()).collect();
    let emails: Vec<&str> = users.iter().map(|user| user.email.as_str()).collect();
    let hashes: Vec<&str> = users.iter().map(|u| u.password_hash.as_str()).collect();
    Ok(transaction
        .execute(
            "INSERT INTO users (id, name, email, password_hash)
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])
             ON CONFLICT DO NOTHING",
            &[&ids, &names, &emails, &hashes],
        )
        .await?)
}

async fn insert_chats(transaction: &Transaction<'_>, load: &BulkLoad) -> Result<u64> {
    let ids: Vec<Uuid> = load.chats.iter().map(|chat| chat.id).collect();
    let names: Vec<&str> = load.chats.iter().map(|chat| chat.name.as_str()).collect();
    let kinds: Vec<i16> = load.chats.iter().map(|chat| chat.kind).collect();
    let added = transaction
        .execute(
            "INSERT INTO chats (id, name, type)
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::smallint[])
             ON CONFLICT DO NOTHING",
            &[&ids, &names, &kinds],
        )
        .await?;
    let members = "chat_members (chat_id, user_id)";
    insert_pairs(transaction, members, &load.chat_members).await?;
    transaction
        .execute("SELECT record_direct_chats($1)", &[&ids])
        .await?;
    insert_groups(transaction, load).await?;
    Ok(added)
}

async fn insert_groups(transaction: &Transaction<'_>, load: &BulkLoad) -> Result<()> {
    let ids: Vec<Uuid> = load.groups.iter().map(|group| group.id).collect();
    let names: Vec<&str> = load.groups.iter().map(|g| g.name.as_str()).collect();
    let creators: Vec<Uuid> = load.groups.iter().map(|group| group.creator_id).collect();
    let chats: Vec<Uuid> = load.groups.iter().map(|group| group.chat_id).collect();
    transaction
        .execute(
            "INSERT INTO groups (id, name, creator_id, chat_id)
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[])
             ON CONFLICT DO NOTHING",
            &[&ids, &names, &creators, &chats],
        )
        .await?;
    // Each creator owns their group (`sql/0020`).
    transaction
        .execute(
            "UPDATE chat_members cm SET role = 2 FROM groups g
             WHERE g.id = ANY($1) AND cm.chat_id = g.chat_id AND cm.user_id = g.creator_id",
            &[&ids],
        )
        .await?;
    let members = "user_groups (group_id, user_id)";
    insert_pairs(transaction, members, &load.user_groups).await
}

/// Inserts `pairs` into `target`, a table of two uuid columns given as
/// `table (first, second)`.
async fn insert_pairs(
    transaction: &Transaction<'_>,
    target: &str,
    pairs: &[(Uuid, Uuid)],
) -> Result<()> {
    let (first, second): (Vec<Uuid>, Vec<Uuid>) = pairs.iter().copied().unzip();
    let sql = format!(
        "INSERT INTO {target} SELECT * FROM unnest($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING"
    );
    transaction.execute(&sql, &[&first, &second]).await?;
    Ok(())
}

/// Messages in the order given, numbered after each chat's last number.
async fn insert_messages(transaction: &Transaction<'_>, load: &BulkLoad) -> Result<u64> {
    let messages = &load.messages;
    let ids: Vec<Uuid> = messages.iter().map(|m| m.id).collect();
    let chats: Vec<Uuid> = messages.iter().map(|m| m.chat_id).collect();
    let senders: Vec<Uuid> = messages.iter().map(|m| m.sender_id).collect();
    let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
    let times: Vec<DateTime<Utc>> = messages.iter().map(|m| m.timestamp).collect();
    let seen: Vec<bool> = messages.iter().map(|m| m.seen).collect();
    // The chats are locked so that live sends wait for the numbering.
    let chat_ids: Vec<Uuid> = load.chats.iter().map(|chat| chat.id).collect();
    transaction
        .execute(
            "SELECT 1 FROM chats WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            &[&chat_ids],
        )
        .await?;
    let row = transaction
        .query_one(
            "WITH incoming AS (
                 SELECT m.* FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[],
                                        $5::timestamptz[], $6::bool[])
                      WITH ORDINALITY AS m(id, chat_id, sender_id, text, timestamp, seen, n)
                 WHERE NOT EXISTS (SELECT 1 FROM messages e WHERE e.id = m.id)
             ), numbered AS (
                 SELECT i.*, c.last_seq + row_number() OVER (PARTITION BY i.chat_id ORDER BY i.n) AS seq
                 FROM incoming i JOIN chats c ON c.id = i.chat_id
             ), stored AS (
                 INSERT INTO messages (id, chat_id, sender_id, text, timestamp, seen, seq)
                 SELECT id, chat_id, sender_id, text, timestamp, seen, seq FROM numbered ORDER BY n
                 RETURNING chat_id, seq
             ), numbers AS (
                 UPDATE chats c SET last_seq = top.seq
                 FROM (SELECT chat_id, max(seq) AS seq FROM stored GROUP BY chat_id) top
                 WHERE c.id = top.chat_id
             )
             SELECT count(*) FROM stored",
            &[&ids, &chats, &senders, &texts, &times, &seen],
        )
        .await?;
    let added = u64::try_from(row.get::<_, i64>(0)).unwrap_or_default();
    let seen = "message_seen_status (message_id, user_id)";
    insert_pairs(transaction, seen, &load.seen).await?;
    let touched: std::collections::BTreeSet<Uuid> = chats.iter().copied().collect();
    keep_counts(transaction, &touched.into_iter().collect::<Vec<_>>()).await?;
    Ok(added)
}

/// What the send path keeps for each chat, for the loaded ones: when its
/// newest message came, and what of it is not unread for each member
/// (`sql/0032`).
async fn keep_counts(transaction: &Transaction<'_>, chats: &[Uuid]) -> Result<()> {
    transaction
        .execute(
            "UPDATE chats c SET active_at = m.timestamp FROM messages m
             WHERE c.id = ANY ($1) AND m.chat_id = c.id AND m.seq = c.last_seq",
            &[&chats],
        )
        .await?;
    transaction
        .execute(
            "UPDATE chat_members cm
             SET uncounted = uncounted_after(cm.chat_id, cm.user_id,
                                             greatest(cm.read_seq, coalesce(cm.cleared_seq, 0)))
             WHERE cm.chat_id = ANY ($1)",
            &[&chats],
        )
        .await?;
    Ok(())
}
