//! Authentication: password hashing and checking.

pub mod password;
