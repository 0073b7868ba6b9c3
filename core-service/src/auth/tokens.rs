//! Opaque secret tokens: login sessions, OAuth access and refresh tokens.
//!
//! A token is 32 random bytes from the operating system's generator, hex
//! encoded behind a prefix that names its kind (so a leaked token is easy
//! to recognise). Only its SHA-256 hash is stored: a copy of the database
//! does not let anyone log in.

use crate::store::tokens::TokenKind;
use sha2::{Digest, Sha256};
use std::fmt::Write;

/// The prefix that names a token's kind.
fn prefix(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Session => "mss_",
        TokenKind::Access => "msa_",
        TokenKind::Refresh => "msr_",
    }
}

/// A new random token of `kind`.
pub fn generate(kind: TokenKind) -> String {
    let bytes: [u8; 32] = rand::random();
    let mut token = String::with_capacity(4 + 64);
    token.push_str(prefix(kind));
    for byte in bytes {
        let _ = write!(token, "{byte:02x}");
    }
    token
}

/// The hash under which a token is stored.
pub fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest
        .iter()
        .fold(String::with_capacity(64), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hashed_apart() {
        let (a, b) = (generate(TokenKind::Access), generate(TokenKind::Access));
        assert_ne!(a, b);
        assert!(a.starts_with("msa_") && a.len() == 68);
        assert!(generate(TokenKind::Refresh).starts_with("msr_"));
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
        assert_eq!(hash(&a).len(), 64);
        assert!(!hash(&a).contains(&a[4..]));
    }
}
