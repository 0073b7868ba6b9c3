//! What a throttle counts and how long it makes an account wait: the
//! limits, the doubling delay, and one attempt that was let through (shared
//! by the throttle and its two counters, in memory and in Redis).

use std::time::Duration;

/// The wait after an account's first attempt beyond its free ones.
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest wait between an account's attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// The wait after an account's newest attempt when `beyond` attempts past
/// its free ones are in the window: doubling from [`FIRST_DELAY`], at most
/// [`MAX_DELAY`] and never longer than the window.
pub fn account_delay(beyond: usize, window: Duration) -> Duration {
    let doublings = u32::try_from(beyond).unwrap_or(u32::MAX).min(16);
    (FIRST_DELAY * 2_u32.pow(doublings))
        .min(MAX_DELAY)
        .min(window)
}

/// The limits a throttle applies.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_account: usize,
    pub per_address: usize,
    pub window: Duration,
}

impl Limits {
    /// At least one attempt per account and per address: a limit of 0
    /// would lock everyone out.
    pub(super) fn at_least_one(self) -> Self {
        Limits {
            per_account: self.per_account.max(1),
            per_address: self.per_address.max(1),
            ..self
        }
    }
}

/// One login attempt that was let through.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub(super) id: String,
    pub(super) account: String,
    pub(super) address: Option<String>,
    /// Counted in this core's memory (no Redis, or Redis failed).
    pub(super) local: bool,
}
