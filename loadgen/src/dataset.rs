//! Data sets in the demo-data shape (`fake_data.json`): writing one for a
//! load test, and reading the users and chats a run needs from any file of
//! that shape.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// The part of the demo-data shape a load test writes and reads.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DataSet {
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub chats: Vec<Chat>,
    #[serde(default)]
    pub chat_members: Vec<ChatMember>,
    #[serde(default)]
    pub groups: Vec<Group>,
    #[serde(default)]
    pub user_group: Vec<UserGroup>,
    #[serde(default)]
    pub messages: Vec<serde_json::Value>,
    #[serde(default)]
    pub message_seen_status: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Chat {
    pub id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: i16,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatMember {
    pub user_id: Uuid,
    pub chat_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    pub creator_id: Uuid,
    pub chat_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserGroup {
    pub user_id: Uuid,
    pub group_id: Uuid,
}

/// A personal chat.
pub const PERSONAL_CHAT: i16 = 0;
/// A group chat.
pub const GROUP_CHAT: i16 = 1;

/// The size of a generated data set.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub users: usize,
    pub groups: usize,
    pub group_size: usize,
    /// Messages already in each group chat (for history reads).
    pub messages_per_chat: usize,
    /// Number of the first user (`user{first_user}@load.test`), so that data
    /// sets for several load-generator processes can be loaded side by side.
    pub first_user: usize,
    pub seed: u64,
}

/// Why a shape cannot be generated.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ShapeError {
    #[error("--group-size must be at least 2")]
    GroupTooSmall,
    #[error("--group-size {group_size} is more than --users {users}")]
    GroupTooLarge { group_size: usize, users: usize },
}

