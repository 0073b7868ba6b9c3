//! The metrics, scraped as Prometheus would: after a little of everything
//! (logins, sends, history, refused frames, closes) on a cluster of two
//! cores (so the bus is used), every metric the core and the edge record is
//! in the scrape, with Prometheus' names, and every metric the Grafana
//! dashboard in `docs/` uses exists.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Stack, World, send_frame};
use serde_json::json;
use std::collections::BTreeSet;

fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("messenger_") {
        let name: String = rest[start..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        rest = &rest[start + name.len()..];
        names.insert(name);
    }
    names
}

/// A histogram's or summary's series names stand for the metric itself.
fn base(name: &str) -> &str {
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name)
}

async fn scrape(address: std::net::SocketAddr) -> String {
    reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_is_exported_and_the_dashboard_uses_only_those() {
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = reserved.local_addr().unwrap();
    drop(reserved);
    startup::serve_metrics(startup::MetricsListen(Some(address)), "EDGE_METRICS_LISTEN");

    let stack = Stack::start_pair().await;
    let world = World::new();
    stack.load(&world).await;
    let [sender, reader] = [&world.users[0], &world.users[1]];
    let mut sending = stack.login(sender).await;
    let mut reading = stack.login(reader).await;
    for text in ["one", "two"] {
        let (_, frame) = send_frame(sender, world.personal_chat, text);
        sending.send(frame).await;
        sending.recv().await;
        reading.recv().await;
    }
    let path = format!("/history/{}", world.personal_chat);
    assert_eq!(stack.get_as(reader, &path).await.0, 200);
    let mut wrong = stack.connect().await;
    wrong
        .send(json!({"email": sender.email, "password": "nope"}))
        .await;
    wrong.recv_error("invalid_credentials").await;
    wrong.send_text("not json").await;
    wrong.recv_error("invalid_json").await;
    // Two sockets logged in, one not (yet).
    let open = scrape(address).await;
    for line in [
        "messenger_edge_connections{state=\"logged_in\"} 2",
        "messenger_edge_connections{state=\"anonymous\"} 1",
    ] {
        assert!(open.lines().any(|l| l == line), "{line} not in:\n{open}");
    }
    reading
        .send(json!({"type": "typing", "chat_id": world.other_chat}))
        .await;
    reading.recv_error("not_a_member").await;
    // The pool's gauges are taken with the readiness check, every 2 s.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    sending.close().await;
    stack.stop().await;

    let scrape = scrape(address).await;
    let exported: BTreeSet<String> = metric_names(&scrape)
        .iter()
        .map(|n| base(n).to_owned())
        .collect();
    let recorded = core_service::telemetry::NAMES
        .iter()
        .chain(edge::telemetry::NAMES.iter());
    for name in recorded {
        assert!(
            exported.contains(*name),
            "{name} is not exported:\n{scrape}"
        );
        let counter = name.ends_with("_total");
        let unit = ["_seconds", "_messages", "_connections", "_sessions"]
            .iter()
            .any(|unit| name.ends_with(unit));
        assert!(
            counter || unit || *name == "messenger_sessions",
            "{name}: no unit or _total"
        );
    }
    assert!(
        scrape.contains("messenger_ack_duration_seconds_bucket"),
        "histograms have buckets"
    );

    let dashboard = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/grafana-dashboard.json"
    ))
    .unwrap();
    let used = metric_names(&dashboard);
    assert!(used.len() >= 15, "{used:?}");
    for name in &used {
        assert!(
            exported.contains(base(name)),
            "the dashboard uses {name}, which no process exports"
        );
    }
}
