//! The README's "A local cluster", run as written: its own NATS, two cores
//! and two edges, with only its ports moved to free ones, the test's
//! database and Redis, and the binaries of this build. Every process
//! serves its own metrics; a message crosses from one edge to the other
//! and each of the four counts its part.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{demo_pair, get, logged_in, next_frame, workspace};
use core_service::testing::TestDatabase;
use futures_util::SinkExt;
use serde_json::json;
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// The shell block under "## A local cluster" in the README.
fn recipe() -> String {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let section = readme.split("\n## A local cluster\n").nth(1).unwrap();
    let block = section.split("```sh\n").nth(1).unwrap();
    block.split("\n```").next().unwrap().to_owned()
}

/// What comes before a port in the recipe.
const PORT_MARKERS: [&str; 3] = ["127.0.0.1:", " -p ", " -m "];

/// The digits after each `marker` in `text`, in order.
fn numbers_after<'a>(text: &'a str, marker: &'a str) -> impl Iterator<Item = String> + 'a {
    text.match_indices(marker).map(move |(start, _)| {
        let rest = &text[start + marker.len()..];
        rest.chars().take_while(char::is_ascii_digit).collect()
    })
}

/// The ports the recipe gives `variable` (`127.0.0.1:port` values), in
/// its order.
fn ports_of(recipe: &str, variable: &str) -> Vec<String> {
    numbers_after(recipe, &format!("{variable}=127.0.0.1:")).collect()
}

/// Replaces `from` (which must be in `text`) with `to`.
fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the recipe has {from:?}:\n{text}");
    text.replace(from, to)
}

/// The ports the recipe names (after `127.0.0.1:`, `-p ` and `-m `), but
/// PostgreSQL's and Redis', each with a free port to use instead; one
/// port the recipe gives twice gets one free port.
fn moved_ports(text: &str) -> BTreeMap<String, String> {
    let mut ports = BTreeMap::new();
    let mut held = Vec::new();
    for marker in PORT_MARKERS {
        for digits in numbers_after(text, marker) {
            if digits.is_empty() || digits == "5432" || digits == "6379" {
                continue;
            }
            ports.entry(digits).or_insert_with(|| {
                // Held until all are chosen, so that no two are the same.
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let port = listener.local_addr().unwrap().port().to_string();
                held.push(listener);
                port
            });
        }
    }
    ports
}

/// `text` with the port `from` replaced by `to` wherever the recipe names
/// a port.
fn moved(text: &str, from: &str, to: &str) -> String {
    PORT_MARKERS
        .into_iter()
        .fold(text.to_owned(), |text, marker| {
            text.replace(&format!("{marker}{from}"), &format!("{marker}{to}"))
        })
}

/// The recipe as this machine runs it, and where its ports went.
fn runnable(
    recipe: &str,
    database_url: &str,
    redis_url: &str,
    bin_dir: &Path,
) -> (String, BTreeMap<String, String>) {
    let mut text = recipe.to_owned();
    // Built already; the test has a database of its own.
    text = replaced(&text, "cargo build --release\n", "");
    text = replaced(&text, "createdb -h 127.0.0.1 -U postgres messenger\n", "");
    // Before the URLs go in: their ports are not the recipe's.
    let ports = moved_ports(&text);
    // Through placeholders: a free port may be one the recipe names too.
    for from in ports.keys() {
        text = moved(&text, from, &format!("@{from}@"));
    }
    for (from, to) in &ports {
        text = moved(&text, &format!("@{from}@"), to);
    }
    text = replaced(
        &text,
        "postgres://postgres@127.0.0.1:5432/messenger",
        database_url,
    );
    text = replaced(&text, "redis://127.0.0.1:6379", redis_url);
    text = replaced(
        &text,
        "./target/release/",
        &format!("{}/", bin_dir.display()),
    );
    (format!("set -e\n{text}\nwait\n"), ports)
}

/// The recipe's shell and every process it started, in a process group of
/// their own, all killed when dropped; their output goes to `log`, shown
/// when the test fails.
struct Recipe {
    shell: Child,
    log: PathBuf,
}

