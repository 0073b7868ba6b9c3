//! Generates demo data of a given size, deterministically from a seed: for
//! demos and tests (`messenger-core create-json`) and for load tests
//! (`loadgen generate`).

use super::{
    DemoChat, DemoChatMember, DemoData, DemoGroup, DemoMessage, DemoSeenStatus, DemoUser,
    DemoUserGroup, GROUP_CHAT, PERSONAL_CHAT,
};
use chrono::{DateTime, Duration, Utc};
use rand::seq::{IndexedRandom, SliceRandom, index};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;
use uuid::Uuid;

/// How much data to generate.
#[derive(Debug, Clone)]
pub struct Sizes {
    pub users: usize,
    /// At most one per pair of users.
    pub personal_chats: usize,
    pub groups: usize,
    /// Members per group, the creator included.
    pub group_size: usize,
    pub messages_per_chat: usize,
    /// The chance that a member other than the sender has seen a message.
    pub seen_chance: f64,
    /// Number of the first user (it is part of each email), so that files
    /// for several load-generator processes can be loaded side by side.
    pub first_user: usize,
    pub seed: u64,
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes {
            users: 10,
            personal_chats: 10,
            groups: 3,
            group_size: 4,
            messages_per_chat: 10,
            seen_chance: 0.7,
            first_user: 0,
            seed: 1,
        }
    }
}

/// Why sizes cannot be generated.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SizesError {
    #[error("a chat needs at least two users, not {0}")]
    TooFewUsers(usize),
    #[error("the group size must be at least 2")]
    GroupTooSmall,
    #[error("the group size {group_size} is more than the {users} users")]
    GroupTooLarge { group_size: usize, users: usize },
    #[error("the seen chance must be between 0 and 1")]
    SeenChance,
}

const FIRST_NAMES: &[&str] = &[
    "Ada", "Ben", "Chloe", "Dmitri", "Elena", "Farah", "Gabriel", "Hana", "Ivan", "Julia", "Kofi",
    "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera",
    "Wen", "Ximena", "Yusuf", "Zoe",
];
const LAST_NAMES: &[&str] = &[
    "Abbott", "Berg", "Carroll", "Diaz", "Eriksen", "Fischer", "Garcia", "Huang", "Ito", "Jensen",
    "Kowalski", "Lopez", "Moreau", "Novak", "Okafor", "Petrov", "Rossi", "Silva", "Tanaka",
    "Varga", "Weber", "Young",
];
const WORDS: &[&str] = &[
    "lunch", "meeting", "tomorrow", "project", "coffee", "weekend", "train", "photos", "deadline",
    "release", "review", "idea", "tickets", "dinner", "call", "later", "great", "thanks", "sure",
    "maybe", "today", "plan", "music", "office", "bug", "fixed", "ready",
];
const GROUP_WORDS: &[&str] = &[
    "Book club",
    "Climbing",
    "Team",
    "Family",
    "Trip",
    "Band",
    "Garden",
    "Chess",
    "Cooking",
    "Runners",
    "Flatmates",
    "Project",
];
const PASSWORD_CHARS: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#%&*+-=?";

/// Demo data of the given sizes; the same sizes give the same data.
pub fn generate(sizes: &Sizes) -> Result<DemoData, SizesError> {
    generate_with_progress(sizes, |_| {})
}

/// [`generate`], calling `progress` with the number of messages made so far.
pub fn generate_with_progress(
    sizes: &Sizes,
    mut progress: impl FnMut(u64),
) -> Result<DemoData, SizesError> {
    check(sizes)?;
    let mut rng = ChaCha8Rng::seed_from_u64(sizes.seed);
    let mut data = DemoData {
        users: (0..sizes.users)
            .map(|n| user(&mut rng, sizes.first_user + n))
            .collect(),
        ..DemoData::default()
    };
    let mut chats = personal_chats(&mut rng, &mut data, sizes.personal_chats);
    chats.extend(groups(&mut rng, &mut data, sizes));
    let start: DateTime<Utc> = "2025-05-01T08:00:00Z".parse().expect("constant time");
    let mut made = 0;
    for (chat_id, members) in &chats {
        let mut time = start + Duration::minutes(rng.random_range(0..600));
        for _ in 0..sizes.messages_per_chat {
            time += Duration::seconds(rng.random_range(5..3600));
            message(
                &mut rng,
                &mut data,
                (*chat_id, members),
                time,
                sizes.seen_chance,
            );
            made += 1;
            progress(made);
        }
    }
    Ok(data)
}

