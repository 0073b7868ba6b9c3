//! Envelopes sealed with the cluster's secret (`CLUSTER_SECRET`).
//!
//! NATS authenticates who may connect and which subjects they may use (see
//! `deploy/nats.conf`); the seal makes each event prove that it comes from
//! a core of this cluster, whoever else could reach the server. A sealed
//! payload is the envelope followed by its HMAC-SHA256, computed over the
//! subject and the envelope (an event published on another cluster's
//! subject does not verify here). An event without a valid seal is
//! dropped, logged and counted (`messenger_bus_events_total{direction="rejected"}`).
//!
//! The seal does not stop a replay of a sealed event by someone who could
//! read the subject; NATS permissions keep everyone but the cores away
//! from it, and every event a replay could repeat is a hint the cores
//! check against the database (a stored message they already delivered,
//! a membership change that only makes them read the members again).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;
use std::str::FromStr;

/// Shortest secret accepted: a guessable one would protect nothing.
pub const MIN_SECRET_CHARS: usize = 32;
/// Bytes of the seal at the end of a payload.
const SEAL_BYTES: usize = 32;

/// The secret the cores of one cluster share. It never shows in `Debug`
/// output (configurations are logged at start-up).
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterSecret(String);

impl ClusterSecret {
    /// A fresh random secret, for a process that runs a cluster itself.
    pub fn random() -> ClusterSecret {
        let parts = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()];
        ClusterSecret(format!("{}{}", parts[0].simple(), parts[1].simple()))
    }

    /// The secret as written in the environment.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for ClusterSecret {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        messenger_proto::secret_text("CLUSTER_SECRET", text, MIN_SECRET_CHARS).map(ClusterSecret)
    }
}

impl fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClusterSecret(***)")
    }
}

/// Why a payload was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unsealed {
    #[error("shorter than a seal")]
    Short,
    #[error("the seal does not match")]
    Forged,
}

/// Seals and opens the payloads of one subject.
#[derive(Clone)]
pub struct Seal {
    mac: Hmac<Sha256>,
}

impl Seal {
    /// The seal of `subject` under `secret`.
    pub fn new(secret: &ClusterSecret, subject: &str) -> Seal {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.0.as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(subject.as_bytes());
        mac.update(&[0]);
        Seal { mac }
    }

    /// `envelope` followed by its seal.
    pub fn seal(&self, mut envelope: Vec<u8>) -> Vec<u8> {
        let mut mac = self.mac.clone();
        mac.update(&envelope);
        envelope.extend_from_slice(&mac.finalize().into_bytes());
        envelope
    }

    /// The envelope of a sealed payload, if its seal is this cluster's.
    /// The comparison takes the same time wherever the seals differ.
    pub fn open<'a>(&self, payload: &'a [u8]) -> Result<&'a [u8], Unsealed> {
        let split = payload
            .len()
            .checked_sub(SEAL_BYTES)
            .ok_or(Unsealed::Short)?;
        let (envelope, seal) = payload.split_at(split);
        let mut mac = self.mac.clone();
        mac.update(envelope);
        mac.verify_slice(seal).map_err(|_| Unsealed::Forged)?;
        Ok(envelope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> ClusterSecret {
        ClusterSecret::random()
    }

    #[test]
    fn a_sealed_envelope_opens_as_it_was() {
        let seal = Seal::new(&secret(), "messenger.events");
        let sealed = seal.seal(b"event".to_vec());
        assert_eq!(seal.open(&sealed), Ok(&b"event"[..]));
        let empty = seal.seal(Vec::new());
        assert_eq!(seal.open(&empty), Ok(&b""[..]));
    }

    #[test]
    fn anything_else_is_refused() {
        let secret = secret();
        let seal = Seal::new(&secret, "messenger.events");
        let mut sealed = seal.seal(b"event".to_vec());
        assert_eq!(seal.open(b"event"), Err(Unsealed::Short));
        assert_eq!(seal.open(&[0; 40]), Err(Unsealed::Forged));
        let other_cluster = Seal::new(&ClusterSecret::random(), "messenger.events");
        assert_eq!(other_cluster.open(&sealed), Err(Unsealed::Forged));
        let other_subject = Seal::new(&secret, "other.events");
        assert_eq!(other_subject.open(&sealed), Err(Unsealed::Forged));
        sealed[0] ^= 1;
        assert_eq!(seal.open(&sealed), Err(Unsealed::Forged));
    }

    #[test]
    fn a_short_or_spaced_secret_is_refused_and_never_shown() {
        assert!("short".parse::<ClusterSecret>().is_err());
        let spaced = format!("{} {}", "a".repeat(20), "b".repeat(20));
        assert!(spaced.parse::<ClusterSecret>().is_err());
        let secret: ClusterSecret = "x".repeat(32).parse().unwrap();
        assert_eq!(format!("{secret:?}"), "ClusterSecret(***)");
    }
}