impl Recipe {
    fn start(script: &str, log: &Path) -> Recipe {
        let file = std::fs::File::create(log).unwrap();
        let child = Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(workspace())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .process_group(0)
            .spawn()
            .expect("bash runs the recipe");
        Recipe {
            shell: child,
            log: log.to_owned(),
        }
    }
}

impl Drop for Recipe {
    fn drop(&mut self) {
        let group = format!("-{}", self.shell.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.shell.wait();
        if std::thread::panicking() {
            let output = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("the recipe's output:\n{output}");
        }
    }
}

/// The page at `path` on `address`, once it answers 200 (the recipe's
/// processes start in the background).
async fn page(address: &str, path: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            let (status, page) = get(&format!("http://{address}{path}")).await;
            if status == 200 {
                return page;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no answer at {address}{path}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The sum of the samples of `name` whose labels contain `label`.
fn sample(page: &str, name: &str, label: &str) -> f64 {
    page.lines()
        .filter(|line| line.starts_with(name) && line.contains(label))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_cluster_recipe_serves_metrics_from_all_four_processes() {
    let bin_dir = core_service::testing::built_binaries();
    let db = TestDatabase::create().await;
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let recipe = recipe();
    let (script, ports) = runnable(&recipe, &db.url(), &redis, &bin_dir);
    let port = |recipe_port: &str| ports[recipe_port].clone();
    let log = std::env::temp_dir().join(format!("cluster-{}.log", uuid::Uuid::new_v4()));
    let _recipe = Recipe::start(&script, &log);

    let address = |recipe_port: &str| format!("127.0.0.1:{}", port(recipe_port));
    let edge_ports = ports_of(&recipe, "EDGE_LISTEN");
    assert_eq!(edge_ports.len(), 2, "two edges");
    for edge in &edge_ports {
        page(&address(edge), "/readyz").await;
    }

    let ([alice, bob], chat) = demo_pair();
    let (edge_a, edge_b) = (
        port(&edge_ports[0]).parse().unwrap(),
        port(&edge_ports[1]).parse().unwrap(),
    );
    let mut sender = logged_in(edge_a, &alice.0, &alice.1).await;
    let mut receiver = logged_in(edge_b, &bob.0, &bob.1).await;
    let frame = json!({"client_id": uuid::Uuid::new_v4(), "sender_id": alice.2,
                       "chat_id": chat, "text": "across the cluster"});
    sender.send(Message::text(frame.to_string())).await.unwrap();
    let delivered = loop {
        let frame = next_frame(&mut receiver).await.unwrap();
        if frame["text"] == "across the cluster" {
            break frame;
        }
    };
    assert_eq!(delivered["chat_id"], chat.as_str(), "{delivered}");

    let metrics = |recipe_port: &str| {
        let address = address(recipe_port);
        async move { page(&address, "/metrics").await }
    };
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("metrics not served"), "{text}");
    let core_ports = ports_of(&recipe, "CORE_METRICS_LISTEN");
    let edge_ports = ports_of(&recipe, "EDGE_METRICS_LISTEN");
    assert_eq!(
        (core_ports.len(), edge_ports.len()),
        (2, 2),
        "four metrics addresses"
    );
    let cores = [metrics(&core_ports[0]).await, metrics(&core_ports[1]).await];
    let edges = [metrics(&edge_ports[0]).await, metrics(&edge_ports[1]).await];
    let stored: f64 = cores
        .iter()
        .map(|page| sample(page, "messenger_messages_stored_total", ""))
        .sum();
    assert_eq!(stored, 1.0, "one core stored the message:\n{cores:#?}");
    let published = cores
        .each_ref()
        .map(|page| sample(page, "messenger_bus_events_total", "published"));
    let received = cores
        .each_ref()
        .map(|page| sample(page, "messenger_bus_events_total", "received"));
    assert!(
        (published[0] >= 1.0 && received[1] >= 1.0) || (published[1] >= 1.0 && received[0] >= 1.0),
        "one core published events the other applied: {published:?} {received:?}"
    );
    for page in &edges {
        let sockets = sample(page, "messenger_edge_connections", "logged_in");
        assert_eq!(sockets, 1.0, "each edge holds its client's socket:\n{page}");
    }
}
