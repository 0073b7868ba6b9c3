//! The load generator against the real stack (PostgreSQL, core, edge) for a
//! few seconds: every message acked and delivered exactly once. Speed is not
//! asserted here; it is measured by hand (see docs/performance.md).

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

use core_service::demo_data::populate;
use core_service::state::Limits;
use core_service::testing::TestDatabase;
use demo_data::generate::{Sizes, generate};
use edge::config::EdgeConfig;
use loadgen::client::Server;
use loadgen::connections::{self, Auth, Plan};
use loadgen::dataset::Directory;
use loadgen::{history, run};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Core and edge on port 0 over a fresh database holding data of `sizes`.
struct Stack {
    _db: TestDatabase,
    edge: SocketAddr,
    directory: Directory,
    stop: watch::Sender<bool>,
}

async fn start(sizes: Sizes) -> Stack {
    let db = TestDatabase::create().await;
    let store = db.store();
    let data = generate(&sizes).unwrap();
    populate::populate(&store, &data).await.unwrap();
    let (stop, stopped) = watch::channel(false);
    let core_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let core = core_listener.local_addr().unwrap();
    let mut until = stopped.clone();
    let media = db.media_url();
    tokio::spawn(async move {
        let stop = async move {
            let _ = until.wait_for(|s| *s).await;
        };
        // A closed loop sends faster per user than a person may.
        let limits = Limits {
            messages_per_second: 1_000_000,
            message_burst: 1_000_000,
            ..Limits::default()
        };
        let mut settings = core_service::testing::with_test_edges(limits);
        settings.media.url = Some(media);
        core_service::serve(store, settings, core_listener, stop)
            .await
            .unwrap();
    });
    let edge_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let edge = edge_listener.local_addr().unwrap();
    let config = EdgeConfig {
        listen: edge,
        edge_metrics_listen: startup::MetricsListen(None),
        core_url: format!("http://{core}"),
        core_urls: Vec::new(),
        max_frame_bytes: 64 * 1024,
        max_connections: 1000,
        ws_ping_interval_ms: 30_000,
        allowed_origins: vec![],
        allowed_hosts: Vec::new(),
        cookie_secure: None,
        edge_id: Some("smoke-edge".into()),
        ws_write_timeout_ms: 10_000,
        ws_queue: 1024,
        max_anonymous_connections: 5_000,
        ws_login_timeout_ms: 10_000,
        max_anonymous_connections_per_address: 256,
        max_connections_per_address: 10_000,
        max_upload_bytes: 25 * 1024 * 1024,
        max_http_connections: 4_096,
        http_header_timeout_ms: 10_000,
        http_request_timeout_ms: 30_000,
        tls_cert_file: None,
        tls_key_file: None,
        edge_secret: Some(core_service::testing::edge_secret()),
        otlp_endpoint: None,
    };
    let mut until = stopped;
    tokio::spawn(async move {
        let stop = async move {
            let _ = until.wait_for(|s| *s).await;
        };
        edge::serve(&config, edge_listener, stop).await.unwrap();
    });
    Stack {
        _db: db,
        edge,
        directory: Directory::new(data, true),
        stop,
    }
}

fn sizes(messages_per_chat: usize) -> Sizes {
    Sizes {
        users: 24,
        personal_chats: 0,
        groups: 8,
        group_size: 5,
        messages_per_chat,
        seen_chance: 0.0,
        first_user: 0,
        seed: 3,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_loses_and_duplicates_nothing() {
    let stack = start(sizes(0)).await;
    let server = Server::resolve(&format!("http://{}", stack.edge))
        .await
        .unwrap();
    // Two devices per user, so the sender's other device must get each
    // message too; half the connections log in by frame, half by token.
    let mut open = Vec::new();
    for (auth, first) in [(Auth::Token, 0), (Auth::Password, 24)] {
        let plan = Plan {
            connections: 24,
            concurrency: 8,
            source_addresses: 2,
            auth,
        };
        let mut opened =
            connections::open_all(std::slice::from_ref(&server), &stack.directory, &plan)
                .await
                .unwrap();
        for connection in &mut opened {
            connection.index += first;
        }
        open.extend(opened);
    }
    let settings = run::Settings {
        pace: run::Pace::Window(2),
        duration: Duration::from_secs(3),
        drain: Duration::from_secs(20),
        text_bytes: 80,
    };
    let outcome = run::run(open, stack.directory.clone(), settings).await;
    let tally = &outcome.tally;
    assert!(tally.acked > 100, "{tally:?}");
    // Each message of a 5-member group reaches 4 members × 2 devices plus
    // the sender's other device.
    assert_eq!(tally.expected_deliveries, tally.acked * 9, "{tally:?}");
    assert_eq!(tally.deliveries, tally.expected_deliveries, "{tally:?}");
    assert!(tally.is_clean(), "{tally:?}");
    assert_eq!(outcome.error_frames, 0);
    assert_eq!(outcome.disconnects, 0);
    assert_eq!(outcome.foreign_messages, 0);
    assert_eq!(outcome.delivery_latency.len(), tally.deliveries);
    assert_eq!(outcome.ack_latency.len(), tally.acked);
    let _ = stack.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_reads_full_pages() {
    let stack = start(sizes(30)).await;
    let server = Server::resolve(&format!("http://{}", stack.edge))
        .await
        .unwrap();
    let mut settings = history::Settings {
        concurrency: 4,
        duration: Duration::from_secs(1),
        limit: 20,
        offset: 0,
    };
    let outcome = history::run(&server, &stack.directory, &settings)
        .await
        .unwrap();
    assert!(outcome.requests > 10);
    assert_eq!(outcome.failed, 0);
    assert_eq!(outcome.messages, outcome.ok * 20);
    assert_eq!(outcome.latency.len(), outcome.requests);
    // Chats of 30 messages: the page at offset 20 holds the last 10.
    settings.offset = 20;
    let outcome = history::run(&server, &stack.directory, &settings)
        .await
        .unwrap();
    assert_eq!(outcome.failed, 0);
    assert_eq!(outcome.messages, outcome.ok * 10);
    let _ = stack.stop.send(true);
}

/// The defaults `loadgen::limits` compares a load with are the servers'.
#[test]
fn the_limits_the_load_generator_knows_are_the_servers_defaults() {
    use clap::Args;
    let edge = EdgeConfig::augment_args(clap::Command::new("edge"));
    let core = core_service::config::CoreConfig::augment_args(clap::Command::new("core"));
    let arguments: Vec<&clap::Arg> = edge.get_arguments().chain(core.get_arguments()).collect();
    for (name, default) in loadgen::limits::DEFAULTS {
        let arg = arguments
            .iter()
            .find(|arg| arg.get_env().is_some_and(|env| env == name))
            .unwrap_or_else(|| panic!("a server reads {name}"));
        let value = arg.get_default_values()[0].to_str().unwrap();
        assert_eq!(value, default.to_string(), "{name}");
    }
}
