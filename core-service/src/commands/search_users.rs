//! `SearchUsers`: finding people to talk to.
//!
//! Who can be found decides how much a stranger learns from the directory:
//! a user finds the people they share a chat with by a prefix of a word of
//! their name, and anyone (contacts included) only by their exact email
//! address (as one gives a phone number or an address to someone met
//! elsewhere). Nobody can learn an address by trying prefixes of it.

use crate::email::Email;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::state::{Chats, Rates};

/// Longest query, in characters (an email address is at most 254).
pub const MAX_QUERY_CHARS: usize = 254;

/// A page of the people `user` may find with `query`: ids and names, by
/// name (`limit` as in history: none given is the default page size).
pub async fn run(
    chats: &Chats,
    rates: &Rates,
    user: UserId,
    query: &str,
    limit: Option<u32>,
    offset: u64,
) -> Result<Vec<(UserId, String)>> {
    let (limit, offset) = super::history::page(chats, limit, offset)?;
    let query = query.trim();
    if query.is_empty() {
        return Err(Error::invalid("query", "must not be blank"));
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        let reason = format!("longer than {MAX_QUERY_CHARS} characters");
        return Err(Error::invalid("query", reason));
    }
    crate::text::check_line("query", query)?;
    rates
        .searches
        .take(user)
        .map_err(Error::too_many_attempts)?;
    // As an address, in the one spelling accounts are stored in.
    let email = Email::normalize(query)?;
    chats
        .store
        .search_users(user, &query.to_lowercase(), &email, limit, offset)
        .await
}
