//! Loads a demo-data file into the database.
//!
//! The whole file is checked before anything is written; a dangling
//! reference or a bad value is refused with the entry that holds it. The
//! rows are then written by the store in one transaction
//! (`store::bulk`), so loading the same file twice adds nothing and fails
//! nothing.

use super::DemoData;
use crate::auth::password;
use crate::ids::UserId;
use crate::store::Store;
use crate::store::bulk::{BulkChat, BulkGroup, BulkLoad, BulkMessage};
use crate::store::users::UserRecord;
use futures_util::{StreamExt, TryStreamExt, stream};
use std::collections::HashSet;
use std::path::Path;
use uuid::Uuid;

/// Why a file was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum PopulateError {
    #[error("cannot read {path}: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("{0}")]
    Parse(String),
    #[error("{entry}: {reason}")]
    Invalid { entry: String, reason: String },
    #[error(transparent)]
    Store(#[from] crate::error::Error),
}

/// What a load added.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PopulateReport {
    pub users: u64,
    pub chats: u64,
    pub messages: u64,
}

/// Reads and parses a demo-data file, naming the bad entry on failure.
pub fn read_file(path: &Path) -> Result<DemoData, PopulateError> {
    let text = std::fs::read_to_string(path).map_err(|cause| PopulateError::Read {
        path: path.display().to_string(),
        cause,
    })?;
    parse(&text)
}

/// Parses demo data, naming the bad entry on failure (e.g. `messages[3].timestamp`).
pub fn parse(text: &str) -> Result<DemoData, PopulateError> {
    let mut reader = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut reader)
        .map_err(|error| PopulateError::Parse(format!("{}: {}", error.path(), error.inner())))
}

/// Checks that every reference in the file points at an entry of the file
/// and that every value is acceptable.
pub fn validate(data: &DemoData) -> Result<(), PopulateError> {
    let users = unique_ids("users", data.users.iter().map(|user| user.id))?;
    let chats = unique_ids("chats", data.chats.iter().map(|chat| chat.id))?;
    let groups = unique_ids("groups", data.groups.iter().map(|group| group.id))?;
    let messages = unique_ids("messages", data.messages.iter().map(|message| message.id))?;
    check_users(data)?;
    for (index, chat) in data.chats.iter().enumerate() {
        if !(0..=1).contains(&chat.kind) {
            return invalid(
                format!("chats[{index}]"),
                "type must be 0 (personal) or 1 (group)",
            );
        }
    }
    for (index, member) in data.chat_members.iter().enumerate() {
        let entry = format!("chat_members[{index}]");
        refers(&entry, "user_id", member.user_id, &users)?;
        refers(&entry, "chat_id", member.chat_id, &chats)?;
    }
    for (index, group) in data.groups.iter().enumerate() {
        let entry = format!("groups[{index}]");
        refers(&entry, "creator_id", group.creator_id, &users)?;
        refers(&entry, "chat_id", group.chat_id, &chats)?;
    }
    for (index, member) in data.user_group.iter().enumerate() {
        let entry = format!("user_group[{index}]");
        refers(&entry, "user_id", member.user_id, &users)?;
        refers(&entry, "group_id", member.group_id, &groups)?;
    }
    for (index, message) in data.messages.iter().enumerate() {
        let entry = format!("messages[{index}]");
        refers(&entry, "sender_id", message.sender_id, &users)?;
        refers(&entry, "chat_id", message.chat_id, &chats)?;
    }
    for (index, status) in data.message_seen_status.iter().enumerate() {
        let entry = format!("message_seen_status[{index}]");
        refers(&entry, "message_id", status.message_id, &messages)?;
        refers(&entry, "user_id", status.user_id, &users)?;
    }
    Ok(())
}

fn check_users(data: &DemoData) -> Result<(), PopulateError> {
    let mut emails = HashSet::new();
    for (index, user) in data.users.iter().enumerate() {
        let entry = format!("users[{index}]");
        if !crate::email::looks_like_email(&user.email) {
            return invalid(
                entry,
                format!("email {:?} is not an email address", user.email),
            );
        }
        let spelled = match crate::email::Email::normalize(&user.email) {
            Ok(spelled) => spelled,
            Err(error) => return invalid(entry, error.to_string()),
        };
        if spelled.as_str() != user.email {
            return invalid(
                entry,
                format!(
                    "email {:?} is not in its one spelling ({spelled})",
                    user.email
                ),
            );
        }
        if !emails.insert(spelled) {
            return invalid(entry, format!("email {:?} appears twice", user.email));
        }
        if user.password.is_empty() {
            return invalid(entry, "password is empty");
        }
    }
    Ok(())
}

