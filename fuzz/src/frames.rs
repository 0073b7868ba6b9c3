//! The WebSocket frame parser and translator, as the edge runs them on
//! every text frame.

use edge::ws::{frames, translate};
use messenger_proto::v1::ClientOperation;
use prost::Message;

/// Any bytes as a text frame: a typed operation that survives the trip to
/// the core, or an error frame that is JSON.
pub fn frame(data: &[u8]) {
    // WebSocket text frames are UTF-8: the socket refuses others.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match frames::parse(text) {
        Ok(frame) => {
            let operation = translate::operation(frame);
            assert!(
                operation.operation.is_some(),
                "a parsed frame is an operation"
            );
            let encoded = operation.encode_to_vec();
            let decoded = ClientOperation::decode(encoded.as_slice())
                .expect("what the edge encodes, the core decodes");
            assert_eq!(decoded, operation);
        }
        Err(error) => {
            let json = translate::frame_error_json(&error);
            let value: serde_json::Value =
                serde_json::from_str(&json).expect("an error frame is JSON");
            assert_eq!(value["type"], "error");
            assert!(value["detail"]["code"].is_string(), "{json}");
        }
    }
}
