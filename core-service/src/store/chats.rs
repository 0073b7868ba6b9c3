//! The `chats`, `chat_members`, `groups` and `user_groups` tables.

use crate::error::{Error, Result};
use crate::ids::{ChatId, GroupId, MessageId, UserId};
use crate::store::Store;
use crate::store::records::MessageRecord;

/// Chat type of a one-to-one chat.
pub const PERSONAL_CHAT: i16 = 0;
/// Chat type of a group chat.
pub const GROUP_CHAT: i16 = 1;

impl Store {
    /// The members of a chat with the version of that list; empty if the
    /// chat does not exist.
    pub async fn chat_members(&self, chat_id: ChatId) -> Result<(i64, Vec<UserId>)> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT c.members_version,
                        array(SELECT m.user_id FROM chat_members m WHERE m.chat_id = c.id)
                 FROM chats c WHERE c.id = $1",
            )
            .await?;
        let row = client.query_opt(&statement, &[&chat_id]).await?;
        Ok(row.map_or((0, Vec::new()), |row| (row.get(0), row.get(1))))
    }

    /// What `user` may read of the chat, if they are a member of it now (a
    /// primary-key probe); `None` if not.
    pub async fn reader(&self, chat_id: ChatId, user: UserId) -> Result<Option<Reader>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT array(SELECT b.blocked_id FROM blocks b WHERE b.blocker_id = $2),
                        cleared_seq
                 FROM chat_members WHERE chat_id = $1 AND user_id = $2",
            )
            .await?;
        let row = client.query_opt(&statement, &[&chat_id, &user]).await?;
        Ok(row.map(|row| Reader {
            blocks: row.get(0),
            cleared_seq: row.get::<_, Option<i64>>(1).unwrap_or(0),
        }))
    }

    /// Hides the chat for `user` up to its last message (`sql/0026`);
    /// returns that seq, or `None` if the user is not a member. The chat
    /// row's share lock waits for the sends under way, so the new mark is
    /// the chat's end and nothing after it is left to count (`sql/0032`).
    pub async fn hide_chat(&self, chat_id: ChatId, user: UserId) -> Result<Option<i64>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "UPDATE chat_members m SET cleared_seq = c.last_seq, uncounted = 0
                 FROM (SELECT last_seq FROM chats WHERE id = $1 FOR SHARE) c
                 WHERE m.chat_id = $1 AND m.user_id = $2
                 RETURNING m.cleared_seq",
            )
            .await?;
        let row = client.query_opt(&statement, &[&chat_id, &user]).await?;
        Ok(row.map(|row| row.get(0)))
    }

    /// The members who hid the chat at or after `seq`: a change to that
    /// message is no longer theirs to see (a range of the members' key).
    pub async fn hidden_from(&self, chat_id: ChatId, seq: i64) -> Result<Vec<UserId>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT user_id FROM chat_members WHERE chat_id = $1 AND cleared_seq >= $2",
            )
            .await?;
        let rows = client.query(&statement, &[&chat_id, &seq]).await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// Creates the group's chat, its members, the group and its `user_groups`
    /// rows in one transaction: all of it or none.
    pub async fn create_group(&self, group: &GroupRecord, quota: GroupQuota) -> Result<()> {
        let mut client = self.connection().await?;
        let transaction = client.transaction().await?;
        // One creation at a time per creator, so that two at once cannot
        // both pass the count below (a lock of its own: the user's row is
        // updated by logins and must not wait on this).
        transaction
            .execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 0))",
                &[&group.creator_id],
            )
            .await?;
        // A statement of its own: it sees what committed while it waited.
        let created: i64 = transaction
            .query_one(
                "SELECT count(*) FROM groups WHERE creator_id = $1",
                &[&group.creator_id],
            )
            .await?
            .get(0);
        if usize::try_from(created).unwrap_or(usize::MAX) >= quota.groups_per_creator {
            return Err(Error::TooManyGroups {
                max: quota.groups_per_creator,
            });
        }
        refuse_full(&transaction, &group.member_ids, quota.chats_per_user).await?;
        refuse_blocking(&transaction, group.creator_id, &group.member_ids).await?;
        refuse_unwilling(&transaction, group.creator_id, &group.member_ids).await?;
        transaction
            .execute(
                "INSERT INTO chats (id, name, type) VALUES ($1, $2, $3)",
                &[&group.chat_id, &group.name, &GROUP_CHAT],
            )
            .await?;
        transaction
            .execute(
                "INSERT INTO chat_members (chat_id, user_id, role)
                 SELECT $1, u, CASE WHEN u = $3 THEN 2 ELSE 0 END FROM unnest($2::uuid[]) u",
                &[&group.chat_id, &group.member_ids, &group.creator_id],
            )
            .await?;
        transaction
            .execute(
                "INSERT INTO groups (id, name, creator_id, chat_id) VALUES ($1, $2, $3, $4)",
                &[&group.id, &group.name, &group.creator_id, &group.chat_id],
            )
            .await?;
        transaction
            .execute(
                "INSERT INTO user_groups (group_id, user_id) SELECT $1, unnest($2::uuid[])",
                &[&group.id, &group.member_ids],
            )
            .await?;
        transaction.commit().await?;
        Ok(())
    }
}

