//! Client frames: JSON text → typed frames, with one error path for
//! everything malformed.
//!
//! Frames carry no type tag (the documented protocol tells them apart by
//! their fields), so the shape is decided first from the field names, then
//! serde reads the frame of that shape; every error names the field at
//! fault. Fields that no frame knows are ignored, as they always were.

use chrono::{DateTime, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// A client frame, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    Login(Login),
    SendMessage(SendMessage),
    CreateGroup(CreateGroup),
    MessageSeen(MessageSeen),
    /// `{"type":"sync","since":<cursor or null>}`: catch up after being away.
    Sync(Sync),
    /// `{"type":"watch_presence"}`: the contacts' presence, now and on change.
    WatchPresence,
    /// `{"type":"leave_group","chat_id":…}`.
    LeaveGroup(ChatRef),
    /// `{"type":"block_user","user_id":…}`.
    BlockUser(UserRef),
    /// `{"type":"unblock_user","user_id":…}`.
    UnblockUser(UserRef),
    /// The messenger operations added since (see [`Addition`]).
    Addition(Addition),
}

/// The operations added for what people expect of a messenger.
#[derive(Debug, Clone, PartialEq)]
pub enum Addition {
    /// `{"type":"read_up_to","chat_id":…,"seq":…}`.
    ReadUpTo(ReadUpTo),
    /// `{"type":"open_direct_chat","user_id":…}`.
    OpenDirectChat(UserRef),
    /// `{"type":"edit_message","client_id":…,"message_id":…,"text":…}`.
    EditMessage(EditMessage),
    /// `{"type":"delete_message","message_id":…}`.
    DeleteMessage(MessageSeen),
    /// `{"type":"typing","chat_id":…}`.
    Typing(ChatRef),
    /// `{"type":"add_members","chat_id":…,"users":[…]}`.
    AddMembers(AddMembers),
    /// `{"type":"remove_member","chat_id":…,"user_id":…}`.
    RemoveMember(ChatMember),
    /// `{"type":"rename_group","chat_id":…,"name":…}`.
    RenameGroup(RenameGroup),
    /// `{"type":"set_role","chat_id":…,"user_id":…,"role":"admin"|"member"}`.
    SetRole(SetRole),
    /// `{"type":"set_privacy","presence":"contacts"|"nobody",
    /// "group_adds":"everyone"|"contacts"}`, each optional.
    SetPrivacy(SetPrivacy),
    /// `{"type":"hide_chat","chat_id":…}`.
    HideChat(ChatRef),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReadUpTo {
    #[serde(deserialize_with = "text")]
    pub chat_id: String,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EditMessage {
    #[serde(deserialize_with = "text")]
    pub client_id: String,
    #[serde(deserialize_with = "text")]
    pub message_id: String,
    #[serde(deserialize_with = "text")]
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AddMembers {
    #[serde(deserialize_with = "text")]
    pub chat_id: String,
    #[serde(deserialize_with = "user_ids")]
    pub users: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChatMember {
    #[serde(deserialize_with = "text")]
    pub chat_id: String,
    #[serde(deserialize_with = "text")]
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RenameGroup {
    #[serde(deserialize_with = "text")]
    pub chat_id: String,
    #[serde(deserialize_with = "text")]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SetRole {
    #[serde(deserialize_with = "text")]
    pub chat_id: String,
    #[serde(deserialize_with = "text")]
    pub user_id: String,
    pub role: Role,
}

/// A role one member can give another.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SetPrivacy {
    #[serde(default)]
    pub presence: Option<PresenceShownTo>,
    #[serde(default)]
    pub group_adds: Option<GroupAddsFrom>,
}

/// Who sees a user's presence.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceShownTo {
    Contacts,
    Nobody,
}

/// Who may add a user to groups.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupAddsFrom {
    Everyone,
    Contacts,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChatRef {
    #[serde(deserialize_with = "text")]
    pub chat_id: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UserRef {
    #[serde(deserialize_with = "text")]
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Login {
    #[serde(deserialize_with = "text")]
    pub email: String,
    #[serde(deserialize_with = "text")]
    pub password: String,
}

/// Ids stay text here: the core parses them (it must, for its other
/// clients), and names the field when one is not a UUID.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SendMessage {
    /// As the client wrote it: the ack repeats it byte for byte.
    #[serde(deserialize_with = "text")]
    pub client_id: String,
    #[serde(deserialize_with = "text")]
    pub sender_id: String,
    #[serde(deserialize_with = "text")]
    pub chat_id: String,
    #[serde(default, deserialize_with = "timestamp")]
    pub timestamp: Option<DateTime<Utc>>,
    /// May be empty (or left out) when the message carries files.
    #[serde(default, deserialize_with = "text")]
    pub text: String,
    /// The ids of the sender's uploads it carries.
    #[serde(default, deserialize_with = "attachment_ids")]
    pub attachments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CreateGroup {
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[serde(deserialize_with = "user_ids")]
    pub users: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MessageSeen {
    #[serde(deserialize_with = "text")]
    pub message_id: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Sync {
    /// Per chat, the last seq the client has.
    #[serde(default, deserialize_with = "cursor")]
    pub since: Option<Vec<(String, u64)>>,
}

/// Why a frame was refused. Sent to the client as an error frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameError {
    pub code: &'static str,
    pub message: String,
    /// The refused frame's `client_id` or `message_id`, when it had one.
    pub client_id: Option<String>,
    pub message_id: Option<String>,
}

impl FrameError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        FrameError {
            code,
            message: message.into(),
            client_id: None,
            message_id: None,
        }
    }

    /// A frame larger than `limit` bytes.
    pub fn too_large(limit: usize) -> Self {
        FrameError::new(
            "frame_too_large",
            format!("frames may be at most {limit} bytes"),
        )
    }

    /// A binary frame: the protocol is JSON text.
    pub fn binary() -> Self {
        FrameError::new("unsupported_frame", "frames must be JSON text, not binary")
    }
}

/// Parses one text frame.
pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|error| FrameError::new("invalid_json", format!("not valid JSON: {error}")))?;
    let Value::Object(fields) = value else {
        return Err(FrameError::new(
            "invalid_frame",
            "a frame must be a JSON object",
        ));
    };
    let repeated = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_owned);
    let (client_id, message_id) = (repeated("client_id"), repeated("message_id"));
    parse_fields(fields).map_err(|mut error| {
        error.client_id = client_id;
        error.message_id = message_id;
        error
    })
}

fn parse_fields(mut fields: Map<String, Value>) -> Result<ClientFrame, FrameError> {
    if let Some(kind) = fields.get("type").and_then(Value::as_str) {
        let kind = kind.to_owned();
        fields = match typed(&kind, fields) {
            Ok(frame) => return frame,
            Err(fields) => fields,
        };
    }
    let has = |name: &str| fields.contains_key(name);
    if has("email") || has("password") {
        read(fields).map(ClientFrame::Login)
    } else if has("client_id") || has("text") || has("sender_id") || has("chat_id") {
        read(fields).map(ClientFrame::SendMessage)
    } else if has("users") || has("name") {
        read(fields).map(ClientFrame::CreateGroup)
    } else if has("message_id") {
        read(fields).map(ClientFrame::MessageSeen)
    } else {
        Err(FrameError::new(
            "unknown_frame",
            "unrecognised frame: expected the fields of login, send message, \
             create group or message seen",
        ))
    }
}

/// A frame of the additions, told apart by its `type`; the fields back for
/// a type that is none of them (the frame is then read by its fields).
fn typed(
    kind: &str,
    fields: Map<String, Value>,
) -> Result<Result<ClientFrame, FrameError>, Map<String, Value>> {
    Ok(match kind {
        "sync" => read(fields).map(ClientFrame::Sync),
        "watch_presence" => Ok(ClientFrame::WatchPresence),
        "leave_group" => read(fields).map(ClientFrame::LeaveGroup),
        "block_user" => read(fields).map(ClientFrame::BlockUser),
        "unblock_user" => read(fields).map(ClientFrame::UnblockUser),
        "read_up_to" => read(fields)
            .map(Addition::ReadUpTo)
            .map(ClientFrame::Addition),
        "open_direct_chat" => read(fields)
            .map(Addition::OpenDirectChat)
            .map(ClientFrame::Addition),
        "edit_message" => read(fields)
            .map(Addition::EditMessage)
            .map(ClientFrame::Addition),
        "delete_message" => read(fields)
            .map(Addition::DeleteMessage)
            .map(ClientFrame::Addition),
        "typing" => read(fields)
            .map(Addition::Typing)
            .map(ClientFrame::Addition),
        "add_members" => read(fields)
            .map(Addition::AddMembers)
            .map(ClientFrame::Addition),
        "remove_member" => read(fields)
            .map(Addition::RemoveMember)
            .map(ClientFrame::Addition),
        "rename_group" => read(fields)
            .map(Addition::RenameGroup)
            .map(ClientFrame::Addition),
        "set_role" => read(fields)
            .map(Addition::SetRole)
            .map(ClientFrame::Addition),
        "set_privacy" => read(fields)
            .map(Addition::SetPrivacy)
            .map(ClientFrame::Addition),
        "hide_chat" => read(fields)
            .map(Addition::HideChat)
            .map(ClientFrame::Addition),
        _ => return Err(fields),
    })
}

/// The frame of shape `T` in `fields`, or the error naming the field.
fn read<T: for<'de> Deserialize<'de>>(fields: Map<String, Value>) -> Result<T, FrameError> {
    serde_path_to_error::deserialize(Value::Object(fields)).map_err(|error| {
        let reason = error.inner().to_string();
        if let Some(name) = reason
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            return FrameError::new("missing_field", format!("missing field {name}"));
        }
        let field = match error.path().iter().next() {
            Some(serde_path_to_error::Segment::Map { key }) => key.clone(),
            _ => "frame".to_owned(),
        };
        FrameError::new("invalid_field", format!("invalid {field}: {reason}"))
    })
}

