//! The optional Host allow-list (`ALLOWED_HOSTS`): an edge that knows its
//! names answers no request for another. It keeps a name rebound to the
//! edge's address (DNS rebinding) from reaching it at all, and keeps the
//! edge's own origin (`origin.rs`), which is built from `Host`, to the
//! names it serves. Health checks are exempt: load balancers probe by
//! address.

use std::sync::Arc;
use warp::{Filter, Rejection};

/// A request for a host that is not on the list.
#[derive(Debug)]
pub struct UnknownHost;

impl warp::reject::Reject for UnknownHost {}

/// The allowed names, lower case; empty: any host.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts(Arc<Vec<String>>);

impl AllowedHosts {
    pub fn new(names: &[String]) -> Self {
        let names = names
            .iter()
            .map(|name| name.trim().to_ascii_lowercase())
            .filter(|name| !name.is_empty());
        AllowedHosts(Arc::new(names.collect()))
    }

    /// Whether a request with this `Host` header may be served: its name,
    /// with or without its port, is on the list (or the list is empty).
    pub fn allows(&self, host: Option<&str>) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let Some(host) = host.map(str::to_ascii_lowercase) else {
            return false;
        };
        let name = strip_port(&host);
        self.0
            .iter()
            .any(|allowed| *allowed == host || allowed == name)
    }

    /// Passes requests the list allows; rejects the others with
    /// [`UnknownHost`].
    pub fn guard(self) -> impl Filter<Extract = (), Error = Rejection> + Clone {
        warp::header::optional::<String>("host")
            .and_then(move |host: Option<String>| {
                let allowed = self.allows(host.as_deref());
                std::future::ready(if allowed {
                    Ok(())
                } else {
                    Err(warp::reject::custom(UnknownHost))
                })
            })
            .untuple_one()
    }
}

/// `host` without a trailing `:port` (an IPv6 literal keeps its brackets).
fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!name.starts_with('[') || name.ends_with(']')) =>
        {
            name
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::AllowedHosts;

    #[test]
    fn names_match_with_or_without_a_port_and_in_any_case() {
        let hosts = AllowedHosts::new(&["chat.example.com".into(), "[::1]".into()]);
        assert!(hosts.allows(Some("chat.example.com")));
        assert!(hosts.allows(Some("Chat.Example.com:8443")));
        assert!(hosts.allows(Some("[::1]:8000")));
        assert!(!hosts.allows(Some("evil.example")));
        assert!(!hosts.allows(Some("chat.example.com.evil.example")));
        assert!(!hosts.allows(Some("127.0.0.1:8000")));
        assert!(!hosts.allows(None));
    }

    #[test]
    fn an_empty_list_allows_any_host() {
        let hosts = AllowedHosts::new(&[" ".into()]);
        assert!(hosts.allows(Some("anything")));
        assert!(hosts.allows(None));
    }
}