type Transaction<'a> = deadpool_postgres::Transaction<'a>;

/// Refuses (`TooManyChats`, naming one) when one of `users` is in
/// `chats_per_user` chats already: they cannot join another.
pub(crate) async fn refuse_full(
    transaction: &Transaction<'_>,
    users: &[UserId],
    chats_per_user: usize,
) -> Result<()> {
    let limit = i32::try_from(chats_per_user).unwrap_or(i32::MAX);
    let full = transaction
        .query_opt(
            "SELECT id FROM users WHERE id = ANY($1) AND chat_count >= $2 LIMIT 1",
            &[&users, &limit],
        )
        .await?;
    match full {
        Some(full) => Err(Error::TooManyChats(full.get(0))),
        None => Ok(()),
    }
}

/// Refuses (`Blocked`, naming one) when one of `users` blocks `actor`, who
/// would put them in a chat.
pub(crate) async fn refuse_blocking(
    transaction: &Transaction<'_>,
    actor: UserId,
    users: &[UserId],
) -> Result<()> {
    let blocking = transaction
        .query_opt(
            "SELECT blocker_id FROM blocks
             WHERE blocked_id = $1 AND blocker_id = ANY($2) LIMIT 1",
            &[&actor, &users],
        )
        .await?;
    match blocking {
        Some(blocking) => Err(Error::Blocked(blocking.get(0))),
        None => Ok(()),
    }
}

/// Refuses (`ContactsOnly`, naming one) when one of `users` lets only
/// their contacts add them to groups and `actor` is not one.
pub(crate) async fn refuse_unwilling(
    transaction: &Transaction<'_>,
    actor: UserId,
    users: &[UserId],
) -> Result<()> {
    let unwilling = transaction
        .query_opt(
            "SELECT u.id FROM users u
             WHERE u.id = ANY($2) AND u.adds_from_contacts_only AND u.id <> $1
               -- The pair's row by its primary key (the flags are read, not
               -- filtered on, so that no partial index of them is scanned).
               AND NOT coalesce((
                   SELECT d.low_wrote AND d.high_wrote FROM direct_chats d
                   WHERE d.user_low = least(u.id, $1) AND d.user_high = greatest(u.id, $1)
               ), false)
             LIMIT 1",
            &[&actor, &users],
        )
        .await?;
    match unwilling {
        Some(unwilling) => Err(Error::ContactsOnly(unwilling.get(0))),
        None => Ok(()),
    }
}

/// What a member may read of a chat.
#[derive(Debug, Clone, Default)]
pub struct Reader {
    /// The users the member blocks: their messages are left out.
    pub blocks: Vec<UserId>,
    /// The member hid the chat up to this seq (0: never; the messages up
    /// to it are left out).
    pub cleared_seq: i64,
}

