//! The newest messages of recently read chats, kept in memory.
//!
//! History pages and sync read the newest messages of a chat far more often
//! than anything else, and every message is written through this core, so
//! the core can keep those messages current instead of asking PostgreSQL
//! each time. A chat's window is loaded on its first read, then kept up to
//! date by every commit that stores a message in it or marks one seen. A
//! window always holds a chat's newest messages without a gap, so any page
//! that falls inside it is answered exactly as the database would answer
//! it; any other page goes to the database.
//!
//! A commit that lands while a window is being loaded may or may not be in
//! what the load read, so such a load is used for its one answer and then
//! dropped rather than kept. Messages other cores store reach the window
//! through the bus in their chat's order (see `events`); rows written
//! behind every core's back (a `populate` while they run) are seen once
//! the window is dropped.

use crate::ids::ChatId;
use crate::store::records::{MessageRecord, NewMessage, StoredMessage};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Messages kept per chat: a few pages of the largest default size.
pub const WINDOW: usize = 200;
/// Bookkeeping per cached message, on top of its text.
const MESSAGE_OVERHEAD: usize = 160;

/// The cache; cheap to share behind an `Arc`.
pub struct RecentMessages {
    budget: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    chats: HashMap<ChatId, Entry>,
    /// What the ready windows cost, by [`cost`].
    bytes: usize,
    next_load: u64,
}

enum Entry {
    /// A load is reading the chat; `changed` once a commit touched it since.
    Loading {
        load: u64,
        changed: bool,
    },
    Ready(Window),
}

/// A chat's newest messages, oldest first.
struct Window {
    messages: VecDeque<MessageRecord>,
    /// Whether these are all of the chat's messages.
    complete: bool,
    bytes: usize,
}

/// A load in progress: [`RecentMessages::finish_load`] keeps its result
/// only if nothing changed the chat in between.
///
/// Dropped unfinished (the read failed, or its request was cancelled), it
/// takes the chat's mark down so that a later load can be kept.
pub struct Load {
    chat_id: ChatId,
    load: Option<(Arc<RecentMessages>, u64)>,
}

impl Load {
    /// Whether the caller should read the window: false when the cache is
    /// off, or the chat is already loading or held.
    pub fn is_needed(&self) -> bool {
        self.load.is_some()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        if let Some((cache, mine)) = self.load.take() {
            let mut state = cache.state.lock().expect("cache lock");
            if state.loading(self.chat_id, mine).is_some() {
                state.chats.remove(&self.chat_id);
            }
        }
    }
}

/// Which page of a chat's history to answer.
#[derive(Debug, Clone, Copy)]
pub enum Page {
    /// From the oldest message on: skip `offset`, take `limit`.
    Offset { limit: usize, offset: usize },
    /// `after < seq < before`: the oldest `limit` such with `after`, else
    /// the newest `limit` before `before`.
    Between {
        after: Option<i64>,
        before: Option<i64>,
        limit: usize,
    },
}

impl Page {
    /// Whether reading this page from the database is reason to load the
    /// chat's window. A page after a cursor (sync, or paging forward) is
    /// usually a few new messages or none: reading 200 to answer it would
    /// cost more than it saves, so only a held window answers it.
    pub fn loads_window(&self) -> bool {
        !matches!(self, Page::Between { after: Some(_), .. })
    }
}

impl RecentMessages {
    /// A cache of at most `budget` bytes (about; 0 turns it off).
    pub fn new(budget: usize) -> Self {
        RecentMessages {
            budget,
            state: Mutex::new(State::default()),
        }
    }

    /// The page from memory, when the chat's window holds all of it.
    pub fn page(&self, chat_id: ChatId, page: Page) -> Option<Vec<MessageRecord>> {
        let state = self.state.lock().expect("cache lock");
        match state.chats.get(&chat_id)? {
            Entry::Ready(window) => window.page(page),
            Entry::Loading { .. } => None,
        }
    }

    /// Starts loading a chat's window (the caller reads it from the
    /// database). Only one load per chat is kept at a time.
    pub fn start_load(self: &Arc<Self>, chat_id: ChatId) -> Load {
        let mut state = self.state.lock().expect("cache lock");
        if self.budget == 0 || state.chats.contains_key(&chat_id) {
            return Load {
                chat_id,
                load: None,
            };
        }
        state.next_load += 1;
        let load = state.next_load;
        state.chats.insert(
            chat_id,
            Entry::Loading {
                load,
                changed: false,
            },
        );
        Load {
            chat_id,
            load: Some((self.clone(), load)),
        }
    }

