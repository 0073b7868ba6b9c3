//! A short soak (30 s) on a cluster of two cores and two edges run as
//! processes, with PostgreSQL made slow and a core killed while it is,
//! connections dropped and an edge killed: acks wait for the slow commits,
//! every acked message is stored once and reaches every other member
//! once, and sending resumes after every fault. (The long soaks, with the
//! other faults, are run by hand: see docs/reliability.md.)

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

use core_service::demo_data::populate;
use core_service::testing::TestDatabase;
use demo_data::generate::{Sizes, generate};
use loadgen::dataset::Directory;
use loadgen::soak::cluster::Layout;
use loadgen::soak::faults::{Fault, Hooks, Slowness};
use loadgen::soak::{self, Settings};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soak_with_kills_drops_and_a_slow_database_loses_and_doubles_nothing() {
    let bin_dir = core_service::testing::built_binaries();
    let db = TestDatabase::create().await;
    let data = generate(&Sizes {
        users: 24,
        personal_chats: 0,
        groups: 8,
        group_size: 4,
        messages_per_chat: 2,
        ..Sizes::default()
    })
    .unwrap();
    populate::populate(&db.store(), &data).await.unwrap();
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let settings = Settings {
        layout: Layout {
            bin_dir,
            database_url: db.url(),
            cores: 2,
            edges: 2,
            nats_url: env("NATS_URL", "nats://127.0.0.1:4222"),
            redis_url: env("REDIS_URL", "redis://127.0.0.1:6379"),
            log_dir: std::env::temp_dir().join(format!("soak-{}", uuid::Uuid::new_v4())),
        },
        hooks: Hooks {
            database_url: db.url(),
            slowness: Slowness {
                lasting: Duration::from_secs(9),
                per_store: Duration::from_secs(2),
            },
            ..Hooks::default()
        },
        directory: Directory::new(data, true),
        duration: Duration::from_secs(30),
        rate: 2.0,
        window: 16,
        faults: vec![
            Fault::SlowPostgres,
            // 6 s into the slowness: messages wait in the core for their
            // commits, and none of them may have been acked yet.
            Fault::KillCore,
            Fault::DropClients,
            Fault::KillEdge,
        ],
        fault_every: Duration::from_secs(6),
    };
    let outcome = soak::run(settings).await.unwrap();
    let verdict = &outcome.verdict;
    assert!(verdict.clean, "{verdict:#?}");
    assert!(verdict.counts.acked >= 500, "{verdict:#?}");
    assert!(
        outcome.settled_after.is_some(),
        "every message acked before the last catch-ups"
    );
    assert!(
        verdict.reconnects >= 10,
        "the faults broke connections: {verdict:#?}"
    );
    assert_eq!(outcome.applied.len(), 4);
    let kill = &outcome.applied[1];
    assert!(
        kill.unacked_before > 0,
        "killed with sends waiting: {kill:?}"
    );
    assert!(
        verdict.counts.ack_wait.max_ms >= 2000.0,
        "acks waited for the slow commits: {verdict:#?}"
    );
    for applied in &outcome.applied {
        assert!(!applied.detail.starts_with("failed"), "{applied:?}");
        assert!(
            applied.first_ack_after_seconds.is_some(),
            "acks resumed: {applied:?}"
        );
    }
    assert!(outcome.memory.len() >= 25, "a sample each second");
}
