//! Argon2id password hashes.
//!
//! Hashing is deliberately slow (tens of milliseconds), so it runs on the
//! blocking thread pool and never stalls the async workers. Each hash also
//! holds about 19 MiB while it runs, so at most one per core runs at a time:
//! a burst of thousands of logins waits its turn instead of exhausting memory.

use crate::error::{Error, Result};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::LazyLock;
use tokio::sync::Semaphore;

/// Hashes computing at once.
static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, usize::from)));

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

/// [`hash_now`] on the blocking pool.
pub async fn hash(password: String) -> Result<String> {
    let _turn = HASHING.acquire().await.expect("never closed");
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
pub async fn verify(password: String, stored_hash: Option<String>) -> Result<bool> {
    let _turn = HASHING.acquire().await.expect("never closed");
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
        let stored = hash("correct horse".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(!stored.contains("correct horse"));
        assert!(
            verify("correct horse".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong".into(), Some(stored)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(!verify("decoy password".into(), None).await.unwrap());
    }
}
