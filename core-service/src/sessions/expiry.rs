//! Sessions that end when their credential expires.
//!
//! A session opened with a token (an access token lives minutes) is closed
//! when the token expires. One task per core looks at the earliest expiry
//! once a second, rather than every session watching a timer of its own:
//! a timer polled at each of a session's operations cost the core about a
//! microsecond per message.

use super::{Outbox, SessionId};
use crate::store::connections::EndReason;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::watch;

/// How often expired sessions are looked for: a session outlives its
/// credential by at most this.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Sessions by when their credential expires.
type ByExpiry = BTreeMap<(DateTime<Utc>, SessionId), Weak<Outbox>>;

/// The sessions that rest on a credential, by when it expires.
#[derive(Default)]
pub struct Expiries {
    sessions: Mutex<ByExpiry>,
}

impl Expiries {
    /// `session` ends at `at` unless [`Expiries::forget`] comes first.
    pub fn add(&self, at: DateTime<Utc>, session: SessionId, outbox: &Arc<Outbox>) {
        self.lock().insert((at, session), Arc::downgrade(outbox));
    }

    /// `session` ended, or no longer rests on its credential.
    pub fn forget(&self, at: DateTime<Utc>, session: SessionId) {
        self.lock().remove(&(at, session));
    }

    /// Closes every session whose credential expired by `now`; how many.
    pub fn close_expired(&self, now: DateTime<Utc>) -> usize {
        let expired: Vec<Weak<Outbox>> = {
            let mut sessions = self.lock();
            let later = sessions.split_off(&(now, SessionId::MAX));
            std::mem::replace(&mut *sessions, later)
                .into_values()
                .collect()
        };
        let mut closed = 0;
        for outbox in expired.iter().filter_map(Weak::upgrade) {
            outbox.close(EndReason::Expired);
            closed += 1;
        }
        closed
    }

    /// Closes expired sessions once a second until shutdown.
    pub fn start(expiries: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECK_EVERY);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = shutdown.wait_for(|stopping| *stopping) => return,
                }
                expiries.close_expired(Utc::now());
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ByExpiry> {
        self.sessions.lock().expect("expiries lock poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::CloseSwitch;

    fn outbox() -> Arc<Outbox> {
        let (events, _queue) = tokio::sync::mpsc::channel(1);
        let (switch, _closed) = CloseSwitch::channel();
        Arc::new(Outbox::new(events, switch, None))
    }

    #[test]
    fn only_sessions_past_their_expiry_are_closed_and_forgotten_ones_never() {
        let expiries = Expiries::default();
        let registry = crate::sessions::Registry::default();
        let [one, two, three] = [(); 3].map(|()| registry.new_session_id());
        let now = Utc::now();
        let (past, future, forgotten) = (outbox(), outbox(), outbox());
        expiries.add(now - chrono::Duration::seconds(1), one, &past);
        expiries.add(now + chrono::Duration::minutes(5), two, &future);
        let forgotten_at = now - chrono::Duration::seconds(2);
        expiries.add(forgotten_at, three, &forgotten);
        expiries.forget(forgotten_at, three);
        assert_eq!(expiries.close_expired(now), 1);
        assert_eq!(past.closed_reason(), Some(EndReason::Expired));
        assert_eq!(future.closed_reason(), None);
        assert_eq!(forgotten.closed_reason(), None);
        assert_eq!(expiries.lock().len(), 1, "the closed one is gone");
    }
}