    /// Ends a load with the chat's newest messages, newest first, as read
    /// with a limit of `WINDOW + 1`; answers `page` from them when it can.
    pub fn finish_load(
        &self,
        mut load: Load,
        mut newest_first: Vec<MessageRecord>,
        page: Page,
    ) -> Option<Vec<MessageRecord>> {
        let complete = newest_first.len() <= WINDOW;
        newest_first.truncate(WINDOW);
        newest_first.reverse();
        let window = Window::new(newest_first, complete);
        let answer = window.page(page);
        let Some((_, mine)) = load.load.take() else {
            return answer;
        };
        let mut state = self.state.lock().expect("cache lock");
        match state.loading(load.chat_id, mine) {
            Some(false) if window.bytes <= self.budget => {
                state.install(load.chat_id, window, self.budget)
            }
            Some(_) => {
                state.chats.remove(&load.chat_id);
            }
            None => {}
        }
        answer
    }

    /// Records messages just committed. Only chats the cache holds (or is
    /// loading) are looked at, so a send to a chat nobody reads copies
    /// nothing: a load that starts after the commit reads the message
    /// itself.
    pub fn stored<'a>(
        &self,
        messages: impl IntoIterator<Item = (&'a NewMessage, &'a StoredMessage)>,
    ) {
        let mut state = self.state.lock().expect("cache lock");
        for (message, stored) in messages {
            if stored.created && state.chats.contains_key(&stored.chat_id) {
                state.append(stored.record(message));
            }
        }
    }

    /// Records a message stored elsewhere (by another core), delivered in
    /// its chat's order; a copy is made only for a chat the cache holds.
    pub fn append(&self, record: &MessageRecord) {
        let mut state = self.state.lock().expect("cache lock");
        if state.chats.contains_key(&record.chat_id) {
            state.append(record.clone());
        }
    }

    /// Drops every window (and makes loads in progress drop theirs).
    pub fn clear(&self) {
        let mut state = self.state.lock().expect("cache lock");
        state.chats.clear();
        state.bytes = 0;
    }

    /// Drops the chat's window (a load in progress will not be kept).
    pub fn forget(&self, chat_id: ChatId) {
        let mut state = self.state.lock().expect("cache lock");
        let freed = match state.chats.get_mut(&chat_id) {
            Some(Entry::Loading { changed, .. }) => {
                *changed = true;
                return;
            }
            Some(Entry::Ready(window)) => window.bytes,
            None => return,
        };
        state.chats.remove(&chat_id);
        state.bytes -= freed;
    }

    /// Records that a message has just become seen by every member.
    pub fn seen(&self, chat_id: ChatId, seq: i64) {
        let mut state = self.state.lock().expect("cache lock");
        match state.chats.get_mut(&chat_id) {
            Some(Entry::Loading { changed, .. }) => *changed = true,
            Some(Entry::Ready(window)) => window.mark_seen(seq),
            None => {}
        }
    }
}

impl State {
    /// Whether a commit changed the chat during load `mine`; `None` when
    /// the chat's entry is not that load's.
    fn loading(&self, chat_id: ChatId, mine: u64) -> Option<bool> {
        match self.chats.get(&chat_id) {
            Some(Entry::Loading { load, changed }) if *load == mine => Some(*changed),
            _ => None,
        }
    }

    /// Makes `window` the chat's, evicting other windows to stay in budget.
    fn install(&mut self, chat_id: ChatId, window: Window, budget: usize) {
        self.bytes += window.bytes;
        self.chats.insert(chat_id, Entry::Ready(window));
        self.evict(chat_id, budget);
    }

    /// Drops other chats' windows (any; the map's order is arbitrary) until
    /// the cache is within its budget again.
    fn evict(&mut self, keep: ChatId, budget: usize) {
        while self.bytes > budget {
            let victim = self.chats.iter().find_map(|(id, entry)| {
                (matches!(entry, Entry::Ready(_)) && *id != keep).then_some(*id)
            });
            let Some(victim) = victim else { return };
            if let Some(Entry::Ready(window)) = self.chats.remove(&victim) {
                self.bytes -= window.bytes;
            }
        }
    }