fn unique_ids(
    table: &str,
    ids: impl Iterator<Item = Uuid>,
) -> Result<HashSet<Uuid>, PopulateError> {
    let mut seen = HashSet::new();
    for (index, id) in ids.enumerate() {
        if !seen.insert(id) {
            return invalid(
                format!("{table}[{index}]"),
                format!("id {id} appears twice"),
            );
        }
    }
    Ok(seen)
}

fn refers(entry: &str, field: &str, id: Uuid, known: &HashSet<Uuid>) -> Result<(), PopulateError> {
    if known.contains(&id) {
        return Ok(());
    }
    invalid(
        entry.to_owned(),
        format!("{field} {id} refers to nothing in the file"),
    )
}

fn invalid<T>(entry: String, reason: impl Into<String>) -> Result<T, PopulateError> {
    Err(PopulateError::Invalid {
        entry,
        reason: reason.into(),
    })
}

/// Validates and loads `data`; a second load of the same file adds nothing.
pub async fn populate(store: &Store, data: &DemoData) -> Result<PopulateReport, PopulateError> {
    validate(data)?;
    check_emails_free(store, data).await?;
    let users = hash_new_passwords(store, data).await?;
    let loaded = store.load(&rows(data, users)).await?;
    Ok(PopulateReport {
        users: loaded.users,
        chats: loaded.chats,
        messages: loaded.messages,
    })
}

/// An email already taken by another account is refused, naming the entry.
async fn check_emails_free(store: &Store, data: &DemoData) -> Result<(), PopulateError> {
    for (index, user) in data.users.iter().enumerate() {
        // check_users made sure the file has it in its one spelling.
        let email = crate::email::Email::normalize(&user.email)?;
        if let Some(existing) = store.user_by_email(&email).await?
            && existing.id != UserId(user.id)
        {
            return invalid(
                format!("users[{index}]"),
                format!("email {:?} belongs to another account", user.email),
            );
        }
    }
    Ok(())
}

/// The users not yet in the database, with Argon2id hashes of their
/// passwords (the expensive part of a load), one per core at a time: each
/// hash holds about 19 MiB while it runs, so hashing thousands at once would
/// exhaust memory.
async fn hash_new_passwords(
    store: &Store,
    data: &DemoData,
) -> Result<Vec<UserRecord>, PopulateError> {
    let ids: Vec<UserId> = data.users.iter().map(|user| UserId(user.id)).collect();
    let existing: HashSet<UserId> = store.existing_users(&ids).await?.into_iter().collect();
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let users = stream::iter(
        data.users
            .iter()
            .filter(|user| !existing.contains(&UserId(user.id))),
    )
    .map(|user| async move {
        Ok::<_, crate::error::Error>(UserRecord {
            id: UserId(user.id),
            name: user.name.clone(),
            email: user.email.clone(),
            password_hash: password::hash(user.password.clone(), password::Turn::unqueued().await)
                .await?,
        })
    })
    .buffered(cores)
    .try_collect()
    .await?;
    Ok(users)
}

