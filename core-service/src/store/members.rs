//! Group chats over time (`sql/0020`): members added, removed or leaving,
//! roles, names. Each change locks the chat's row first, as every send to
//! the chat does, so each message is stored wholly before or after it; a
//! change of members moves the chat's `members_version` on.

use super::records::Membership;
use crate::error::{Error, Result};
use crate::ids::{ChatId, UserId};
use crate::store::Store;
use crate::store::chats::{
    GROUP_CHAT, GroupRecord, refuse_blocking, refuse_full, refuse_unwilling,
};

type Transaction<'a> = deadpool_postgres::Transaction<'a>;

/// A member's powers in a group chat, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads, sends, adds people, leaves.
    Member,
    /// Also renames the group and removes plain members.
    Admin,
    /// Also removes admins and makes or unmakes them.
    Owner,
}

impl Role {
    fn from_column(value: i16) -> Role {
        match value {
            2 => Role::Owner,
            1 => Role::Admin,
            _ => Role::Member,
        }
    }

    fn column(self) -> i16 {
        match self {
            Role::Member => 0,
            Role::Admin => 1,
            Role::Owner => 2,
        }
    }
}

/// What may not be exceeded by adding members.
#[derive(Debug, Clone, Copy)]
pub struct AddLimits {
    /// Members of one group.
    pub members_per_group: usize,
    /// Chats one user may be in (`users.chat_count`).
    pub chats_per_user: usize,
}

/// Members added to a group chat.
#[derive(Debug, Clone, PartialEq)]
pub struct Added {
    /// The users who were not members before (none: nothing changed).
    pub added: Vec<UserId>,
    /// The group as it is now, every member in it.
    pub group: GroupRecord,
    pub membership: Membership,
}

/// A member gone from a group chat.
#[derive(Debug, Clone, PartialEq)]
pub struct Removed {
    /// The members who remain.
    pub membership: Membership,
    /// Who became the owner, when the owner left.
    pub new_owner: Option<UserId>,
}

/// A member of a chat with their name, for showing the members.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedMember {
    pub id: UserId,
    pub name: String,
    pub role: Role,
}

/// A group chat as it is now: for a sync that missed its changes.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupState {
    pub chat: ChatId,
    pub name: String,
    pub members: Vec<(UserId, Role)>,
}

impl Store {
    /// Adds `users` to the group chat `chat` on behalf of its member
    /// `actor`. Users already in it are left out; a new member's read
    /// marker starts at the chat's last message (what came before is
    /// history for them, not unread).
    pub async fn add_members(
        &self,
        chat: ChatId,
        actor: UserId,
        users: &[UserId],
        limits: AddLimits,
    ) -> Result<Added> {
        let mut client = self.connection().await?;
        let transaction = client.transaction().await?;
        lock_group(&transaction, chat, actor).await?;
        let current = members(&transaction, chat).await?;
        let mut added: Vec<UserId> = Vec::new();
        for user in users {
            if !current.contains(user) && !added.contains(user) {
                added.push(*user);
            }
        }
        if current.len() + added.len() > limits.members_per_group {
            let reason = format!("a group has at most {} members", limits.members_per_group);
            return Err(Error::invalid("user_ids", reason));
        }
        check_newcomers(&transaction, actor, &added, limits.chats_per_user).await?;
        if !added.is_empty() {
            transaction
                .execute(
                    "INSERT INTO chat_members (chat_id, user_id, read_seq)
                     SELECT $1, unnest($2::uuid[]), (SELECT last_seq FROM chats WHERE id = $1)",
                    &[&chat, &added],
                )
                .await?;
            transaction
                .execute(
                    "INSERT INTO user_groups (group_id, user_id)
                     SELECT g.id, unnest($2::uuid[]) FROM groups g WHERE g.chat_id = $1",
                    &[&chat, &added],
                )
                .await?;
        }
        let membership = changed(&transaction, chat, !added.is_empty()).await?;
        let group = self.group_in(&transaction, chat, &membership).await?;
        transaction.commit().await?;
        Ok(Added {
            added,
            group,
            membership,
        })
    }

