//! Data sets in the demo-data shape (`fake_data.json`): the users and
//! chats a run needs, read from any file of that shape. `loadgen generate`
//! writes one with the shared generator (the `demo-data` crate).

use demo_data::{DemoData, DemoUser, GROUP_CHAT, PERSONAL_CHAT};
use std::collections::HashMap;
use uuid::Uuid;

/// What a run needs to know: who can log in and which chats they are in.
#[derive(Debug, Clone)]
pub struct Directory {
    pub users: Vec<DemoUser>,
    /// Members of each chat, by user index.
    pub chat_members: HashMap<Uuid, Vec<usize>>,
    /// The chats a run sends to, per user index.
    pub chats_of: Vec<Vec<Uuid>>,
}

impl Directory {
    /// The user with `email`, or the first by e-mail when none is given.
    pub fn user_by_email(&self, email: Option<&str>) -> Option<&DemoUser> {
        match email {
            Some(email) => self.users.iter().find(|user| user.email == email),
            None => self.users.iter().min_by(|a, b| a.email.cmp(&b.email)),
        }
    }

    /// The users of `data` and their chats (only group chats when
    /// `groups_only`).
    pub fn new(data: DemoData, groups_only: bool) -> Directory {
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
    use demo_data::generate::{Sizes, generate};

    #[test]
    fn a_run_sends_to_the_groups_of_each_user() {
        let sizes = Sizes {
            users: 50,
            personal_chats: 5,
            groups: 20,
            group_size: 5,
            ..Sizes::default()
        };
        let directory = Directory::new(generate(&sizes).unwrap(), true);
        assert_eq!(directory.users.len(), 50);
        assert_eq!(directory.chat_members.len(), 20);
        assert!(directory.chat_members.values().all(|m| m.len() == 5));
        assert!(directory.chats_of.iter().all(|chats| chats.len() == 2));
    }

    #[test]
    fn the_shipped_demo_file_reads() {
        let text = include_str!("../../fake_data.json");
        let data: DemoData = serde_json::from_str(text).unwrap();
        let directory = Directory::new(data.clone(), false);
        assert_eq!(directory.users.len(), data.users.len());
        let groups = Directory::new(data, true);
        assert!(groups.chat_members.len() < directory.chat_members.len());
        assert!(groups.chat_members.values().all(|m| m.len() >= 2));
    }
}
