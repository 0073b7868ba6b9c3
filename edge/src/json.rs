//! JSON objects that REST answers and WebSocket frames share, written once:
//! times as the protocol writes them, one person's presence.

use messenger_proto::timestamp;
use messenger_proto::v1;
use serde::Serialize;
use utoipa::ToSchema;

/// A core timestamp as the protocol writes it.
pub fn format_time(time: Option<&prost_types::Timestamp>) -> String {
    time.and_then(timestamp::from_proto)
        .map(timestamp::format)
        .unwrap_or_default()
}

/// One person's presence.
#[derive(Serialize, ToSchema)]
pub struct Presence<'a> {
    #[schema(format = Uuid)]
    pub user_id: &'a str,
    /// True while any of their devices is connected.
    pub online: bool,
    /// When their last device left; null while online or if never seen.
    #[schema(required = true, format = DateTime)]
    pub last_seen: Option<String>,
}

impl<'a> From<&'a v1::Presence> for Presence<'a> {
    fn from(presence: &'a v1::Presence) -> Self {
        Presence {
            user_id: &presence.user_id,
            online: presence.online,
            last_seen: presence
                .last_seen
                .as_ref()
                .map(|time| format_time(Some(time))),
        }
    }
}