    /// Takes `target` out of the group chat `chat`: `actor` leaving when
    /// they are the same, else `actor` removing them (the owner may remove
    /// anyone, an admin plain members). When the owner goes, the role
    /// passes to an admin, or else to a member.
    pub async fn remove_member(
        &self,
        chat: ChatId,
        actor: UserId,
        target: UserId,
    ) -> Result<Removed> {
        let mut client = self.connection().await?;
        let transaction = client.transaction().await?;
        let actor_role = lock_group(&transaction, chat, actor).await?;
        let target_role = match role(&transaction, chat, target).await? {
            Some(role) => role,
            None => return Err(Error::NotInChat(target)),
        };
        if target != actor && (actor_role < Role::Admin || actor_role <= target_role) {
            return Err(Error::NotAllowed);
        }
        transaction
            .execute(
                "DELETE FROM chat_members WHERE chat_id = $1 AND user_id = $2",
                &[&chat, &target],
            )
            .await?;
        transaction
            .execute(
                "DELETE FROM user_groups WHERE user_id = $2
                   AND group_id IN (SELECT id FROM groups WHERE chat_id = $1)",
                &[&chat, &target],
            )
            .await?;
        let new_owner = match target_role {
            Role::Owner => pass_ownership(&transaction, chat).await?,
            _ => None,
        };
        let membership = changed(&transaction, chat, true).await?;
        transaction.commit().await?;
        Ok(Removed {
            membership,
            new_owner,
        })
    }

    /// Renames the group chat `chat` (its owner or an admin); its members.
    pub async fn rename_group(
        &self,
        chat: ChatId,
        actor: UserId,
        name: &str,
    ) -> Result<Vec<UserId>> {
        let mut client = self.connection().await?;
        let transaction = client.transaction().await?;
        if lock_group(&transaction, chat, actor).await? < Role::Admin {
            return Err(Error::NotAllowed);
        }
        transaction
            .execute("UPDATE chats SET name = $2 WHERE id = $1", &[&chat, &name])
            .await?;
        transaction
            .execute(
                "UPDATE groups SET name = $2 WHERE chat_id = $1",
                &[&chat, &name],
            )
            .await?;
        let members = changed(&transaction, chat, false).await?.members.to_vec();
        transaction.commit().await?;
        Ok(members)
    }

    /// Makes `target` an admin or a plain member (the owner only, and not
    /// of themself); the chat's members.
    pub async fn set_role(
        &self,
        chat: ChatId,
        actor: UserId,
        target: UserId,
        new_role: Role,
    ) -> Result<Vec<UserId>> {
        let mut client = self.connection().await?;
        let transaction = client.transaction().await?;
        if lock_group(&transaction, chat, actor).await? != Role::Owner || target == actor {
            return Err(Error::NotAllowed);
        }
        let updated = transaction
            .execute(
                "UPDATE chat_members SET role = $3 WHERE chat_id = $1 AND user_id = $2",
                &[&chat, &target, &new_role.column()],
            )
            .await?;
        if updated == 0 {
            return Err(Error::NotInChat(target));
        }
        let members = changed(&transaction, chat, false).await?.members.to_vec();
        transaction.commit().await?;
        Ok(members)
    }

    /// The group chat `chat` as it is now.
    pub async fn group_state(&self, chat: ChatId) -> Result<GroupState> {
        let client = self.connection().await?;
        let name: String = client
            .query_one("SELECT name FROM chats WHERE id = $1", &[&chat])
            .await?
            .get(0);
        let rows = client
            .query(
                "SELECT user_id, role FROM chat_members WHERE chat_id = $1 ORDER BY role DESC, user_id",
                &[&chat],
            )
            .await?;
        let members = rows
            .iter()
            .map(|row| (row.get(0), Role::from_column(row.get(1))))
            .collect();
        Ok(GroupState {
            chat,
            name,
            members,
        })
    }

