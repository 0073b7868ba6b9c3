//! Argon2id password hashes.
//!
//! Hashing is deliberately slow (tens of milliseconds), so it runs on the
//! blocking thread pool and never stalls the async workers. Each hash also
//! holds about 19 MiB while it runs, so at most one per core runs at a time:
//! a burst of thousands of logins waits its turn instead of exhausting memory.
//!
//! Whoever can make the core hash can keep it busy, so each [`Lane`] has a
//! bounded queue (a hash beyond it is refused at once with
//! [`Error::Busy`]), and registrations, which anyone may start, take at
//! most half of the hashing threads: however many of them wait, logins of
//! existing users keep the other half.

use crate::auth::throttle::{Attempt, Throttle};
use crate::error::{Error, Result};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Semaphore, SemaphorePermit};

/// Logins waiting for a hashing thread before further ones are refused.
pub const MAX_LOGINS_WAITING: usize = 256;
/// Registrations waiting before further ones are refused.
pub const MAX_REGISTRATIONS_WAITING: usize = 16;

/// Why a password is hashed, which decides its place in line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Checking a login.
    Login,
    /// Registering a new account.
    Registration,
}

/// Hashes computing at once in this process: one per CPU.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(threads()));

fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// A core's queues for hashing: how many wait in each lane, and the share
/// of the hashing threads registrations may hold.
pub struct Lanes {
    logins_waiting: AtomicUsize,
    registrations_waiting: AtomicUsize,
    registration_share: Semaphore,
}

impl Default for Lanes {
    fn default() -> Self {
        Lanes {
            logins_waiting: AtomicUsize::new(0),
            registrations_waiting: AtomicUsize::new(0),
            registration_share: Semaphore::new((threads() / 2).max(1)),
        }
    }
}

/// A hash's right to run: its permits, held until it is done.
pub struct Turn<'a> {
    _thread: SemaphorePermit<'static>,
    _share: Option<SemaphorePermit<'a>>,
}

impl Lanes {
    /// Waits for a hashing thread in `lane`, or refuses at once if the
    /// lane's queue is full.
    pub async fn turn(&self, lane: Lane) -> Result<Turn<'_>> {
        let (waiting, max) = match lane {
            Lane::Login => (&self.logins_waiting, MAX_LOGINS_WAITING),
            Lane::Registration => (&self.registrations_waiting, MAX_REGISTRATIONS_WAITING),
        };
        let _place = Waiting::join(waiting, max)?;
        let share = match lane {
            Lane::Registration => Some(
                self.registration_share
                    .acquire()
                    .await
                    .expect("never closed"),
            ),
            Lane::Login => None,
        };
        let thread = HASHING.acquire().await.expect("never closed");
        Ok(Turn {
            _thread: thread,
            _share: share,
        })
    }
}

impl Lanes {
    /// [`Lanes::turn`] for a hash that `attempt` of `throttle` counted: a
    /// hash refused as busy checked no password, so the attempt is taken
    /// back and counts against no one.
    pub async fn turn_counted(
        &self,
        lane: Lane,
        throttle: &Throttle,
        attempt: &Attempt,
    ) -> Result<Turn<'_>> {
        let turn = self.turn(lane).await;
        if turn.is_err() {
            throttle.withdrawn(attempt).await;
        }
        turn
    }
}

impl Turn<'static> {
    /// A turn outside any lane, for loading accounts from a file (an
    /// operator's command): it waits as long as it takes.
    pub async fn unqueued() -> Turn<'static> {
        Turn {
            _thread: HASHING.acquire().await.expect("never closed"),
            _share: None,
        }
    }
}

/// A place in a lane's queue, left when the hash starts (or gives up).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn join(count: &'a AtomicUsize, max: usize) -> Result<Waiting<'a>> {
        if count.fetch_add(1, Ordering::AcqRel) >= max {
            count.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::Busy);
        }
        Ok(Waiting(count))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A valid hash of a password nobody has, checked when the email is unknown
/// so that a wrong email takes as long as a wrong password.
static DECOY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_now("decoy password").expect("hashing a constant cannot fail"));

/// Hashes a password (Argon2id, default parameters, 16 random bytes of salt
/// from the operating system's generator) to a PHC string.
pub fn hash_now(password: &str) -> Result<String> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|error| Error::Internal(format!("salt encoding failed: {error}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| Error::Internal(format!("password hashing failed: {error}")))
}

/// [`hash_now`] on the blocking pool, once it has its `turn`.
pub async fn hash(password: String, turn: Turn<'_>) -> Result<String> {
    let _turn = turn;
    tokio::task::spawn_blocking(move || {
        let hash = hash_now(&password);
        give_back_memory();
        hash
    })
    .await
    .map_err(|error| Error::Internal(error.to_string()))?
}

/// Whether `password` matches the stored hash; `None` checks against a decoy
/// and always answers false, taking the same time.
pub async fn verify(password: String, stored_hash: Option<String>, turn: Turn<'_>) -> Result<bool> {
    let _turn = turn;
    tokio::task::spawn_blocking(move || {
        let known = stored_hash.is_some();
        let stored = stored_hash.unwrap_or_else(|| DECOY_HASH.clone());
        let parsed = PasswordHash::new(&stored)
            .map_err(|error| Error::Internal(format!("stored hash unreadable: {error}")))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        give_back_memory();
        Ok(known && matches)
    })
    .await
    .map_err(|error| Error::Internal(error.to_string()))?
}

/// Each hash works in a 19 MiB block. glibc keeps freed memory in the heap
/// arena of the thread that freed it, and hashes run on whichever blocking
/// thread is free: without handing the memory back, a burst of logins left
/// the core holding hundreds of MiB it no longer used. A trim costs far less
/// than the hash itself.
fn give_back_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse".into(), Turn::unqueued().await)
            .await
            .unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(!stored.contains("correct horse"));
        assert!(
            verify(
                "correct horse".into(),
                Some(stored.clone()),
                Turn::unqueued().await
            )
            .await
            .unwrap()
        );
        let turn = Turn::unqueued().await;
        assert!(!verify("wrong".into(), Some(stored), turn).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        let turn = Turn::unqueued().await;
        assert!(!verify("decoy password".into(), None, turn).await.unwrap());
    }

    #[test]
    fn a_full_lane_refuses_at_once_and_frees_its_places() {
        let count = AtomicUsize::new(0);
        let first = Waiting::join(&count, 2).unwrap();
        let second = Waiting::join(&count, 2).unwrap();
        assert!(matches!(Waiting::join(&count, 2), Err(Error::Busy)));
        drop(first);
        assert!(Waiting::join(&count, 2).is_ok());
        drop(second);
        assert_eq!(count.load(Ordering::Acquire), 0);
    }
}
