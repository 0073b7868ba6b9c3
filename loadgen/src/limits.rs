//! The server limits a load needs raised from their defaults. A load
//! generator is many users behind a few addresses, which the servers' caps
//! per address, per user and per edge are made to stop; this says which of
//! them a run goes past, so that its output shows what it needed.

/// The shape of a load, as the servers see it.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Sockets open at once, all logged in.
    pub sockets: usize,
    /// The users they belong to (spread evenly).
    pub users: usize,
    /// Client addresses they come from (spread evenly).
    pub addresses: usize,
    /// Edges they are spread over.
    pub edges: usize,
    /// Sockets not logged in yet at once (opening, logging in).
    pub logging_in: usize,
    /// Password checks in progress at once (login frames, password grants).
    pub password_checks: usize,
}

/// A limit the load goes past.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raise {
    /// The setting.
    pub name: &'static str,
    /// Its default.
    pub default: usize,
    /// What the load needs at least.
    pub needed: usize,
}

impl std::fmt::Display for Raise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Raise {
            name,
            default,
            needed,
        } = self;
        write!(f, "{name}>={needed} (default {default})")
    }
}

/// The servers' defaults this module compares with (the edge's and the
/// core's configuration; `loadgen/tests/smoke.rs` checks they agree).
pub const DEFAULTS: [(&str, usize); 6] = [
    ("MAX_ANONYMOUS_CONNECTIONS_PER_ADDRESS", 256),
    ("MAX_CONNECTIONS_PER_ADDRESS", 10_000),
    ("MAX_ANONYMOUS_CONNECTIONS", 5_000),
    ("MAX_CONNECTIONS", 20_000),
    ("LOGIN_MAX_FAILURES_PER_ADDRESS", 100),
    ("MAX_SESSIONS_PER_USER", 100),
];

/// The limits `load` goes past, each with what it needs.
pub fn needed(load: &Load) -> Vec<Raise> {
    let per = |count: usize, over: usize| count.div_ceil(over.max(1));
    let wanted = [
        per(load.logging_in, load.addresses),
        per(load.sockets, load.addresses),
        per(load.logging_in, load.edges),
        per(load.sockets, load.edges),
        per(load.password_checks, load.addresses),
        // On one core in the worst case.
        per(load.sockets, load.users),
    ];
    DEFAULTS
        .into_iter()
        .zip(wanted)
        .filter(|((_, default), needed)| needed > default)
        .map(|((name, default), needed)| Raise {
            name,
            default,
            needed,
        })
        .collect()
}

/// One line for a run's output: which limits it needed raised, if any.
pub fn describe(raises: &[Raise]) -> String {
    if raises.is_empty() {
        return "server limits: the defaults suffice for this load".to_owned();
    }
    let list: Vec<String> = raises.iter().map(Raise::to_string).collect();
    format!("server limits this load needs raised: {}", list.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load() -> Load {
        Load {
            sockets: 2_000,
            users: 2_000,
            addresses: 8,
            edges: 1,
            logging_in: 64,
            password_checks: 0,
        }
    }

    #[test]
    fn the_load_generators_default_run_needs_nothing_raised() {
        assert_eq!(needed(&load()), []);
        assert_eq!(
            describe(&[]),
            "server limits: the defaults suffice for this load"
        );
    }

    #[test]
    fn each_limit_past_its_default_is_named_with_what_is_needed() {
        let load = Load {
            sockets: 30_000,
            users: 100,
            addresses: 1,
            edges: 1,
            logging_in: 300,
            password_checks: 300,
        };
        let names: Vec<(&str, usize)> = needed(&load)
            .iter()
            .map(|raise| (raise.name, raise.needed))
            .collect();
        assert_eq!(
            names,
            [
                ("MAX_ANONYMOUS_CONNECTIONS_PER_ADDRESS", 300),
                ("MAX_CONNECTIONS_PER_ADDRESS", 30_000),
                ("MAX_CONNECTIONS", 30_000),
                ("LOGIN_MAX_FAILURES_PER_ADDRESS", 300),
                ("MAX_SESSIONS_PER_USER", 300),
            ]
        );
        let line = describe(&needed(&load));
        assert!(
            line.starts_with("server limits this load needs raised: ")
                && line.contains("MAX_SESSIONS_PER_USER>=300 (default 100)"),
            "{line}"
        );
    }
}
