//! The ids of the core's things. Each is a UUID, but a user id cannot be
//! passed where a chat id is expected: the compiler tells them apart. They
//! are stored as PostgreSQL `uuid`s and shown as text.

use postgres_types::{FromSql, ToSql};
use std::fmt;
use uuid::Uuid;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ToSql, FromSql)]
        #[postgres(transparent)]
        pub struct $name(pub Uuid);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl $name {
            /// A new, random id.
            pub fn random() -> Self {
                $name(Uuid::new_v4())
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                $name(id)
            }
        }
    };
}

id!(
    /// A user (an account).
    UserId
);
id!(
    /// A chat, personal or group.
    ChatId
);
id!(
    /// A message.
    MessageId
);
id!(
    /// A group (its chat has a [`ChatId`] of its own).
    GroupId
);
id!(
    /// A login: the family of tokens one act of logging in produced.
    LoginId
);
id!(
    /// One connection in the connection history (a session's row).
    ConnectionId
);
id!(
    /// An edge's link, as the edge named it when it opened it.
    LinkId
);
id!(
    /// A core process, for the life of the process.
    CoreId
);