    fn append(&mut self, message: MessageRecord) {
        let chat_id = message.chat_id;
        match self.chats.get_mut(&chat_id) {
            Some(Entry::Loading { changed, .. }) => *changed = true,
            Some(Entry::Ready(window)) => {
                let before = window.bytes;
                if window.append(message) {
                    self.bytes = self.bytes - before + window.bytes;
                } else {
                    // Out of order (another commit's messages are not in
                    // yet): the window would have a gap, so it goes.
                    self.bytes -= before;
                    self.chats.remove(&chat_id);
                }
            }
            None => {}
        }
    }
}

impl Window {
    fn new(messages: Vec<MessageRecord>, complete: bool) -> Self {
        let bytes = messages.iter().map(cost).sum();
        Window {
            messages: messages.into(),
            complete,
            bytes,
        }
    }

    /// Adds the chat's next message; false when it is not the next one.
    fn append(&mut self, message: MessageRecord) -> bool {
        let next = self.messages.back().map_or(1, |last| last.seq + 1);
        if message.seq < next && self.holds(&message) {
            // Already read by the load that made this window.
            return true;
        }
        if message.seq != next {
            return false;
        }
        self.bytes += cost(&message);
        self.messages.push_back(message);
        if self.messages.len() > WINDOW {
            let dropped = self.messages.pop_front().expect("over the window");
            self.bytes -= cost(&dropped);
            self.complete = false;
        }
        true
    }

    /// The window's message numbered `seq`.
    fn position(&self, seq: i64) -> Option<usize> {
        let first = self.messages.front()?.seq;
        let index = usize::try_from(seq.checked_sub(first)?).ok()?;
        (self.messages.get(index)?.seq == seq).then_some(index)
    }

    fn holds(&self, message: &MessageRecord) -> bool {
        self.position(message.seq)
            .is_some_and(|index| self.messages[index].id == message.id)
    }

    fn mark_seen(&mut self, seq: i64) {
        if let Some(index) = self.position(seq) {
            self.messages[index].seen = true;
        }
    }

    /// The page, when every message of it is here.
    fn page(&self, page: Page) -> Option<Vec<MessageRecord>> {
        let held = &self.messages;
        // Every message from the window's first on is here.
        let first = held.front().map(|m| m.seq);
        let range = match page {
            Page::Offset { limit, offset } => {
                // A chat's numbers have no gaps: skipping `offset` messages
                // is the page after seq `offset`.
                let after = Some(i64::try_from(offset).unwrap_or(i64::MAX));
                return self.page(Page::Between {
                    after,
                    before: None,
                    limit,
                });
            }
            Page::Between {
                after,
                before,
                limit,
            } => {
                let (after_seq, before_seq) = (after.unwrap_or(0), before.unwrap_or(i64::MAX));
                let start = held.partition_point(|m| m.seq <= after_seq);
                let end = held.partition_point(|m| m.seq < before_seq).max(start);
                if after.is_some() {
                    // The oldest `limit` after `after`: all here when no
                    // message after it is older than the window.
                    let older_missing = !self.complete && first.is_some_and(|f| after_seq < f - 1);
                    if older_missing {
                        return None;
                    }
                    start..start.saturating_add(limit).min(end)
                } else {
                    // The newest `limit` before `before`: all here when the
                    // window has that many, or has everything.
                    if end - start < limit && !self.complete {
                        return None;
                    }
                    end.saturating_sub(limit).max(start)..end
                }
            }
        };
        Some(held.range(range).cloned().collect())
    }
}

