//! The index of words that search reads, kept off the send path: a core
//! notes each chat it stores a message to, and a moment later indexes the
//! new messages of the noted chats, many in one statement
//! (`Store::index_words`). Notes are hints: a core that stops, or notes
//! more chats than it keeps, leaves chats behind, and the sweep (at start
//! and every [`SWEEP_EVERY`]) finds them in the database. Search reads the
//! text of what is not indexed yet, so nothing sent is ever missing from
//! it (`store/search.rs`). One core at a time indexes a chat (a lock per
//! chat, taken without waiting); another that wants it meanwhile notes it
//! again for its next round.

use crate::error::Result;
use crate::ids::ChatId;
use crate::store::Store;
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long new messages wait to be indexed with others: long enough to
/// gather many (a busy chat's messages of this long cost one pass), short
/// enough that the text search reads instead stays a few messages a chat.
pub const EVERY: Duration = Duration::from_millis(250);
/// How often every chat is checked for messages no note pointed to.
pub const SWEEP_EVERY: Duration = Duration::from_secs(300);
/// Most chats noted at once; beyond, the next round sweeps instead.
const MAX_NOTED: usize = 100_000;
/// Chats per statement.
const CHATS_PER_PASS: usize = 100;
/// Messages of one chat per statement: bounds a statement's work when a
/// chat is far behind (a database indexed for the first time).
const MESSAGES_PER_CHAT: i64 = 500;
/// Chats read per statement by the sweep.
const SWEEP_PAGE: i64 = 10_000;

/// The chats this core stored messages to since its last round.
#[derive(Debug, Default)]
pub struct WordIndex {
    noted: Mutex<Noted>,
}

#[derive(Debug, Default)]
struct Noted {
    chats: HashSet<ChatId>,
    /// Some chat was not noted for lack of room.
    overflowed: bool,
}

impl WordIndex {
    /// `chat` has a new message to index.
    pub fn note(&self, chat: ChatId) {
        let mut noted = self.noted.lock().unwrap_or_else(|e| e.into_inner());
        if noted.chats.len() < MAX_NOTED {
            noted.chats.insert(chat);
        } else {
            noted.overflowed = true;
        }
    }

    /// Notes `chats` again (a round that failed).
    fn note_all(&self, chats: impl IntoIterator<Item = ChatId>) {
        for chat in chats {
            self.note(chat);
        }
    }

    /// What was noted, and forgets it.
    fn take(&self) -> Noted {
        std::mem::take(&mut *self.noted.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Indexes what `index` notes every [`EVERY`], and sweeps at start and
/// every [`SWEEP_EVERY`], until `shutdown`.
pub async fn run(index: &WordIndex, store: &Store, mut shutdown: watch::Receiver<bool>) {
    let mut sweep_at = Instant::now();
    loop {
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            _ = shutdown.changed() => return,
        }
        let noted = index.take();
        let chats: Vec<ChatId> = noted.chats.into_iter().collect();
        match catch_up(store, &chats, &shutdown).await {
            // Another core was indexing these: what it did not see is
            // indexed next round.
            Ok(done) => index.note_all(done.busy),
            Err(error) => {
                tracing::warn!(%error, "indexing words failed; trying again later");
                index.note_all(chats);
                continue;
            }
        }
        if noted.overflowed || Instant::now() >= sweep_at {
            match sweep(store, &shutdown).await {
                Ok(()) => sweep_at = Instant::now() + SWEEP_EVERY,
                Err(error) => tracing::warn!(%error, "sweeping for words failed"),
            }
        }
    }
}

/// Indexes every chat of the database that is behind, page by page (but
/// those another core is indexing at the time).
pub async fn sweep(store: &Store, shutdown: &watch::Receiver<bool>) -> Result<()> {
    let mut after = None;
    loop {
        let (behind, last) = store.chats_behind(after, SWEEP_PAGE).await?;
        catch_up(store, &behind, shutdown).await?;
        match last {
            Some(last) if !*shutdown.borrow() => after = Some(last),
            _ => return Ok(()),
        }
    }
}

/// What [`catch_up`] did.
#[derive(Debug, Default)]
pub struct CaughtUp {
    /// Messages whose words it stored.
    pub indexed: u64,
    /// Chats it left to another core indexing them at the time.
    pub busy: Vec<ChatId>,
}

/// Indexes every message of `chats` stored before it started (unless
/// `shutdown` comes first), but in the chats another core is indexing.
pub async fn catch_up(
    store: &Store,
    chats: &[ChatId],
    shutdown: &watch::Receiver<bool>,
) -> Result<CaughtUp> {
    let mut pending = chats.to_vec();
    let mut done = CaughtUp::default();
    while !pending.is_empty() && !*shutdown.borrow() {
        let mut behind = Vec::new();
        for part in pending.chunks(CHATS_PER_PASS) {
            let pass = store.index_words(part, MESSAGES_PER_CHAT).await?;
            crate::telemetry::words_indexed(pass.indexed);
            done.indexed += pass.indexed;
            behind.extend(pass.behind);
            done.busy.extend(pass.busy);
        }
        pending = behind;
    }
    Ok(done)
}