/// Members listed with a chat in a chat list: a list of chats is not the
/// place for a thousand members of each.
pub const MEMBER_PREVIEW: i64 = 20;

/// What one creation of a group may not exceed.
#[derive(Debug, Clone, Copy)]
pub struct GroupQuota {
    /// Groups one user may create.
    pub groups_per_creator: usize,
    /// Chats one user may be in (`users.chat_count`).
    pub chats_per_user: usize,
}

/// A chat as its member sees it in a chat list.
#[derive(Debug, Clone)]
pub struct ChatSummaryRecord {
    pub id: ChatId,
    pub name: String,
    pub kind: i16,
    /// The first [`MEMBER_PREVIEW`] members' ids and names, by name.
    pub members: Vec<(UserId, String)>,
    /// Members in all.
    pub member_count: i64,
    pub last_message: Option<crate::store::records::MessageRecord>,
    /// Messages of others the user has not marked seen.
    pub unread: i64,
}

impl Store {
    /// The user's chats with their members and newest message, most
    /// recently active first (one query). The page is chosen from the
    /// user's memberships and their chats' rows alone (`chats.active_at`),
    /// and the unread count is arithmetic on kept figures (`sql/0032`), so
    /// the cost is the user's chats plus one page, however long the chats
    /// are. Every row of another table is found through a LATERAL lookup,
    /// so the plan cannot turn into a scan of `chats`, `users` or
    /// `messages` (`docs/data-model.md`, "Plans").
    pub async fn chats_of_user(
        &self,
        user_id: UserId,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ChatSummaryRecord>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT page.id, page.name, page.type, people.ids, people.names,
                        last.id, last.chat_id, last.sender_id, last.text, last.timestamp,
                        last.seen, last.seq, last.edited_at, last.deleted,
                        greatest(page.last_seq - greatest(page.read_seq, coalesce(page.cleared_seq, 0))
                                 - page.uncounted, 0),
                        people.count
                 FROM (
                     SELECT c.id, c.name, c.type, c.created_at, c.last_seq, shown.active_at,
                            mine.read_seq, mine.cleared_seq, mine.uncounted
                     FROM chat_members mine
                     CROSS JOIN LATERAL (
                         SELECT c.id, c.name, c.type, c.created_at, c.last_seq, c.active_at
                         FROM chats c WHERE c.id = mine.chat_id LIMIT 1
                     ) c
                     -- For a user who blocks someone, a chat is as recent as
                     -- its newest message they may read (one probe per chat).
                     CROSS JOIN LATERAL (
                         SELECT CASE
                             WHEN (SELECT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $1)) THEN (
                                 SELECT m.timestamp FROM messages m
                                 WHERE m.chat_id = c.id AND m.seq > coalesce(mine.cleared_seq, 0)
                                   AND NOT EXISTS (
                                       SELECT 1 FROM blocks b
                                       WHERE b.blocker_id = $1 AND b.blocked_id = m.sender_id)
                                 ORDER BY m.seq DESC LIMIT 1)
                             ELSE c.active_at
                         END AS active_at
                     ) shown
                     WHERE mine.user_id = $1
                       -- A hidden chat comes back with its next message
                       -- (one the user may read).
                       AND CASE WHEN mine.cleared_seq IS NULL THEN true
                                ELSE c.last_seq > mine.cleared_seq AND EXISTS (
                                    SELECT 1 FROM messages m
                                    WHERE m.chat_id = c.id AND m.seq > mine.cleared_seq
                                      AND NOT EXISTS (
                                          SELECT 1 FROM blocks b
                                          WHERE b.blocker_id = $1 AND b.blocked_id = m.sender_id))
                           END
                     ORDER BY shown.active_at DESC NULLS LAST, c.created_at DESC, c.id
                     LIMIT $2 OFFSET $3
                 ) page
                 CROSS JOIN LATERAL (
                     SELECT coalesce((array_agg(u.id ORDER BY u.name, u.id))[1:$4], '{}') AS ids,
                            coalesce((array_agg(u.name ORDER BY u.name, u.id))[1:$4], '{}') AS names,
                            count(*) AS count
                     FROM chat_members m
                     CROSS JOIN LATERAL (
                         SELECT u.id, u.name FROM users u WHERE u.id = m.user_id LIMIT 1
                     ) u
                     WHERE m.chat_id = page.id
                 ) people
                 LEFT JOIN LATERAL (
                     SELECT id, chat_id, sender_id, text, timestamp, seen, seq,
                            edited_at, deleted_at IS NOT NULL AS deleted
                     FROM messages WHERE chat_id = page.id
                       AND seq > coalesce(page.cleared_seq, 0)
                       AND NOT EXISTS (
                           SELECT 1 FROM blocks b
                           WHERE b.blocker_id = $1 AND b.blocked_id = messages.sender_id)
                     ORDER BY seq DESC LIMIT 1
                 ) last ON true
                 ORDER BY page.active_at DESC NULLS LAST, page.created_at DESC, page.id",
            )
            .await?;
        let preview = i32::try_from(MEMBER_PREVIEW).unwrap_or(i32::MAX);
        let rows = client
            .query(&statement, &[&user_id, &limit, &offset, &preview])
            .await?;
        Ok(rows.iter().map(summary).collect())
    }
}

