//! No secret ever reaches the logs: passwords, their hashes, tokens and
//! cookie values. The whole stack runs with its own crates logging at the
//! most verbose level, in the JSON format (`LOG_FORMAT=json`, whose lines
//! carry every field), and the captured output is searched for each
//! secret; every line is one JSON object, and a session's lines name the
//! session and its user.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, cookie_login, post_json, stack_with_world, token_request};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// A log destination that keeps everything written to it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_the_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let filter = "info,core_service=trace,edge=trace,launcher=trace,messenger_proto=trace";
    startup::init_tracing_to(
        startup::LogFormat::Json,
        tracing_subscriber::EnvFilter::new(filter),
        move || writer.clone(),
    );

    let (stack, world) = stack_with_world().await;
    let mut secrets: Vec<String> = vec![];

    let password = "correct horse battery staple";
    let body = json!({"name": "Logged", "email": "logged@example.com", "password": password});
    assert_eq!(post_json(&stack, "/users", body, &[]).await.0, 201);
    secrets.push(password.into());
    let client = stack
        .store
        .user_by_email(&core_service::email::Email::normalize("logged@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    secrets.push(client.password_hash.clone());

    let user = &world.users[0];
    secrets.push(user.password.clone());
    let cookie = cookie_login(&stack, user).await;
    secrets.push(cookie.split_once('=').unwrap().1.to_owned());
    let form = [
        ("grant_type", "password"),
        ("username", user.email.as_str()),
        ("password", user.password.as_str()),
    ];
    let (_, tokens) = token_request(&stack, &form).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    secrets.push(tokens["access_token"].as_str().unwrap().to_owned());
    secrets.push(refresh.clone());
    let (_, rotated) = token_request(
        &stack,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    secrets.push(rotated["access_token"].as_str().unwrap().to_owned());
    // Replaying the used refresh token is logged as a warning: without the token.
    token_request(
        &stack,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;

    let mut socket = Client::connect_with(&stack.ws_url(), &[("cookie", &cookie)])
        .await
        .unwrap();
    socket.recv().await;
    let mut wrong = stack.connect().await;
    wrong
        .send(json!({"email": user.email, "password": "a wrong guess"}))
        .await;
    wrong.recv_error("invalid_credentials").await;
    secrets.push("a wrong guess".into());
    let mut right = stack.connect().await;
    right.send(common::login_frame(&world.users[1])).await;
    right.recv().await;
    right
        .send(json!({"type": "typing", "chat_id": "not a uuid"}))
        .await;
    right.recv_error("invalid_field").await;
    secrets.push(world.users[1].password.clone());
    stack.stop().await;

    let logs = captured.text();
    assert!(logs.contains("logged in"), "the capture works: {logs}");
    assert_session_lines(&logs, &world.users[1].id.to_string());
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret reached the logs: {secret}"
        );
    }
    // Token prefixes would show a token even if cut short.
    for prefix in ["mss_", "msa_", "msr_", "$argon2id$"] {
        assert!(!logs.contains(prefix), "{prefix} in the logs");
    }
}

/// Every line is one JSON object, and the lines of a session (its login,
/// a refused operation) name the session and its user.
fn assert_session_lines(logs: &str, user_id: &str) {
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let logged_in = lines
        .iter()
        .find(|line| {
            line["fields"]["message"] == "logged in" && line["fields"]["user_id"] == user_id
        })
        .unwrap();
    assert!(logged_in["fields"]["session_id"].is_string());
    assert!(logged_in["level"].is_string() && logged_in["timestamp"].is_string());
    // A refused operation names its session and user too (at debug).
    let refused = lines
        .iter()
        .find(|line| {
            line["fields"]["message"] == "operation refused"
                && line["fields"]["code"] == "invalid_field"
        })
        .unwrap();
    assert_eq!(refused["fields"]["user_id"], user_id);
    assert_eq!(
        refused["fields"]["session_id"],
        logged_in["fields"]["session_id"]
    );
    assert!(logs.contains("refresh token was presented again"), "{logs}");
}