/// The rows of `data`, messages in time order (so that their numbers
/// follow their timestamps).
fn rows(data: &DemoData, users: Vec<UserRecord>) -> BulkLoad {
    let mut messages: Vec<BulkMessage> = data
        .messages
        .iter()
        .map(|m| BulkMessage {
            id: m.id,
            chat_id: m.chat_id,
            sender_id: m.sender_id,
            text: m.text.clone(),
            timestamp: m.timestamp,
            seen: m.seen,
        })
        .collect();
    messages.sort_by_key(|message| message.timestamp);
    BulkLoad {
        users,
        chats: data
            .chats
            .iter()
            .map(|c| BulkChat {
                id: c.id,
                name: c.name.clone(),
                kind: c.kind,
            })
            .collect(),
        chat_members: data
            .chat_members
            .iter()
            .map(|m| (m.chat_id, m.user_id))
            .collect(),
        groups: data
            .groups
            .iter()
            .map(|g| BulkGroup {
                id: g.id,
                name: g.name.clone(),
                creator_id: g.creator_id,
                chat_id: g.chat_id,
            })
            .collect(),
        user_groups: data
            .user_group
            .iter()
            .map(|m| (m.group_id, m.user_id))
            .collect(),
        messages,
        seen: data
            .message_seen_status
            .iter()
            .map(|s| (s.message_id, s.user_id))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo_data::generate::{Sizes, generate};

    fn sample() -> DemoData {
        generate(&Sizes {
            users: 6,
            personal_chats: 3,
            groups: 2,
            group_size: 4,
            messages_per_chat: 5,
            seed: 7,
            ..Sizes::default()
        })
        .expect("valid sizes")
    }

    fn refusal(data: &DemoData) -> String {
        validate(data).unwrap_err().to_string()
    }

    #[test]
    fn a_generated_file_is_valid() {
        validate(&sample()).unwrap();
    }

    #[test]
    fn refuses_a_message_from_an_unknown_sender() {
        let mut data = sample();
        data.messages[2].sender_id = Uuid::nil();
        let reason = refusal(&data);
        assert!(reason.starts_with("messages[2]: sender_id"), "{reason}");
    }

    #[test]
    fn refuses_a_member_of_an_unknown_chat() {
        let mut data = sample();
        data.chat_members[1].chat_id = Uuid::nil();
        assert!(refusal(&data).starts_with("chat_members[1]: chat_id"));
    }

    #[test]
    fn refuses_a_seen_status_for_an_unknown_message() {
        let mut data = sample();
        data.message_seen_status[0].message_id = Uuid::nil();
        assert!(refusal(&data).starts_with("message_seen_status[0]: message_id"));
    }

    #[test]
    fn refuses_duplicate_emails_whatever_their_case() {
        let mut data = sample();
        data.users[3].email = data.users[1].email.to_uppercase();
        assert!(refusal(&data).starts_with("users[3]: email"));
    }

    #[test]
    fn refuses_an_unknown_chat_type() {
        let mut data = sample();
        data.chats[0].kind = 7;
        assert!(refusal(&data).starts_with("chats[0]: type"));
    }

    #[test]
    fn refuses_duplicate_ids() {
        let mut data = sample();
        data.messages[1].id = data.messages[0].id;
        assert!(refusal(&data).starts_with("messages[1]: id"));
    }

    #[test]
    fn parse_errors_name_the_entry() {
        let text = r#"{"users":[],"messages":[{"id":"x","sender_id":"y"}]}"#;
        let reason = parse(text).unwrap_err().to_string();
        assert!(reason.starts_with("messages[0].id"), "{reason}");
        let text = r#"{"messages":[{"id":"6f1c2d3e-0000-4000-8000-000000000001",
            "sender_id":"6f1c2d3e-0000-4000-8000-000000000001",
            "chat_id":"6f1c2d3e-0000-4000-8000-000000000001",
            "timestamp":"last week","seen":false,"text":"hi"}]}"#;
        let reason = parse(text).unwrap_err().to_string();
        assert!(reason.starts_with("messages[0].timestamp"), "{reason}");
    }

    #[test]
    fn accepts_both_timestamp_forms_and_unknown_fields() {
        let text = r#"{"extra": 1, "messages":[
          {"id":"6f1c2d3e-0000-4000-8000-000000000001","sender_id":"6f1c2d3e-0000-4000-8000-000000000002",
           "chat_id":"6f1c2d3e-0000-4000-8000-000000000003","timestamp":"2025-05-04 04:45:50+00:00","seen":false,"text":"a"},
          {"id":"6f1c2d3e-0000-4000-8000-000000000004","sender_id":"6f1c2d3e-0000-4000-8000-000000000002",
           "chat_id":"6f1c2d3e-0000-4000-8000-000000000003","timestamp":"2025-05-04T04:45:51Z","seen":true,"text":"b","likes":3}]}"#;
        let data = parse(text).unwrap();
        assert_eq!(data.messages.len(), 2);
    }
}
