//! Opening many logged-in connections with bounded concurrency.

use crate::client::{self, ClientError, Server, Socket};
use crate::dataset::Directory;
use crate::limits::{self, Load};
use futures_util::{StreamExt, TryStreamExt, stream};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How connections authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Auth {
    /// One OAuth password grant per user, then a bearer token on each
    /// connection's upgrade (a user with several connections logs in once).
    Token,
    /// The protocol's login frame on every connection (one password check
    /// per connection).
    Password,
}

/// A logged-in connection and whose it is.
pub struct Connection {
    pub index: u32,
    pub user: usize,
    pub socket: Socket,
}

/// How to open the connections.
#[derive(Debug, Clone)]
pub struct Plan {
    pub connections: usize,
    pub concurrency: usize,
    pub source_addresses: u8,
    pub auth: Auth,
}

/// Connection `i` belongs to user `i % users`, so users get devices evenly.
pub fn user_of(connection: usize, users: usize) -> usize {
    connection % users
}

/// Opens and logs in `plan.connections` connections, `plan.concurrency` at
/// a time, spread over `servers` in turn, printing progress. Fails on the
/// first connection that cannot.
pub async fn open_all(
    servers: &[Server],
    directory: &Directory,
    plan: &Plan,
) -> Result<Vec<Connection>, ClientError> {
    open_all_then(servers, directory, plan, |connection| connection).await
}

/// [`open_all`], handing each connection to `then` as soon as it is logged
/// in: a socket that must be read from at once (so that the server's pings
/// are answered while thousands of others are still opening) is given to a
/// task there.
pub async fn open_all_then<T>(
    servers: &[Server],
    directory: &Directory,
    plan: &Plan,
    then: impl Fn(Connection) -> T,
) -> Result<Vec<T>, ClientError> {
    let started = Instant::now();
    let tokens = match plan.auth {
        Auth::Token => Some(tokens(&servers[0], directory, plan).await?),
        Auth::Password => None,
    };
    let sources = client::source_addresses(&servers[0], plan.source_addresses);
    eprintln!(
        "{}",
        limits::describe(&limits::needed(&load(
            plan,
            directory,
            sources.len(),
            servers.len()
        )))
    );
    let opened = AtomicUsize::new(0);
    let progress = Progress::new(plan.connections);
    let connections = stream::iter(0..plan.connections)
        .map(|index| {
            let user = user_of(index, directory.users.len());
            let source = sources[index % sources.len()];
            let server = &servers[index % servers.len()];
            let token = tokens.as_ref().map(|tokens| tokens[user].as_str());
            let opened = &opened;
            let (progress, then) = (&progress, &then);
            async move {
                let socket = open_one(server, directory, user, source, token).await?;
                progress.tick("connected", opened.fetch_add(1, Ordering::Relaxed) + 1);
                Ok::<_, ClientError>(then(Connection {
                    index: index as u32,
                    user,
                    socket,
                }))
            }
        })
        .buffer_unordered(plan.concurrency.max(1))
        .try_collect::<Vec<_>>()
        .await?;
    eprintln!(
        "{} connections logged in in {:.1} s",
        connections.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(connections)
}

/// The load of opening `plan`'s connections: `plan.concurrency` at a
/// time, each checking a password (a login frame, or a user's grant).
fn load(plan: &Plan, directory: &Directory, addresses: usize, edges: usize) -> Load {
    Load {
        sockets: plan.connections,
        users: directory.users.len().min(plan.connections),
        addresses,
        edges,
        logging_in: plan.concurrency,
        password_checks: plan.concurrency,
    }
}

async fn open_one(
    server: &Server,
    directory: &Directory,
    user: usize,
    source: Option<IpAddr>,
    token: Option<&str>,
) -> Result<Socket, ClientError> {
    let mut socket = client::connect(server, source, token).await?;
    match token {
        Some(_) => client::await_auth(&mut socket).await?,
        None => client::log_in(&mut socket, &directory.users[user]).await?,
    }
    Ok(socket)
}

/// An access token for each user that has a connection.
async fn tokens(
    server: &Server,
    directory: &Directory,
    plan: &Plan,
) -> Result<Vec<String>, ClientError> {
    let http = reqwest::Client::new();
    let users = directory.users.len().min(plan.connections);
    let done = AtomicUsize::new(0);
    let progress = Progress::new(users);
    stream::iter(&directory.users[..users])
        .map(|user| {
            let (http, done, progress) = (&http, &done, &progress);
            async move {
                let token = client::access_token(http, server, user).await?;
                progress.tick("tokens", done.fetch_add(1, Ordering::Relaxed) + 1);
                Ok::<_, ClientError>(token)
            }
        })
        .buffered(plan.concurrency.max(1))
        .try_collect()
        .await
}

/// A progress line on stderr at most every half second.
struct Progress {
    total: usize,
    last: std::sync::Mutex<Instant>,
}

impl Progress {
    fn new(total: usize) -> Self {
        Progress {
            total,
            last: std::sync::Mutex::new(Instant::now()),
        }
    }

    fn tick(&self, what: &str, done: usize) {
        let mut last = self.last.lock().expect("progress lock");
        if done == self.total || last.elapsed() >= Duration::from_millis(500) {
            *last = Instant::now();
            eprintln!("  {what}: {done}/{}", self.total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::user_of;

    #[test]
    fn connections_are_dealt_round_the_users() {
        let users: Vec<usize> = (0..7).map(|c| user_of(c, 3)).collect();
        assert_eq!(users, [0, 1, 2, 0, 1, 2, 0]);
    }
}
