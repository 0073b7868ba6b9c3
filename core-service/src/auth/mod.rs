//! Authentication: passwords, tokens, credentials and login throttling.

pub mod password;
pub mod throttle;
pub mod token_cache;
pub mod tokens;
