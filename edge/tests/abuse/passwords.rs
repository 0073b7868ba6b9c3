//! Password hashing as a weapon: a flood of registrations must neither
//! queue without bound nor keep existing users from logging in.

use crate::common::{Client, Stack, World, login_frame, post_json};
use core_service::state::{AuthSettings, Settings};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Registrations sent at once by the flood.
const FLOODERS: usize = 48;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_succeed_while_registrations_flood_the_hashing() {
    // As from many addresses: the per-address limit does not stop it.
    let settings = Settings {
        auth: AuthSettings {
            max_registrations_per_address: 1_000_000,
            ..AuthSettings::default()
        },
        ..Settings::default()
    };
    let stack = Arc::new(Stack::start_configured(settings, |_| {}).await);
    let world = World::new();
    stack.load(&world).await;
    let flooding = Arc::new(AtomicBool::new(true));
    let refused = Arc::new(AtomicUsize::new(0));
    let flood: Vec<_> = (0..FLOODERS)
        .map(|_| {
            let (stack, flooding, refused) = (stack.clone(), flooding.clone(), refused.clone());
            tokio::spawn(async move {
                while flooding.load(Ordering::Relaxed) {
                    let email = format!("{}@flood.example.com", uuid::Uuid::new_v4().simple());
                    let body = json!({"name": "Flood", "email": email, "password": "long enough"});
                    let (status, _, _) = post_json(&stack, "/users", body, &[]).await;
                    assert!(
                        matches!(status, 201 | 503),
                        "registration answered {status}"
                    );
                    if status == 503 {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut latencies = Vec::new();
    for user in world.users.iter().cycle().take(10) {
        let login = json!({"email": user.email, "password": user.password});
        let started = Instant::now();
        let (status, _, body) = post_json(&stack, "/auth/login", login, &[]).await;
        latencies.push(started.elapsed());
        assert_eq!(status, 200, "a user's login during the flood: {body}");
    }
    flooding.store(false, Ordering::Relaxed);
    for flooder in flood {
        flooder.await.unwrap();
    }
    latencies.sort();
    println!(
        "login during a registration flood of {FLOODERS}: median {:?}, max {:?}",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    assert!(
        refused.load(Ordering::Relaxed) > 0,
        "the registrations' queue is bounded: some were refused"
    );
    Arc::try_unwrap(stack).ok().unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_registers_only_so_many_accounts() {
    let settings = Settings {
        auth: AuthSettings {
            max_registrations_per_address: 3,
            ..AuthSettings::default()
        },
        ..Settings::default()
    };
    let stack = Stack::start_configured(settings, |_| {}).await;
    let mut statuses = Vec::new();
    for n in 0..4 {
        let email = format!("n{n}.{}@example.com", uuid::Uuid::new_v4().simple());
        let body = json!({"name": "New", "email": email, "password": "long enough"});
        let (status, headers, _) = post_json(&stack, "/users", body, &[]).await;
        if status == 429 {
            assert!(headers.contains_key("retry-after"));
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [201, 201, 201, 429]);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_succeed_while_login_frames_flood_from_another_address() {
    let stack = Stack::start().await;
    let world = World::new();
    stack.load(&world).await;
    let attacker_address = "127.0.0.2".parse().unwrap();
    let mut attackers = Vec::new();
    for _ in 0..4 {
        attackers.push(Client::connect_from(&stack.ws_url(), attacker_address).await);
    }
    // Every attacker socket guesses without waiting for the answers, 20
    // more in all than the address may have checked.
    let per_address = AuthSettings::DEFAULT.max_login_failures_per_address;
    let guesses = (per_address + 20).div_ceil(attackers.len());
    for (n, attacker) in attackers.iter_mut().enumerate() {
        for guess in 0..guesses {
            let email = format!("guess{n}.{guess}@example.com");
            attacker
                .send(json!({"email": email, "password": "wrong password"}))
                .await;
        }
    }
    let mut latencies = Vec::new();
    for user in &world.users {
        let started = Instant::now();
        let mut client = stack.connect().await;
        client.send(login_frame(user)).await;
        assert_eq!(client.recv().await["type"], "auth_success");
        latencies.push(started.elapsed());
    }
    let mut answers = Vec::new();
    for attacker in &mut attackers {
        for _ in 0..guesses {
            let answer = attacker.recv().await;
            answers.push(answer["detail"]["code"].as_str().unwrap().to_owned());
        }
    }
    let throttled = answers
        .iter()
        .filter(|code| *code == "too_many_attempts")
        .count();
    println!(
        "login during a flood of {} login frames from one address: max {:?}; {throttled} guesses refused unchecked",
        answers.len(),
        latencies.iter().max().unwrap()
    );
    // The address's attempts per window were checked; the rest were not.
    assert_eq!(answers.len() - throttled, per_address, "{answers:?}");
    stack.stop().await;
}
