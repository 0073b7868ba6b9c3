//! Generates demo data of a given size, deterministically from a seed.

use super::{
    DemoChat, DemoChatMember, DemoData, DemoGroup, DemoMessage, DemoSeenStatus, DemoUser,
    DemoUserGroup,
};
use crate::store::chats::{GROUP_CHAT, PERSONAL_CHAT};
use chrono::{DateTime, Duration, Utc};
use rand::seq::{IndexedRandom, index};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

/// How much data to generate.
#[derive(Debug, Clone)]
pub struct Sizes {
    pub users: usize,
    pub personal_chats: usize,
    pub groups: usize,
    /// Members per group, the creator included.
    pub group_size: usize,
    pub messages_per_chat: usize,
    pub seed: u64,
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

/// Demo data of the given sizes; the same sizes and seed give the same file.
pub fn generate(sizes: &Sizes) -> DemoData {
    generate_with_progress(sizes, |_| {})
}

/// [`generate`], calling `progress` with the number of messages made so far.
pub fn generate_with_progress(sizes: &Sizes, mut progress: impl FnMut(u64)) -> DemoData {
    let mut rng = ChaCha8Rng::seed_from_u64(sizes.seed);
    let mut data = DemoData {
        users: (0..sizes.users).map(|n| user(&mut rng, n)).collect(),
        ..DemoData::default()
    };
    let mut chats: Vec<(Uuid, Vec<Uuid>)> = Vec::new();
    for _ in 0..sizes
        .personal_chats
        .min(sizes.users * sizes.users.saturating_sub(1) / 2)
    {
        chats.push(personal_chat(&mut rng, &mut data));
    }
    for _ in 0..sizes.groups {
        chats.push(group_chat(&mut rng, &mut data, sizes.group_size));
    }
    let start: DateTime<Utc> = "2025-05-01T08:00:00Z".parse().expect("constant time");
    let mut made = 0;
    for (chat_id, members) in &chats {
        let mut time = start + Duration::minutes(rng.random_range(0..600));
        for _ in 0..sizes.messages_per_chat {
            time += Duration::seconds(rng.random_range(5..3600));
            message(&mut rng, &mut data, *chat_id, members, time);
            made += 1;
            progress(made);
        }
    }
    data
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
        email: format!("{}.{}{number}@example.com", first, last).to_lowercase(),
        password,
    }
}

/// A personal chat between two distinct users who have none yet.
fn personal_chat(rng: &mut ChaCha8Rng, data: &mut DemoData) -> (Uuid, Vec<Uuid>) {
    loop {
        let pair = index::sample(rng, data.users.len(), 2);
        let (a, b) = (&data.users[pair.index(0)], &data.users[pair.index(1)]);
        let members = vec![a.id, b.id];
        let name = format!("{} & {}", a.name, b.name);
        if data.chats.iter().any(|chat| chat.name == name) {
            continue;
        }
        let id = new_id(rng);
        data.chats.push(DemoChat {
            id,
            name,
            kind: PERSONAL_CHAT,
        });
        add_members(data, id, &members);
        return (id, members);
    }
}

fn group_chat(rng: &mut ChaCha8Rng, data: &mut DemoData, size: usize) -> (Uuid, Vec<Uuid>) {
    let picked = index::sample(rng, data.users.len(), size.clamp(1, data.users.len()));
    let members: Vec<Uuid> = picked.iter().map(|i| data.users[i].id).collect();
    let (chat_id, group_id) = (new_id(rng), new_id(rng));
    let name = format!(
        "{} {}",
        GROUP_WORDS.choose(rng).expect("words"),
        data.groups.len() + 1
    );
    data.chats.push(DemoChat {
        id: chat_id,
        name: name.clone(),
        kind: GROUP_CHAT,
    });
    add_members(data, chat_id, &members);
    data.groups.push(DemoGroup {
        id: group_id,
        name,
        creator_id: members[0],
        chat_id,
    });
    for user_id in &members {
        data.user_group.push(DemoUserGroup {
            user_id: *user_id,
            group_id,
        });
    }
    (chat_id, members)
}

fn add_members(data: &mut DemoData, chat_id: Uuid, members: &[Uuid]) {
    for user_id in members {
        data.chat_members.push(DemoChatMember {
            user_id: *user_id,
            chat_id,
        });
    }
}

/// A message from a random member; the sender has seen it, each other
/// member has with some chance, and it is `seen` when all have.
fn message(
    rng: &mut ChaCha8Rng,
    data: &mut DemoData,
    chat_id: Uuid,
    members: &[Uuid],
    timestamp: DateTime<Utc>,
) {
    let sender_id = *members.choose(rng).expect("chats have members");
    let length = rng.random_range(1..12);
    let words: Vec<&str> = (0..length)
        .map(|_| *WORDS.choose(rng).expect("words"))
        .collect();
    let id = new_id(rng);
    let mut seen_by_all = true;
    for user_id in members {
        if *user_id == sender_id || rng.random_bool(0.7) {
            data.message_seen_status.push(DemoSeenStatus {
                message_id: id,
                user_id: *user_id,
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
    use super::*;

    fn sizes(seed: u64) -> Sizes {
        Sizes {
            users: 10,
            personal_chats: 4,
            groups: 3,
            group_size: 5,
            messages_per_chat: 6,
            seed,
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_data() {
        let a = serde_json::to_string(&generate(&sizes(1))).unwrap();
        let b = serde_json::to_string(&generate(&sizes(1))).unwrap();
        let c = serde_json::to_string(&generate(&sizes(2))).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn sizes_are_respected() {
        let data = generate(&sizes(3));
        assert_eq!(data.users.len(), 10);
        assert_eq!(data.chats.len(), 7);
        assert_eq!(data.groups.len(), 3);
        assert_eq!(data.user_group.len(), 15);
        assert_eq!(data.chat_members.len(), 4 * 2 + 3 * 5);
        assert_eq!(data.messages.len(), 7 * 6);
    }

    #[test]
    fn seen_flags_match_the_statuses() {
        let data = generate(&sizes(4));
        for message in &data.messages {
            let members = data
                .chat_members
                .iter()
                .filter(|m| m.chat_id == message.chat_id);
            let all = members.clone().count();
            let seen = data
                .message_seen_status
                .iter()
                .filter(|status| status.message_id == message.id)
                .count();
            assert_eq!(message.seen, seen == all);
        }
    }
}
