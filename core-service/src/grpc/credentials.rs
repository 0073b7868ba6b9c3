//! Credentials and client facts carried in gRPC metadata.

use crate::error::Error;
use crate::store::connections::{ConnectionOrigin, origin_text};
use tonic::metadata::MetadataMap;

/// The bearer token of a call that needs one.
pub fn required_bearer_token(metadata: &MetadataMap) -> Result<String, Error> {
    bearer_token(metadata).ok_or(Error::InvalidCredential)
}

/// The token of an `authorization: Bearer <token>` entry, if any.
pub fn bearer_token(metadata: &MetadataMap) -> Option<String> {
    let value = metadata.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// The client's network address, as the edge reported it.
pub fn client_address(metadata: &MetadataMap) -> Option<String> {
    let value = metadata.get(messenger_proto::CLIENT_ADDRESS_METADATA)?;
    value.to_str().ok().map(str::to_owned)
}

/// Where a session comes from: address, user agent and edge.
pub fn connection_origin(metadata: &MetadataMap) -> ConnectionOrigin {
    ConnectionOrigin::new(
        text(metadata, messenger_proto::CLIENT_ADDRESS_METADATA),
        text(metadata, messenger_proto::CLIENT_USER_AGENT_METADATA),
        text(metadata, messenger_proto::EDGE_ID_METADATA),
    )
}

/// The name an edge gave itself in `metadata`, if any, kept as in an origin.
pub fn edge_name(metadata: &MetadataMap) -> Option<String> {
    origin_text(text(metadata, messenger_proto::EDGE_ID_METADATA))
}

/// The text of the entry `key`, if it is text.
fn text<'a>(metadata: &'a MetadataMap, key: &str) -> Option<&'a str> {
    metadata.get(key).and_then(|value| value.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bearer_tokens_only() {
        let mut metadata = MetadataMap::new();
        assert_eq!(bearer_token(&metadata), None);
        metadata.insert("authorization", "Bearer msa_123".parse().unwrap());
        assert_eq!(bearer_token(&metadata).as_deref(), Some("msa_123"));
        metadata.insert("authorization", "Basic dXNlcjpwYXNz".parse().unwrap());
        assert_eq!(bearer_token(&metadata), None);
        metadata.insert("authorization", "bearer  ".parse().unwrap());
        assert_eq!(bearer_token(&metadata), None);
    }
}