/// Each reader below fails with the reason an `invalid_field` error gives.
fn text<'de, D: Deserializer<'de>>(input: D) -> Result<String, D::Error> {
    String::deserialize(input).map_err(|_| D::Error::custom("must be a string"))
}

fn timestamp<'de, D: Deserializer<'de>>(input: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let Some(given) = Option::<Value>::deserialize(input)? else {
        return Ok(None);
    };
    let Value::String(given) = given else {
        return Err(D::Error::custom("must be a string"));
    };
    messenger_proto::timestamp::parse(&given)
        .map(Some)
        .ok_or_else(|| D::Error::custom("must look like 2025-05-04 04:45:50+00:00 or RFC 3339"))
}

fn user_ids<'de, D: Deserializer<'de>>(input: D) -> Result<Vec<String>, D::Error> {
    Vec::<String>::deserialize(input).map_err(|_| D::Error::custom("must be an array of user ids"))
}

/// `[{"id": …}, …]` as uploads answer and messages show them (their
/// other fields are the server's to say, so they are not read), or the
/// ids alone.
fn attachment_ids<'de, D: Deserializer<'de>>(input: D) -> Result<Vec<String>, D::Error> {
    let refused = || D::Error::custom("must be an array of attachments, each with its id");
    let Value::Array(files) = Value::deserialize(input)? else {
        return Err(refused());
    };
    files
        .into_iter()
        .map(|file| match file {
            Value::String(id) => Some(id),
            Value::Object(mut file) => match file.remove("id") {
                Some(Value::String(id)) => Some(id),
                _ => None,
            },
            _ => None,
        })
        .collect::<Option<_>>()
        .ok_or_else(refused)
}