/// What a cached message counts against the budget.
fn cost(message: &MessageRecord) -> usize {
    message.text.len() + MESSAGE_OVERHEAD
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{MessageId, UserId};
    use chrono::Utc;
    use uuid::Uuid;

    fn message(chat_id: ChatId, seq: i64) -> MessageRecord {
        MessageRecord {
            id: MessageId::random(),
            chat_id,
            sender_id: UserId::default(),
            text: format!("message {seq}"),
            timestamp: Utc::now(),
            seen: false,
            seq,
            edited_at: None,
            deleted: false,
            attachments: Default::default(),
        }
    }

    /// Reports `records` as committed, as the store does.
    fn commit(cache: &RecentMessages, records: &[MessageRecord], created: bool) {
        let pairs: Vec<(NewMessage, StoredMessage)> = records
            .iter()
            .map(|m| {
                let new = NewMessage {
                    id: m.id,
                    chat_id: m.chat_id,
                    sender_id: m.sender_id,
                    client_id: Uuid::new_v4(),
                    written_at: None,
                    text: m.text.clone(),
                    attachments: Default::default(),
                };
                let stored = StoredMessage {
                    id: m.id,
                    chat_id: m.chat_id,
                    seq: m.seq,
                    timestamp: m.timestamp,
                    created,
                };
                (new, stored)
            })
            .collect();
        cache.stored(pairs.iter().map(|(new, stored)| (new, stored)));
    }

    /// Messages 1..=count of a chat, newest first (as a load reads them).
    fn newest_first(chat_id: ChatId, count: i64) -> Vec<MessageRecord> {
        (1..=count).rev().map(|seq| message(chat_id, seq)).collect()
    }

    fn seqs(page: Option<Vec<MessageRecord>>) -> Option<Vec<i64>> {
        page.map(|records| records.iter().map(|m| m.seq).collect())
    }

    fn cache_with(chat: ChatId, count: i64) -> Arc<RecentMessages> {
        let cache = Arc::new(RecentMessages::new(1 << 20));
        let load = cache.start_load(chat);
        assert!(load.is_needed());
        let all = Page::Offset {
            limit: 1,
            offset: 0,
        };
        cache.finish_load(load, newest_first(chat, count), all);
        cache
    }

    fn offset(limit: usize, offset: usize) -> Page {
        Page::Offset { limit, offset }
    }

    fn between(after: Option<i64>, before: Option<i64>, limit: usize) -> Page {
        Page::Between {
            after,
            before,
            limit,
        }
    }

    #[test]
    fn a_whole_chat_answers_every_page() {
        let chat = ChatId::random();
        let cache = cache_with(chat, 7);
        assert_eq!(seqs(cache.page(chat, offset(3, 0))), Some(vec![1, 2, 3]));
        assert_eq!(seqs(cache.page(chat, offset(3, 6))), Some(vec![7]));
        assert_eq!(seqs(cache.page(chat, offset(3, 9))), Some(vec![]));
        let newest = between(None, None, 2);
        assert_eq!(seqs(cache.page(chat, newest)), Some(vec![6, 7]));
        let before = between(None, Some(3), 5);
        assert_eq!(seqs(cache.page(chat, before)), Some(vec![1, 2]));
        let after = between(Some(2), Some(6), 10);
        assert_eq!(seqs(cache.page(chat, after)), Some(vec![3, 4, 5]));
        assert_eq!(
            seqs(cache.page(chat, between(Some(7), None, 4))),
            Some(vec![])
        );
    }

    #[test]
    fn only_pages_without_an_after_cursor_load_a_window() {
        assert!(offset(50, 0).loads_window());
        assert!(between(None, None, 50).loads_window());
        assert!(between(None, Some(9), 50).loads_window());
        assert!(!between(Some(3), None, 50).loads_window());
    }

    #[test]
    fn a_long_chat_answers_only_pages_inside_its_window() {
        let chat = ChatId::random();
        let total = WINDOW as i64 + 50;
        let cache = cache_with(chat, total);
        let first_held = total - WINDOW as i64 + 1;
        // Offsets count from the chat's first message, which is not held;
        // a page at an offset that starts inside the window is answered.
        assert_eq!(seqs(cache.page(chat, offset(10, 0))), None);
        let below_window = usize::try_from(first_held - 2).unwrap();
        assert_eq!(seqs(cache.page(chat, offset(3, below_window))), None);
        assert_eq!(
            seqs(cache.page(chat, offset(3, below_window + 1))),
            Some(vec![first_held, first_held + 1, first_held + 2])
        );
        let newest = usize::try_from(total - 2).unwrap();
        assert_eq!(
            seqs(cache.page(chat, offset(5, newest))),
            Some(vec![total - 1, total])
        );
        assert_eq!(seqs(cache.page(chat, offset(5, newest + 10))), Some(vec![]));
        assert_eq!(
            seqs(cache.page(chat, between(None, None, 3))),
            Some(vec![total - 2, total - 1, total])
        );
        let reaching_below = between(None, Some(first_held + 2), 5);
        assert_eq!(seqs(cache.page(chat, reaching_below)), None);
        let inside = between(None, Some(first_held + 5), 5);
        assert_eq!(
            seqs(cache.page(chat, inside)),
            Some((first_held..first_held + 5).collect())
        );
        let just_below = between(Some(first_held - 1), None, 2);
        assert_eq!(
            seqs(cache.page(chat, just_below)),
            Some(vec![first_held, first_held + 1])
        );
        assert_eq!(
            seqs(cache.page(chat, between(Some(first_held - 2), None, 2))),
            None
        );
    }

    #[test]
    fn commits_extend_the_window_in_order_and_a_gap_drops_it() {
        let chat = ChatId::random();
        let cache = cache_with(chat, 3);
        commit(&cache, &[message(chat, 4), message(chat, 5)], true);
        assert_eq!(
            seqs(cache.page(chat, offset(10, 0))),
            Some(vec![1, 2, 3, 4, 5])
        );
        // A retry stores nothing and changes nothing.
        commit(&cache, &[message(chat, 6)], false);
        assert_eq!(seqs(cache.page(chat, offset(10, 0))).unwrap().len(), 5);
        // Message 6's commit has not been reported yet.
        commit(&cache, &[message(chat, 7)], true);
        assert_eq!(seqs(cache.page(chat, offset(10, 0))), None);
    }

    #[test]
    fn a_full_window_forgets_its_oldest_message_and_is_no_longer_whole() {
        let chat = ChatId::random();
        let cache = cache_with(chat, WINDOW as i64);
        assert!(cache.page(chat, offset(1, 0)).is_some());
        commit(&cache, &[message(chat, WINDOW as i64 + 1)], true);
        assert_eq!(seqs(cache.page(chat, offset(1, 0))), None);
        assert_eq!(
            seqs(cache.page(chat, between(Some(1), Some(4), 10))),
            Some(vec![2, 3])
        );
    }

    #[test]
    fn a_load_overtaken_by_a_commit_answers_once_and_is_not_kept() {
        let chat = ChatId::random();
        let cache = Arc::new(RecentMessages::new(1 << 20));
        let load = cache.start_load(chat);
        assert!(!cache.start_load(chat).is_needed(), "one load at a time");
        commit(&cache, &[message(chat, 4)], true);
        let answer = cache.finish_load(load, newest_first(chat, 3), offset(10, 0));
        assert_eq!(seqs(answer), Some(vec![1, 2, 3]));
        assert_eq!(seqs(cache.page(chat, offset(10, 0))), None);
        assert!(cache.start_load(chat).is_needed());
    }

    #[test]
    fn a_seen_change_during_a_load_also_discards_it() {
        let chat = ChatId::random();
        let cache = Arc::new(RecentMessages::new(1 << 20));
        let load = cache.start_load(chat);
        cache.seen(chat, 2);
        cache.finish_load(load, newest_first(chat, 3), offset(10, 0));
        assert_eq!(seqs(cache.page(chat, offset(10, 0))), None);
    }

    #[test]
    fn an_abandoned_load_lets_the_next_one_in() {
        let chat = ChatId::random();
        let cache = Arc::new(RecentMessages::new(1 << 20));
        drop(cache.start_load(chat));
        assert!(cache.start_load(chat).is_needed());
    }

    #[test]
    fn seen_flags_follow_commits() {
        let chat = ChatId::random();
        let cache = cache_with(chat, 3);
        cache.seen(chat, 2);
        let page = cache.page(chat, offset(10, 0)).unwrap();
        let flags: Vec<bool> = page.iter().map(|m| m.seen).collect();
        assert_eq!(flags, [false, true, false]);
    }

    #[test]
    fn a_repeat_of_a_loaded_message_keeps_the_window() {
        let chat = ChatId::random();
        let cache = Arc::new(RecentMessages::new(1 << 20));
        let loaded = newest_first(chat, 3);
        let newest = loaded[0].clone();
        let load = cache.start_load(chat);
        cache.finish_load(load, loaded, offset(1, 0));
        // Committed before the load read it, reported after.
        commit(&cache, &[newest], true);
        assert_eq!(seqs(cache.page(chat, offset(10, 0))), Some(vec![1, 2, 3]));
    }

    #[test]
    fn the_budget_evicts_other_chats() {
        let per_chat = 10 * (MESSAGE_OVERHEAD + "message 10".len());
        let cache = Arc::new(RecentMessages::new(per_chat * 3 / 2));
        let (first, second) = (ChatId::random(), ChatId::random());
        for chat in [first, second] {
            let load = cache.start_load(chat);
            cache.finish_load(load, newest_first(chat, 10), offset(1, 0));
        }
        assert!(cache.page(second, offset(1, 0)).is_some());
        assert!(cache.page(first, offset(1, 0)).is_none());
        let off = Arc::new(RecentMessages::new(0));
        assert!(!off.start_load(first).is_needed());
    }
}