    /// Everyone in `chat` with their names and roles (the owner, admins,
    /// then members, each by name), if `user` is one of them.
    pub async fn members_of(&self, chat: ChatId, user: UserId) -> Result<Vec<NamedMember>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT m.user_id, u.name, m.role
                 FROM chat_members m JOIN users u ON u.id = m.user_id
                 WHERE m.chat_id = $1
                   AND EXISTS (SELECT 1 FROM chat_members
                               WHERE chat_id = $1 AND user_id = $2)
                 ORDER BY m.role DESC, u.name, m.user_id",
            )
            .await?;
        let rows = client.query(&statement, &[&chat, &user]).await?;
        if rows.is_empty() {
            return Err(Error::NotAMember);
        }
        Ok(rows
            .iter()
            .map(|row| NamedMember {
                id: row.get(0),
                name: row.get(1),
                role: Role::from_column(row.get(2)),
            })
            .collect())
    }

    /// The group of `chat` with the members of `membership`.
    async fn group_in(
        &self,
        transaction: &Transaction<'_>,
        chat: ChatId,
        membership: &Membership,
    ) -> Result<GroupRecord> {
        let row = transaction
            .query_one(
                "SELECT id, name, creator_id FROM groups WHERE chat_id = $1",
                &[&chat],
            )
            .await?;
        Ok(GroupRecord {
            id: row.get(0),
            name: row.get(1),
            creator_id: row.get(2),
            chat_id: chat,
            member_ids: membership.members.to_vec(),
        })
    }
}

/// Locks the chat's row and returns `actor`'s role in it: `NotAMember` for
/// no such chat or not a member, `PersonalChat` for a personal one.
async fn lock_group(transaction: &Transaction<'_>, chat: ChatId, actor: UserId) -> Result<Role> {
    let kind: Option<i16> = transaction
        .query_opt("SELECT type FROM chats WHERE id = $1 FOR UPDATE", &[&chat])
        .await?
        .map(|row| row.get(0));
    let role = role(transaction, chat, actor).await?;
    match (kind, role) {
        (Some(GROUP_CHAT), Some(role)) => Ok(role),
        (Some(_), Some(_)) => Err(Error::PersonalChat),
        _ => Err(Error::NotAMember),
    }
}

async fn role(transaction: &Transaction<'_>, chat: ChatId, user: UserId) -> Result<Option<Role>> {
    let row = transaction
        .query_opt(
            "SELECT role FROM chat_members WHERE chat_id = $1 AND user_id = $2",
            &[&chat, &user],
        )
        .await?;
    Ok(row.map(|row| Role::from_column(row.get(0))))
}

async fn members(transaction: &Transaction<'_>, chat: ChatId) -> Result<Vec<UserId>> {
    let rows = transaction
        .query(
            "SELECT user_id FROM chat_members WHERE chat_id = $1",
            &[&chat],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// New members must exist, have room for one more chat, and not block
/// the one adding them.
async fn check_newcomers(
    transaction: &Transaction<'_>,
    actor: UserId,
    newcomers: &[UserId],
    chats_per_user: usize,
) -> Result<()> {
    let found = transaction
        .query("SELECT id FROM users WHERE id = ANY($1)", &[&newcomers])
        .await?;
    let found: Vec<UserId> = found.iter().map(|row| row.get(0)).collect();
    if let Some(unknown) = newcomers.iter().find(|user| !found.contains(user)) {
        return Err(Error::UnknownUser(*unknown));
    }
    refuse_full(transaction, newcomers, chats_per_user).await?;
    refuse_blocking(transaction, actor, newcomers).await?;
    refuse_unwilling(transaction, actor, newcomers).await
}

/// Gives the owner's role to the remaining admin or member that comes
/// first (admins before members); `None` if nobody remains.
async fn pass_ownership(transaction: &Transaction<'_>, chat: ChatId) -> Result<Option<UserId>> {
    let row = transaction
        .query_opt(
            "UPDATE chat_members SET role = 2
             WHERE chat_id = $1 AND user_id = (
                 SELECT user_id FROM chat_members WHERE chat_id = $1
                 ORDER BY role DESC, user_id LIMIT 1)
             RETURNING user_id",
            &[&chat],
        )
        .await?;
    Ok(row.map(|row| row.get(0)))
}

/// Records a change of the chat (for sync's `changed_seq`) and, when the
/// members changed, a new version of them; the members as of now.
async fn changed(
    transaction: &Transaction<'_>,
    chat: ChatId,
    members_changed: bool,
) -> Result<Membership> {
    let row = transaction
        .query_one(
            "UPDATE chats SET changed_seq = last_seq,
                              members_version = members_version + $2::bool::int
             WHERE id = $1
             RETURNING members_version,
                       array(SELECT m.user_id FROM chat_members m WHERE m.chat_id = $1)",
            &[&chat, &members_changed],
        )
        .await?;
    let members: Vec<UserId> = row.get(1);
    Ok(Membership {
        chat,
        version: row.get(0),
        members: members.into(),
    })
}