fn check(sizes: &Sizes) -> Result<(), SizesError> {
    if sizes.users < 2 {
        return Err(SizesError::TooFewUsers(sizes.users));
    }
    if sizes.groups > 0 && sizes.group_size < 2 {
        return Err(SizesError::GroupTooSmall);
    }
    if sizes.groups > 0 && sizes.group_size > sizes.users {
        return Err(SizesError::GroupTooLarge {
            group_size: sizes.group_size,
            users: sizes.users,
        });
    }
    if !(0.0..=1.0).contains(&sizes.seen_chance) {
        return Err(SizesError::SeenChance);
    }
    Ok(())
}

fn new_id(rng: &mut ChaCha8Rng) -> Uuid {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

fn user(rng: &mut ChaCha8Rng, number: usize) -> DemoUser {
    let first = FIRST_NAMES.choose(rng).expect("names");
    let last = LAST_NAMES.choose(rng).expect("names");
    let password: String = (0..10)
        .map(|_| char::from(*PASSWORD_CHARS.choose(rng).expect("chars")))
        .collect();
    DemoUser {
        id: new_id(rng),
        name: format!("{first} {last}"),
        email: format!("{first}.{last}{number}@example.com").to_lowercase(),
        password,
    }
}

/// `count` personal chats (fewer if there are not that many pairs), each
/// between two users who have none yet; their ids with their members.
fn personal_chats(
    rng: &mut ChaCha8Rng,
    data: &mut DemoData,
    count: usize,
) -> Vec<(Uuid, Vec<Uuid>)> {
    let users = data.users.len();
    let mut pairs = HashSet::new();
    let mut chats = Vec::new();
    while chats.len() < count.min(users * (users - 1) / 2) {
        let pair = index::sample(rng, users, 2);
        let (a, b) = (pair.index(0), pair.index(1));
        if !pairs.insert((a.min(b), a.max(b))) {
            continue;
        }
        let (a, b) = (&data.users[a], &data.users[b]);
        let (members, name) = (vec![a.id, b.id], format!("{} & {}", a.name, b.name));
        let id = new_id(rng);
        data.chats.push(DemoChat {
            id,
            name,
            kind: PERSONAL_CHAT,
        });
        add_members(data, id, &members);
        chats.push((id, members));
    }
    chats
}

/// The groups. Members are dealt round the shuffled users, so that every
/// user is in about the same number of groups (a load test's senders all
/// have chats to send to).
fn groups(rng: &mut ChaCha8Rng, data: &mut DemoData, sizes: &Sizes) -> Vec<(Uuid, Vec<Uuid>)> {
    let mut order: Vec<usize> = (0..sizes.users).collect();
    order.shuffle(rng);
    (0..sizes.groups)
        .map(|g| {
            let members: Vec<Uuid> = (0..sizes.group_size)
                .map(|j| data.users[order[(g * sizes.group_size + j) % sizes.users]].id)
                .collect();
            let chat_id = group(rng, data, &members);
            (chat_id, members)
        })
        .collect()
}

/// A group of `members`, the first its creator; the id of its chat.
fn group(rng: &mut ChaCha8Rng, data: &mut DemoData, members: &[Uuid]) -> Uuid {
    let (chat_id, group_id) = (new_id(rng), new_id(rng));
    let word = GROUP_WORDS.choose(rng).expect("words");
    let name = format!("{word} {}", data.groups.len() + 1);
    data.chats.push(DemoChat {
        id: chat_id,
        name: name.clone(),
        kind: GROUP_CHAT,
    });
    add_members(data, chat_id, members);
    data.groups.push(DemoGroup {
        id: group_id,
        name,
        creator_id: members[0],
        chat_id,
    });
    for &user_id in members {
        data.user_group.push(DemoUserGroup { user_id, group_id });
    }
    chat_id
}

fn add_members(data: &mut DemoData, chat_id: Uuid, members: &[Uuid]) {
    for &user_id in members {
        data.chat_members.push(DemoChatMember { user_id, chat_id });
    }
}

/// A message from a random member; the sender has seen it, each other
/// member has with `seen_chance`, and it is `seen` when all have.
fn message(
    rng: &mut ChaCha8Rng,
    data: &mut DemoData,
    (chat_id, members): (Uuid, &[Uuid]),
    timestamp: DateTime<Utc>,
    seen_chance: f64,
) {
    let sender_id = *members.choose(rng).expect("chats have members");
    let length = rng.random_range(1..12);
    let words: Vec<&str> = (0..length)
        .map(|_| *WORDS.choose(rng).expect("words"))
        .collect();
    let id = new_id(rng);
    let mut seen_by_all = true;
    for &user_id in members {
        if user_id == sender_id || rng.random_bool(seen_chance) {
            data.message_seen_status.push(DemoSeenStatus {
                message_id: id,
                user_id,
            });
        } else {
            seen_by_all = false;
        }
    }
    data.messages.push(DemoMessage {
        id,
        sender_id,
        chat_id,
        timestamp,
        seen: seen_by_all,
        text: capitalise(&words.join(" ")),
    });
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect::<String>() + ".")
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    fn sizes(seed: u64) -> Sizes {
        Sizes {
            users: 10,
            personal_chats: 4,
            groups: 3,
            group_size: 5,
            messages_per_chat: 6,
            seed,
            ..Sizes::default()
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_data() {
        let json = |seed| serde_json::to_string(&generate(&sizes(seed)).unwrap()).unwrap();
        assert_eq!(json(1), json(1));
        assert_ne!(json(1), json(2));
    }

    #[test]
    fn sizes_are_respected() {
        let data = generate(&sizes(3)).unwrap();
        assert_eq!(data.users.len(), 10);
        assert_eq!(data.chats.len(), 7);
        assert_eq!(data.groups.len(), 3);
        assert_eq!(data.user_group.len(), 15);
        assert_eq!(data.chat_members.len(), 4 * 2 + 3 * 5);
        assert_eq!(data.messages.len(), 7 * 6);
        let all_pairs = Sizes {
            users: 4,
            personal_chats: 100,
            groups: 0,
            ..sizes(3)
        };
        assert_eq!(generate(&all_pairs).unwrap().chats.len(), 6);
    }

    #[test]
    fn seen_flags_match_the_statuses() {
        let data = generate(&sizes(4)).unwrap();
        for message in &data.messages {
            let members = data
                .chat_members
                .iter()
                .filter(|m| m.chat_id == message.chat_id);
            let all = members.count();
            let seen = data
                .message_seen_status
                .iter()
                .filter(|status| status.message_id == message.id)
                .count();
            assert_eq!(message.seen, seen == all);
        }
        let unseen = generate(&Sizes {
            seen_chance: 0.0,
            ..sizes(4)
        })
        .unwrap();
        assert_eq!(unseen.message_seen_status.len(), unseen.messages.len());
    }

    #[test]
    fn groups_have_distinct_members_and_everyone_is_used_evenly() {
        let data = generate(&Sizes {
            users: 50,
            personal_chats: 0,
            groups: 20,
            ..sizes(7)
        })
        .unwrap();
        let mut groups_of: HashMap<Uuid, usize> = HashMap::new();
        for group in &data.groups {
            let members: HashSet<_> = data
                .user_group
                .iter()
                .filter(|m| m.group_id == group.id)
                .map(|m| m.user_id)
                .collect();
            assert_eq!(members.len(), 5);
            members
                .iter()
                .for_each(|u| *groups_of.entry(*u).or_default() += 1);
        }
        assert!(groups_of.values().all(|&n| n == 2));
    }

    #[test]
    fn files_for_several_processes_do_not_share_emails() {
        let first = generate(&sizes(1)).unwrap();
        let second = generate(&Sizes {
            first_user: 10,
            ..sizes(1)
        })
        .unwrap();
        let emails: HashSet<_> = first
            .users
            .iter()
            .chain(&second.users)
            .map(|u| &u.email)
            .collect();
        assert_eq!(emails.len(), 20);
    }

    #[test]
    fn impossible_sizes_are_refused() {
        let refused = |sizes: Sizes| generate(&sizes).unwrap_err();
        assert_eq!(
            refused(Sizes {
                group_size: 1,
                ..sizes(1)
            }),
            SizesError::GroupTooSmall
        );
        assert!(matches!(
            refused(Sizes {
                group_size: 11,
                ..sizes(1)
            }),
            SizesError::GroupTooLarge { .. }
        ));
        assert_eq!(
            refused(Sizes {
                users: 1,
                ..sizes(1)
            }),
            SizesError::TooFewUsers(1)
        );
        assert_eq!(
            refused(Sizes {
                seen_chance: 2.0,
                ..sizes(1)
            }),
            SizesError::SeenChance
        );
    }
}
