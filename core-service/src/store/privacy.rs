//! Each user's privacy settings (`sql/0025`).

use crate::error::Result;
use crate::ids::UserId;
use crate::store::Store;

/// Who sees a user's presence, and who may add them to groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Privacy {
    /// Their contacts see them online and when they were last seen (and
    /// they see their contacts'); otherwise no one, both ways.
    pub shares_presence: bool,
    /// Only their contacts may add them to groups; otherwise anyone they
    /// do not block.
    pub adds_from_contacts_only: bool,
}

/// A change of [`Privacy`]: what is `None` stays as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrivacyChange {
    pub shares_presence: Option<bool>,
    pub adds_from_contacts_only: Option<bool>,
}

impl Store {
    /// Changes `user`'s privacy by `change`; the settings before and
    /// after, or `None` if there is no such user.
    pub async fn change_privacy(
        &self,
        user: UserId,
        change: PrivacyChange,
    ) -> Result<Option<(Privacy, Privacy)>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "UPDATE users u
                 SET shares_presence = coalesce($2, u.shares_presence),
                     adds_from_contacts_only = coalesce($3, u.adds_from_contacts_only)
                 FROM (SELECT id, shares_presence, adds_from_contacts_only
                       FROM users WHERE id = $1 FOR UPDATE) before
                 WHERE u.id = before.id
                 RETURNING before.shares_presence, before.adds_from_contacts_only,
                           u.shares_presence, u.adds_from_contacts_only",
            )
            .await?;
        let row = client
            .query_opt(
                &statement,
                &[
                    &user,
                    &change.shares_presence,
                    &change.adds_from_contacts_only,
                ],
            )
            .await?;
        Ok(row.map(|row| {
            let before = Privacy {
                shares_presence: row.get(0),
                adds_from_contacts_only: row.get(1),
            };
            let after = Privacy {
                shares_presence: row.get(2),
                adds_from_contacts_only: row.get(3),
            };
            (before, after)
        }))
    }
}
