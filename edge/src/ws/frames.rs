//! Client frames: JSON text → typed frames, with one error path for
//! everything malformed.
//!
//! Frames carry no type tag (the documented protocol tells them apart by
//! their fields), so the shape is decided first, then the frame is read
//! field by field, so that every error can name the field at fault.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

/// A client frame, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    Login {
        email: String,
        password: String,
    },
    SendMessage {
        /// As the client wrote it: the ack repeats it byte for byte.
        client_id: String,
        sender_id: Uuid,
        chat_id: Uuid,
        timestamp: Option<DateTime<Utc>>,
        text: String,
    },
    CreateGroup {
        name: String,
        users: Vec<Uuid>,
    },
    MessageSeen {
        message_id: Uuid,
    },
    /// `{"type":"sync","since":<cursor or null>}`: catch up after being away.
    Sync {
        since: Option<Vec<(Uuid, u64)>>,
    },
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
    let client_id = fields
        .get("client_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let message_id = fields
        .get("message_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    parse_fields(&fields).map_err(|mut error| {
        error.client_id = client_id;
        error.message_id = message_id;
        error
    })
}

fn parse_fields(fields: &Map<String, Value>) -> Result<ClientFrame, FrameError> {
    let has = |name: &str| fields.contains_key(name);
    if fields.get("type").and_then(Value::as_str) == Some("sync") {
        return parse_sync(fields);
    }
    if has("email") || has("password") {
        Ok(ClientFrame::Login {
            email: string(fields, "email")?,
            password: string(fields, "password")?,
        })
    } else if has("client_id") || has("text") || has("sender_id") || has("chat_id") {
        parse_send(fields)
    } else if has("users") || has("name") {
        Ok(ClientFrame::CreateGroup {
            name: string(fields, "name")?,
            users: uuid_list(fields, "users")?,
        })
    } else if has("message_id") {
        Ok(ClientFrame::MessageSeen {
            message_id: uuid(fields, "message_id")?,
        })
    } else {
        Err(FrameError::new(
            "unknown_frame",
            "unrecognised frame: expected the fields of login, send message, \
             create group or message seen",
        ))
    }
}

fn parse_send(fields: &Map<String, Value>) -> Result<ClientFrame, FrameError> {
    let client_id = string(fields, "client_id")?;
    Uuid::parse_str(&client_id).map_err(|_| invalid("client_id", "must be a UUID"))?;
    let timestamp = match fields.get("timestamp") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            Some(messenger_proto::timestamp::parse(text).ok_or_else(|| {
                invalid(
                    "timestamp",
                    "must look like 2025-05-04 04:45:50+00:00 or RFC 3339",
                )
            })?)
        }
        Some(_) => return Err(invalid("timestamp", "must be a string")),
    };
    Ok(ClientFrame::SendMessage {
        client_id,
        sender_id: uuid(fields, "sender_id")?,
        chat_id: uuid(fields, "chat_id")?,
        timestamp,
        text: string(fields, "text")?,
    })
}

fn parse_sync(fields: &Map<String, Value>) -> Result<ClientFrame, FrameError> {
    let since = match fields.get("since") {
        None | Some(Value::Null) => None,
        Some(Value::Object(cursor)) => Some(
            cursor
                .iter()
                .map(|(chat, seq)| {
                    let chat = Uuid::parse_str(chat).ok();
                    match (chat, seq.as_u64()) {
                        (Some(chat), Some(seq)) => Ok((chat, seq)),
                        _ => Err(invalid("since", "must map chat ids to seq numbers")),
                    }
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => return Err(invalid("since", "must be a cursor object or null")),
    };
    Ok(ClientFrame::Sync { since })
}

fn invalid(field: &str, reason: &str) -> FrameError {
    FrameError::new("invalid_field", format!("invalid {field}: {reason}"))
}

fn string(fields: &Map<String, Value>, name: &str) -> Result<String, FrameError> {
    match fields.get(name) {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err(invalid(name, "must be a string")),
        None => Err(FrameError::new(
            "missing_field",
            format!("missing field {name}"),
        )),
    }
}

fn uuid(fields: &Map<String, Value>, name: &str) -> Result<Uuid, FrameError> {
    Uuid::parse_str(&string(fields, name)?).map_err(|_| invalid(name, "must be a UUID"))
}

fn uuid_list(fields: &Map<String, Value>, name: &str) -> Result<Vec<Uuid>, FrameError> {
    let Some(value) = fields.get(name) else {
        return Err(FrameError::new(
            "missing_field",
            format!("missing field {name}"),
        ));
    };
    let Value::Array(items) = value else {
        return Err(invalid(name, "must be an array of user ids"));
    };
    items
        .iter()
        .map(|item| {
            item.as_str()
                .and_then(|text| Uuid::parse_str(text).ok())
                .ok_or_else(|| invalid(name, "must be an array of user ids"))
        })
        .collect()
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
            ClientFrame::Login {
                email: "a@example.com".into(),
                password: "!0Wtg".into()
            }
        );
    }

    #[test]
    fn parses_a_send_with_either_timestamp_form() {
        for time in ["2025-05-04 04:45:50+00:00", "2025-05-04T04:45:50Z"] {
            let text = format!(
                r#"{{"client_id":"{ID}","sender_id":"{ID}","chat_id":"{ID}","timestamp":"{time}","text":"Hello"}}"#
            );
            let ClientFrame::SendMessage {
                timestamp, text, ..
            } = parse(&text).unwrap()
            else {
                panic!("not a send");
            };
            assert_eq!(timestamp.unwrap().to_rfc3339(), "2025-05-04T04:45:50+00:00");
            assert_eq!(text, "Hello");
        }
    }

    #[test]
    fn parses_create_group_and_seen() {
        let group = parse(&format!(r#"{{"name":"Car.","users":["{ID}"]}}"#)).unwrap();
        assert!(matches!(group, ClientFrame::CreateGroup { users, .. } if users.len() == 1));
        let seen = parse(&format!(r#"{{"message_id":"{ID}"}}"#)).unwrap();
        assert!(matches!(seen, ClientFrame::MessageSeen { .. }));
    }

    #[test]
    fn parses_sync_with_and_without_a_cursor() {
        assert_eq!(
            parse(r#"{"type":"sync"}"#).unwrap(),
            ClientFrame::Sync { since: None }
        );
        let frame = parse(&format!(r#"{{"type":"sync","since":{{"{ID}":7}}}}"#)).unwrap();
        let ClientFrame::Sync { since: Some(since) } = frame else {
            panic!("no cursor");
        };
        assert_eq!(since[0].1, 7);
        let error = parse(r#"{"type":"sync","since":{"x":1}}"#).unwrap_err();
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
            r#"{{"client_id":"{ID}","sender_id":"nope","chat_id":"{ID}","text":"x"}}"#
        ))
        .unwrap_err();
        assert_eq!(error.code, "invalid_field");
        assert!(error.message.contains("sender_id"));
        assert_eq!(error.client_id.as_deref(), Some(ID));

        let error = parse(r#"{"message_id":"42"}"#).unwrap_err();
        assert_eq!(error.message_id.as_deref(), Some("42"));

        let error = parse(r#"{"email":"a@example.com"}"#).unwrap_err();
        assert_eq!(error.code, "missing_field");
        assert!(error.message.contains("password"));

        let error = parse(r#"{"name":"x","users":[1]}"#).unwrap_err();
        assert!(error.message.contains("users"));
    }
}