/// Users `user{i}@load.test` and `groups` group chats of `group_size`
/// members each. Members are dealt round the shuffled users so that every
/// user is in about the same number of groups. The same shape and seed give
/// the same data set.
pub fn generate(shape: Shape) -> Result<DataSet, ShapeError> {
    if shape.group_size < 2 {
        return Err(ShapeError::GroupTooSmall);
    }
    if shape.group_size > shape.users {
        return Err(ShapeError::GroupTooLarge {
            group_size: shape.group_size,
            users: shape.users,
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(shape.seed);
    let mut data = DataSet {
        users: (0..shape.users)
            .map(|i| user(shape.first_user + i, &mut rng))
            .collect(),
        ..DataSet::default()
    };
    let mut order: Vec<usize> = (0..shape.users).collect();
    order.shuffle(&mut rng);
    for g in 0..shape.groups {
        let members: Vec<Uuid> = (0..shape.group_size)
            .map(|j| data.users[order[(g * shape.group_size + j) % shape.users]].id)
            .collect();
        add_group(&mut data, g, &members, &mut rng);
        let chat_id = data.chats.last().expect("just added").id;
        for m in 0..shape.messages_per_chat {
            let message = message(chat_id, members[m % members.len()], m, &mut rng);
            data.messages.push(message);
        }
    }
    Ok(data)
}

fn user(index: usize, rng: &mut ChaCha8Rng) -> User {
    const CHARS: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let password = (0..14)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect();
    User {
        id: uuid(rng),
        name: format!("Load User {index}"),
        email: format!("user{index}@load.test"),
        password,
    }
}

fn add_group(data: &mut DataSet, index: usize, members: &[Uuid], rng: &mut ChaCha8Rng) {
    let chat_id = uuid(rng);
    let group_id = uuid(rng);
    let name = format!("Load group {index}");
    data.chats.push(Chat {
        id: chat_id,
        name: name.clone(),
        kind: GROUP_CHAT,
    });
    data.groups.push(Group {
        id: group_id,
        name,
        creator_id: members[0],
        chat_id,
    });
    for &user_id in members {
        data.chat_members.push(ChatMember { user_id, chat_id });
        data.user_group.push(UserGroup { user_id, group_id });
    }
}

/// An old message, a minute after the one before it.
fn message(
    chat_id: Uuid,
    sender_id: Uuid,
    index: usize,
    rng: &mut ChaCha8Rng,
) -> serde_json::Value {
    let start = chrono::DateTime::from_timestamp(1_735_689_600, 0).expect("valid time");
    let timestamp = start + chrono::Duration::minutes(index as i64);
    serde_json::json!({
        "id": uuid(rng),
        "sender_id": sender_id,
        "chat_id": chat_id,
        "timestamp": timestamp.format("%Y-%m-%d %H:%M:%S+00:00").to_string(),
        "seen": false,
        "text": format!("History message {index} of this chat."),
    })
}

fn uuid(rng: &mut ChaCha8Rng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

/// What a run needs to know: who can log in and which chats they are in.
#[derive(Debug, Clone)]
pub struct Directory {
    pub users: Vec<User>,
    /// Members of each chat, by user index.
    pub chat_members: HashMap<Uuid, Vec<usize>>,
    /// The chats a run sends to, per user index.
    pub chats_of: Vec<Vec<Uuid>>,
}

impl Directory {
    /// The users of `data` and their chats (only group chats when
    /// `groups_only`).
    pub fn new(data: DataSet, groups_only: bool) -> Directory {
        let index: HashMap<Uuid, usize> = data
            .users
            .iter()
            .enumerate()
            .map(|(i, user)| (user.id, i))
            .collect();
        let kinds: HashMap<Uuid, i16> = data.chats.iter().map(|c| (c.id, c.kind)).collect();
        let mut chat_members: HashMap<Uuid, Vec<usize>> = HashMap::new();
        let mut chats_of = vec![Vec::new(); data.users.len()];
        for member in &data.chat_members {
            let Some(&user) = index.get(&member.user_id) else {
                continue;
            };
            let kind = kinds.get(&member.chat_id).copied().unwrap_or(PERSONAL_CHAT);
            if groups_only && kind != GROUP_CHAT {
                continue;
            }
            chat_members.entry(member.chat_id).or_default().push(user);
            chats_of[user].push(member.chat_id);
        }
        Directory {
            users: data.users,
            chat_members,
            chats_of,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape {
            users: 50,
            groups: 20,
            group_size: 5,
            messages_per_chat: 3,
            first_user: 0,
            seed: 7,
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_data() {
        let a = serde_json::to_string(&generate(shape()).unwrap()).unwrap();
        let b = serde_json::to_string(&generate(shape()).unwrap()).unwrap();
        let c = serde_json::to_string(&generate(Shape { seed: 8, ..shape() }).unwrap()).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn groups_have_distinct_members_and_everyone_is_used_evenly() {
        let data = generate(shape()).unwrap();
        assert_eq!(data.users.len(), 50);
        assert_eq!(data.groups.len(), 20);
        assert_eq!(data.chat_members.len(), 100);
        assert_eq!(data.user_group.len(), 100);
        assert_eq!(data.messages.len(), 60);
        let directory = Directory::new(data, true);
        for members in directory.chat_members.values() {
            let mut distinct = members.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), 5);
        }
        assert!(directory.chats_of.iter().all(|chats| chats.len() == 2));
    }

    #[test]
    fn data_sets_for_several_processes_do_not_share_emails() {
        let first = generate(shape()).unwrap();
        let second = generate(Shape {
            first_user: 50,
            seed: 8,
            ..shape()
        })
        .unwrap();
        assert_eq!(first.users[0].email, "user0@load.test");
        assert_eq!(second.users[0].email, "user50@load.test");
        let emails: std::collections::HashSet<_> = first
            .users
            .iter()
            .chain(&second.users)
            .map(|u| &u.email)
            .collect();
        assert_eq!(emails.len(), 100);
    }

    #[test]
    fn impossible_shapes_are_refused() {
        let too_small = Shape {
            group_size: 1,
            ..shape()
        };
        let too_large = Shape {
            group_size: 51,
            ..shape()
        };
        assert_eq!(generate(too_small).unwrap_err(), ShapeError::GroupTooSmall);
        assert!(matches!(
            generate(too_large),
            Err(ShapeError::GroupTooLarge { .. })
        ));
    }

    #[test]
    fn the_shipped_demo_file_reads() {
        let text = include_str!("../../fake_data.json");
        let data: DataSet = serde_json::from_str(text).unwrap();
        let directory = Directory::new(data.clone(), false);
        assert_eq!(directory.users.len(), data.users.len());
        let groups = Directory::new(data, true);
        assert!(groups.chat_members.len() < directory.chat_members.len());
        assert!(groups.chat_members.values().all(|m| m.len() >= 2));
    }
}
