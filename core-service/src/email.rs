//! E-mail addresses in their one spelling.
//!
//! An address is compared, stored, counted by the login throttle and found
//! by search in one form, made here and nowhere else: surrounding white
//! space trimmed, Unicode composed (NFC, so that two byte sequences that
//! show the same text are one address), ASCII letters in lower case.
//! Letters beyond ASCII keep their case: Unicode's case mappings differ
//! between Rust and PostgreSQL (and between locales), and two mappings of
//! one address were two budgets of the login throttle. `sql/0022` put the
//! stored addresses in this form, and the unique index is on the column
//! itself.

use crate::error::{Error, Result};
use icu_normalizer::ComposingNormalizerBorrowed;
use std::fmt;

/// Longest email address (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// An e-mail address in its one spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// `text` as an address to look up (a login, a search): normalized,
    /// within the longest address, without control characters. Its shape
    /// is not checked: a wrong one finds nobody.
    pub fn normalize(text: &str) -> Result<Email> {
        let email = Email::spell(text);
        if email.0.chars().count() > MAX_EMAIL_CHARS {
            return Err(Error::invalid("email", "must be an email address"));
        }
        crate::text::check_line("email", &email.0)?;
        Ok(email)
    }

    /// `text` as the address of a new account: normalized, and shaped like
    /// `local@domain.tld`.
    pub fn parse(text: &str) -> Result<Email> {
        let email = Email::normalize(text)?;
        if !looks_like_email(&email.0) {
            return Err(Error::invalid("email", "must be an email address"));
        }
        Ok(email)
    }

    /// The address as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The one spelling of `text`, whatever it holds.
    fn spell(text: &str) -> Email {
        let composed = ComposingNormalizerBorrowed::new_nfc().normalize(text.trim());
        Email(composed.to_ascii_lowercase())
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `text` has the shape of an email address (`local@domain.tld`).
pub fn looks_like_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !text.contains(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_has_one_spelling() {
        let spelled = |text| Email::normalize(text).unwrap().0;
        assert_eq!(
            spelled("  Ada.Lovelace@Example.COM "),
            "ada.lovelace@example.com"
        );
        // "é" composed and decomposed.
        assert_eq!(spelled("caf\u{e9}@x.org"), spelled("cafe\u{301}@x.org"));
        // The dotted capital I keeps its case: in Rust it lowers to "i̇",
        // in PostgreSQL's locales to "i" or "i̇"; it is one letter here.
        assert_eq!(spelled("\u{130}van@x.org"), "\u{130}van@x.org");
        assert_ne!(spelled("\u{130}van@x.org"), spelled("ivan@x.org"));
        assert_eq!(spelled("Stra\u{df}e@X.org"), "stra\u{df}e@x.org");
    }

    #[test]
    fn a_new_account_needs_the_shape_of_an_address() {
        assert!(Email::parse("a@example.com").is_ok());
        assert!(Email::parse("first.last+tag@mail.example.org").is_ok());
        for bad in [
            "",
            "a",
            "@x.org",
            "a@b",
            "a@.org",
            "a@org.",
            "a b@x.org",
            "a@b@c.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Email::normalize("nul\0@x.org").is_err());
        let long = format!("{}@x.org", "a".repeat(MAX_EMAIL_CHARS));
        assert!(Email::normalize(&long).is_err());
    }
}
