//! What any text a client gives may contain, whatever field it is in.
//!
//! PostgreSQL refuses NUL in text, and a refused row fails the statement
//! it is in: one such message in a group commit would make the whole batch
//! fall back to one commit per message. Other control characters are no
//! use in a chat and can hide text from a reader; both are refused here,
//! with the field named, before anything is stored.

use crate::error::{Error, Result};

/// Checks multi-line text (a message): no control characters but newline
/// and tab.
pub fn check(field: &'static str, text: &str) -> Result<()> {
    refuse(field, text, |c| c.is_control() && !matches!(c, '\n' | '\t'))
}

/// Checks one-line text (a name, an email address): no control
/// characters at all.
pub fn check_line(field: &'static str, text: &str) -> Result<()> {
    refuse(field, text, char::is_control)
}

fn refuse(field: &'static str, text: &str, forbidden: impl Fn(char) -> bool) -> Result<()> {
    match text.chars().find(|&c| forbidden(c)) {
        Some(found) => Err(Error::invalid(
            field,
            format!(
                "must not contain control characters (found U+{:04X})",
                u32::from(found)
            ),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_keep_newlines_and_tabs_only() {
        assert!(check("text", "two\nlines\tand a tab, ünïcödé 👋").is_ok());
        for bad in [
            "nul\0",
            "bell\u{7}",
            "cr\r\n",
            "del\u{7f}",
            "c1\u{85}",
            "esc\u{1b}[31m",
        ] {
            let error = check("text", bad).unwrap_err();
            assert_eq!(error.code(), "invalid_field", "{bad:?}");
        }
    }

    #[test]
    fn names_take_no_control_character_at_all() {
        assert!(check_line("name", "Ann Lee").is_ok());
        assert!(check_line("name", "Ann\nLee").is_err());
        assert!(check_line("name", "Ann\tLee").is_err());
    }
}