fn summary(row: &tokio_postgres::Row) -> ChatSummaryRecord {
    let ids: Vec<UserId> = row.get(3);
    let names: Vec<String> = row.get(4);
    let last_id: Option<MessageId> = row.get(5);
    ChatSummaryRecord {
        id: row.get(0),
        name: row.get(1),
        kind: row.get(2),
        members: ids.into_iter().zip(names).collect(),
        last_message: last_id.map(|_| MessageRecord::from_columns(row, 5)),
        unread: row.get(14),
        member_count: row.get(15),
    }
}

/// A chat's position, for catching up.
#[derive(Debug, Clone)]
pub struct ChatPosition {
    pub id: ChatId,
    pub kind: i16,
    pub last_seq: i64,
    /// The last seq when its members, roles or name last changed (`None`
    /// if they never did).
    pub changed_seq: Option<i64>,
    /// The user hid the chat up to this seq (`None`: never).
    pub cleared_seq: Option<i64>,
}

/// A group with its chat, as created (the members it was created with).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRecord {
    pub id: GroupId,
    pub name: String,
    pub creator_id: UserId,
    pub chat_id: ChatId,
    /// Every member, the creator included, without repeats.
    pub member_ids: Vec<UserId>,
}

impl Store {
    /// Every chat of the user with its last seq.
    pub async fn chat_positions(&self, user_id: UserId) -> Result<Vec<ChatPosition>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT c.id, c.type, c.last_seq, c.changed_seq, m.cleared_seq
                 FROM chat_members m
                 CROSS JOIN LATERAL (
                     SELECT c.id, c.type, c.last_seq, c.changed_seq FROM chats c
                     WHERE c.id = m.chat_id LIMIT 1
                 ) c
                 WHERE m.user_id = $1 ORDER BY c.id",
            )
            .await?;
        let rows = client.query(&statement, &[&user_id]).await?;
        Ok(rows
            .iter()
            .map(|row| ChatPosition {
                id: row.get(0),
                kind: row.get(1),
                last_seq: row.get(2),
                changed_seq: row.get(3),
                cleared_seq: row.get(4),
            })
            .collect())
    }

    /// The group whose chat this is, if it is a group chat.
    pub async fn group_of_chat(&self, chat_id: ChatId) -> Result<Option<GroupRecord>> {
        let client = self.connection().await?;
        let row = client
            .query_opt(
                "SELECT g.id, g.name, g.creator_id, g.chat_id,
                        array(SELECT u.user_id FROM user_groups u WHERE u.group_id = g.id)
                 FROM groups g WHERE g.chat_id = $1",
                &[&chat_id],
            )
            .await?;
        Ok(row.map(|row| GroupRecord {
            id: row.get(0),
            name: row.get(1),
            creator_id: row.get(2),
            chat_id: row.get(3),
            member_ids: row.get(4),
        }))
    }
}