fn cursor<'de, D: Deserializer<'de>>(input: D) -> Result<Option<Vec<(String, u64)>>, D::Error> {
    let refused = || D::Error::custom("must map chat ids to seq numbers");
    match Option::<Value>::deserialize(input)? {
        None => Ok(None),
        Some(Value::Object(cursor)) => cursor
            .into_iter()
            .map(|(chat, seq)| Some((chat, seq.as_u64()?)))
            .collect::<Option<_>>()
            .map(Some)
            .ok_or_else(refused),
        Some(_) => Err(D::Error::custom("must be a cursor object or null")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "d61d47bb-2cd2-4c1d-8975-938263836086";

    #[test]
    fn parses_the_documented_login() {
        let frame = parse(r#"{"email":"a@example.com","password":"!0Wtg"}"#).unwrap();
        assert_eq!(
            frame,
            ClientFrame::Login(Login {
                email: "a@example.com".into(),
                password: "!0Wtg".into()
            })
        );
    }

    #[test]
    fn parses_a_send_with_either_timestamp_form() {
        for time in ["2025-05-04 04:45:50+00:00", "2025-05-04T04:45:50Z"] {
            let text = format!(
                r#"{{"client_id":"{ID}","sender_id":"{ID}","chat_id":"{ID}","timestamp":"{time}","text":"Hello"}}"#
            );
            let ClientFrame::SendMessage(send) = parse(&text).unwrap() else {
                panic!("not a send");
            };
            let timestamp = send.timestamp.unwrap();
            assert_eq!(timestamp.to_rfc3339(), "2025-05-04T04:45:50+00:00");
            assert_eq!(send.text, "Hello");
        }
    }

    #[test]
    fn parses_create_group_and_seen() {
        let group = parse(&format!(r#"{{"name":"Car.","users":["{ID}"]}}"#)).unwrap();
        assert!(matches!(group, ClientFrame::CreateGroup(g) if g.users.len() == 1));
        let seen = parse(&format!(r#"{{"message_id":"{ID}"}}"#)).unwrap();
        assert!(matches!(seen, ClientFrame::MessageSeen(_)));
    }

    #[test]
    fn parses_watch_presence() {
        assert_eq!(
            parse(r#"{"type":"watch_presence"}"#).unwrap(),
            ClientFrame::WatchPresence
        );
        assert_eq!(
            parse(r#"{"type":"watch"}"#).unwrap_err().code,
            "unknown_frame"
        );
    }

    #[test]
    fn parses_sync_with_and_without_a_cursor() {
        assert_eq!(
            parse(r#"{"type":"sync"}"#).unwrap(),
            ClientFrame::Sync(Sync { since: None })
        );
        let frame = parse(&format!(r#"{{"type":"sync","since":{{"{ID}":7}}}}"#)).unwrap();
        let ClientFrame::Sync(Sync { since: Some(since) }) = frame else {
            panic!("no cursor");
        };
        assert_eq!(since[0].1, 7);
        let error = parse(r#"{"type":"sync","since":[1]}"#).unwrap_err();
        assert!(error.message.contains("since"));
        assert!(parse(&format!(r#"{{"type":"sync","since":{{"{ID}":-1}}}}"#)).is_err());
    }

    #[test]
    fn malformed_json_and_non_objects_are_refused() {
        assert_eq!(parse("{not json").unwrap_err().code, "invalid_json");
        assert_eq!(parse("[1,2]").unwrap_err().code, "invalid_frame");
        assert_eq!(
            parse(r#""{\"email\":1}""#).unwrap_err().code,
            "invalid_frame"
        );
    }

    #[test]
    fn unknown_shapes_are_refused() {
        assert_eq!(
            parse(r#"{"hello":"world"}"#).unwrap_err().code,
            "unknown_frame"
        );
        assert_eq!(parse("{}").unwrap_err().code, "unknown_frame");
    }

    #[test]
    fn bad_fields_are_named_and_ids_repeated() {
        let error = parse(&format!(
            r#"{{"client_id":"{ID}","sender_id":7,"chat_id":"{ID}","text":"x"}}"#
        ))
        .unwrap_err();
        assert_eq!(error.code, "invalid_field");
        assert!(error.message.contains("sender_id"));
        assert_eq!(error.client_id.as_deref(), Some(ID));

        let error = parse(r#"{"message_id":42}"#).unwrap_err();
        assert!(error.message.contains("message_id"));

        let error = parse(r#"{"email":"a@example.com"}"#).unwrap_err();
        assert_eq!(error.code, "missing_field");
        assert!(error.message.contains("password"));

        let error = parse(r#"{"name":"x","users":[1]}"#).unwrap_err();
        assert!(error.message.contains("users"));
    }

    #[test]
    fn ids_are_passed_on_as_given_for_the_core_to_parse() {
        let frame = parse(&format!(
            r#"{{"client_id":"c","sender_id":"nope","chat_id":"{ID}","text":"x"}}"#
        ))
        .unwrap();
        let ClientFrame::SendMessage(send) = frame else {
            panic!("not a send");
        };
        assert_eq!(
            (send.client_id.as_str(), send.sender_id.as_str()),
            ("c", "nope")
        );
        let since = parse(r#"{"type":"sync","since":{"x":1}}"#).unwrap();
        assert_eq!(
            since,
            ClientFrame::Sync(Sync {
                since: Some(vec![("x".into(), 1)])
            })
        );
    }
}
