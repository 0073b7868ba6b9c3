//! The OAuth 2.0 token endpoint and bearer tokens.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, Stack, World, get_with, stack_with_world, token_request};
use core_service::state::{AuthSettings, Settings};
use serde_json::json;
use std::time::Duration;

/// A token request's form fields.
type Form<'a> = Vec<(&'a str, &'a str)>;

fn password_form(user: &core_service::demo_data::DemoUser) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "password".into()),
        ("username", user.email.clone()),
        ("password", user.password.clone()),
    ]
}

async fn grant(stack: &Stack, form: &[(&'static str, String)]) -> (u16, serde_json::Value) {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    token_request(stack, &pairs).await
}

fn bearer(token: &serde_json::Value) -> String {
    format!("Bearer {}", token.as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_grant_answers_per_section_5_1() {
    let (stack, world) = stack_with_world().await;
    let form = password_form(&world.users[0]);
    let response = reqwest::Client::new()
        .post(stack.http_url("/oauth/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["access_token"].as_str().unwrap().starts_with("msa_"));
    assert!(body["refresh_token"].as_str().unwrap().starts_with("msr_"));

    let (status, me) = get_with(
        &stack,
        "/me",
        &[("authorization", &bearer(&body["access_token"]))],
    )
    .await;
    assert_eq!(
        (status, me["id"].as_str()),
        (200, Some(world.users[0].id.to_string().as_str()))
    );
    // The refresh token is not an access token.
    let (status, _) = get_with(
        &stack,
        "/me",
        &[("authorization", &bearer(&body["refresh_token"]))],
    )
    .await;
    assert_eq!(status, 401);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_token_authenticates_the_websocket_upgrade() {
    let (stack, world) = stack_with_world().await;
    let (_, tokens) = grant(&stack, &password_form(&world.users[1])).await;
    let header = bearer(&tokens["access_token"]);
    let mut client = Client::connect_with(&stack.ws_url(), &[("authorization", &header)])
        .await
        .unwrap();
    assert_eq!(client.recv().await["type"], "auth_success");
    let refused =
        Client::connect_with(&stack.ws_url(), &[("authorization", "Bearer msa_bogus")]).await;
    assert!(matches!(
        refused,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) if response.status().as_u16() == 401
    ));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let (stack, world) = stack_with_world().await;
    let (_, first) = grant(&stack, &password_form(&world.users[0])).await;
    let refresh = |token: &serde_json::Value| {
        vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", token.as_str().unwrap().to_owned()),
        ]
    };
    let (status, second) = grant(&stack, &refresh(&first["refresh_token"])).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["access_token"], first["access_token"]);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let me = |token: serde_json::Value| {
        let stack = &stack;
        async move {
            get_with(stack, "/me", &[("authorization", &bearer(&token))])
                .await
                .0
        }
    };
    assert_eq!(me(second["access_token"].clone()).await, 200);
    assert_eq!(
        me(first["access_token"].clone()).await,
        200,
        "rotation keeps old access tokens until they expire"
    );

    // Someone replays the first refresh token: refused, and the whole
    // family (every token since that login) is revoked.
    let (status, error) = grant(&stack, &refresh(&first["refresh_token"])).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(me(second["access_token"].clone()).await, 401);
    assert_eq!(me(first["access_token"].clone()).await, 401);
    let (status, error) = grant(&stack, &refresh(&second["refresh_token"])).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // Another login of the same user is a different family and unaffected.
    let (_, other) = grant(&stack, &password_form(&world.users[0])).await;
    assert_eq!(me(other["access_token"].clone()).await, 200);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_refused() {
    let settings = Settings {
        auth: AuthSettings {
            access_token_ttl: Duration::from_secs(2),
            ..AuthSettings::default()
        },
        ..Settings::default()
    };
    let stack = Stack::start_configured(settings, |_| {}).await;
    let world = World::new();
    stack.load(&world).await;
    let (_, tokens) = grant(&stack, &password_form(&world.users[0])).await;
    assert_eq!(tokens["expires_in"], 2);
    let header = bearer(&tokens["access_token"]);
    assert_eq!(
        get_with(&stack, "/me", &[("authorization", &header)])
            .await
            .0,
        200
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        get_with(&stack, "/me", &[("authorization", &header)])
            .await
            .0,
        401
    );
    let path = format!("/history/{}", world.personal_chat);
    assert_eq!(
        get_with(&stack, &path, &[("authorization", &header)])
            .await
            .0,
        401
    );
    // The refresh token still works and gives a fresh access token.
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
    ];
    let (status, fresh) = token_request(&stack, &form).await;
    assert_eq!(status, 200);
    assert_eq!(
        get_with(
            &stack,
            "/me",
            &[("authorization", &bearer(&fresh["access_token"]))]
        )
        .await
        .0,
        200
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_token_requests_get_section_5_2_errors() {
    let (stack, world) = stack_with_world().await;
    let user = &world.users[0];
    let cases: Vec<(Form, u16, &str)> = vec![
        (vec![("username", &user.email)], 400, "invalid_request"),
        (
            vec![("grant_type", "password"), ("username", &user.email)],
            400,
            "invalid_request",
        ),
        (
            vec![("grant_type", "client_credentials")],
            400,
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("username", &user.email),
                ("password", "wrong"),
            ],
            400,
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", "msr_unknown"),
            ],
            400,
            "invalid_grant",
        ),
    ];
    for (form, status, error) in cases {
        let (got, body) = token_request(&stack, &form).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(error)),
            "{form:?}: {body}"
        );
        assert!(body["error_description"].is_string());
    }
    let response = reqwest::Client::new()
        .post(stack.http_url("/oauth/token"))
        .json(&json!({"grant_type": "password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_with_a_bearer_token_revokes_its_login() {
    let (stack, world) = stack_with_world().await;
    let (_, tokens) = grant(&stack, &password_form(&world.users[0])).await;
    let header = bearer(&tokens["access_token"]);
    let (status, _, _) = common::post_json(
        &stack,
        "/auth/logout",
        json!({}),
        &[("authorization", &header)],
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        get_with(&stack, "/me", &[("authorization", &header)])
            .await
            .0,
        401
    );
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
    ];
    assert_eq!(
        token_request(&stack, &form).await.1["error"],
        "invalid_grant"
    );
    stack.stop().await;
}
