//! No secret ever reaches the logs: passwords, their hashes, tokens and
//! cookie values. The whole stack runs with its own crates logging at the
//! most verbose level, and the captured output is searched for each secret.

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
    tracing_subscriber::fmt()
        .with_env_filter("info,core_service=trace,edge=trace,launcher=trace,messenger_proto=trace")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let (stack, world) = stack_with_world().await;
    let mut secrets: Vec<String> = vec![];

    let password = "correct horse battery staple";
    let body = json!({"name": "Logged", "email": "logged@example.com", "password": password});
    assert_eq!(post_json(&stack, "/users", body, &[]).await.0, 201);
    secrets.push(password.into());
    let client = stack
        .store
        .user_by_email("logged@example.com")
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
    secrets.push(world.users[1].password.clone());
    stack.stop().await;

    let logs = captured.text();
    assert!(logs.contains("logged in"), "the capture works: {logs}");
    assert!(logs.contains("refresh token was presented again"), "{logs}");
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
