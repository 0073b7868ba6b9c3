//! Which callers are the cluster's edges.
//!
//! An edge proves itself with the shared secret (`EDGE_SECRET`) on every
//! call; only then may it open an `EdgeLink` and speak for its clients
//! (their addresses, which the login throttle counts by, their user agents,
//! its own name). Anyone else who reaches the port is a client in its own
//! right: whatever it says about addresses is dropped and its own network
//! address is used, so rotating a header does not escape the throttle.

use messenger_proto::{
    CLIENT_ADDRESS_METADATA, CLIENT_USER_AGENT_METADATA, EDGE_ID_METADATA, EDGE_SECRET_METADATA,
    EdgeSecret,
};
use std::sync::Arc;
use tonic::metadata::MetadataValue;
use tonic::{Request, Status};

/// The mark on a request that presented the edges' secret.
#[derive(Debug, Clone, Copy)]
pub struct FromEdge;

/// Checks the secret of every call before the service sees it.
#[derive(Clone)]
pub struct EdgeCheck {
    secret: Option<Arc<EdgeSecret>>,
}

impl EdgeCheck {
    /// A check against `secret`; without one, no caller is an edge.
    pub fn new(secret: Option<EdgeSecret>) -> Self {
        EdgeCheck {
            secret: secret.map(Arc::new),
        }
    }
}

impl tonic::service::Interceptor for EdgeCheck {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        match request.metadata_mut().remove(EDGE_SECRET_METADATA) {
            Some(presented) => {
                let Some(secret) = &self.secret else {
                    return Err(Status::unauthenticated(
                        "this core accepts no edges: its EDGE_SECRET is not set",
                    ));
                };
                if !secret.matches(presented.as_bytes()) {
                    tracing::warn!(peer = ?request.remote_addr(), "a caller presented a wrong edge secret");
                    return Err(Status::unauthenticated("wrong edge secret"));
                }
                request.extensions_mut().insert(FromEdge);
            }
            None => speaks_for_itself(&mut request),
        }
        Ok(request)
    }
}

/// Whether `request` came from an edge.
pub fn is_from_edge<T>(request: &Request<T>) -> bool {
    request.extensions().get::<FromEdge>().is_some()
}

/// Replaces what a caller that is not an edge said about its client with
/// what the connection shows.
fn speaks_for_itself(request: &mut Request<()>) {
    let address = request.remote_addr().map(|peer| peer.ip().to_string());
    let metadata = request.metadata_mut();
    for key in [
        CLIENT_ADDRESS_METADATA,
        CLIENT_USER_AGENT_METADATA,
        EDGE_ID_METADATA,
    ] {
        metadata.remove(key);
    }
    let agent = metadata.get("user-agent").cloned();
    if let Some(agent) = agent {
        metadata.insert(CLIENT_USER_AGENT_METADATA, agent);
    }
    if let Some(value) = address.and_then(|text| MetadataValue::try_from(text).ok()) {
        metadata.insert(CLIENT_ADDRESS_METADATA, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::service::Interceptor;

    fn request_with(entries: &[(&'static str, &str)]) -> Request<()> {
        let mut request = Request::new(());
        for (key, value) in entries {
            request.metadata_mut().insert(*key, value.parse().unwrap());
        }
        request
    }

    #[test]
    fn an_edge_with_the_secret_speaks_for_its_clients() {
        let secret = EdgeSecret::random();
        let mut check = EdgeCheck::new(Some(secret.clone()));
        let request = request_with(&[
            (EDGE_SECRET_METADATA, secret.expose()),
            (CLIENT_ADDRESS_METADATA, "203.0.113.9"),
        ]);
        let checked = check.call(request).unwrap();
        assert!(is_from_edge(&checked));
        assert_eq!(
            checked.metadata().get(CLIENT_ADDRESS_METADATA).unwrap(),
            "203.0.113.9"
        );
        assert!(checked.metadata().get(EDGE_SECRET_METADATA).is_none());
    }

    #[test]
    fn anyone_else_speaks_only_for_itself() {
        let mut check = EdgeCheck::new(Some(EdgeSecret::random()));
        let request = request_with(&[
            (CLIENT_ADDRESS_METADATA, "203.0.113.9"),
            (EDGE_ID_METADATA, "edge-a"),
        ]);
        let checked = check.call(request).unwrap();
        assert!(!is_from_edge(&checked));
        // No connection behind this request, so no address at all.
        assert!(checked.metadata().get(CLIENT_ADDRESS_METADATA).is_none());
        assert!(checked.metadata().get(EDGE_ID_METADATA).is_none());
    }

    #[test]
    fn a_wrong_secret_or_a_core_without_one_refuses_the_call() {
        let mut check = EdgeCheck::new(Some(EdgeSecret::random()));
        let wrong = request_with(&[(EDGE_SECRET_METADATA, "not-the-secret-at-all")]);
        assert_eq!(
            check.call(wrong).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
        let mut without = EdgeCheck::new(None);
        let presented = request_with(&[(EDGE_SECRET_METADATA, "any-secret-at-all-here")]);
        assert_eq!(
            without.call(presented).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
    }
}
