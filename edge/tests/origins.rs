//! Cross-site protection: the Origin check on cookie WebSockets, and CORS.
//! The test edge allows the origin https://chat.example.com.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, cookie_login, stack_with_world};

const ALLOWED: &str = "https://chat.example.com";
const FOREIGN: &str = "https://evil.example.net";

fn http_status(result: Result<Client, tokio_tungstenite::tungstenite::Error>) -> Option<u16> {
    match result {
        Ok(_) => Some(101),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Some(response.status().as_u16())
        }
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_upgrade_from_a_foreign_origin_is_refused() {
    let (stack, world) = stack_with_world().await;
    let cookie = cookie_login(&stack, &world.users[0]).await;
    let url = stack.ws_url();
    let foreign = Client::connect_with(&url, &[("cookie", &cookie), ("origin", FOREIGN)]).await;
    assert_eq!(http_status(foreign), Some(403));

    let mut allowed = Client::connect_with(&url, &[("cookie", &cookie), ("origin", ALLOWED)])
        .await
        .unwrap();
    assert_eq!(allowed.recv().await["type"], "auth_success");
    // Not a browser (no Origin): the cookie counts.
    let mut tool = Client::connect_with(&url, &[("cookie", &cookie)])
        .await
        .unwrap();
    assert_eq!(tool.recv().await["type"], "auth_success");
    // Without a cookie nothing ambient is at stake: any page may connect and log in.
    let mut anonymous = Client::connect_with(&url, &[("origin", FOREIGN)])
        .await
        .unwrap();
    anonymous.send(common::login_frame(&world.users[1])).await;
    assert_eq!(anonymous.recv().await["type"], "auth_success");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_upgrade_is_not_subject_to_the_origin_check() {
    let (stack, world) = stack_with_world().await;
    let token = stack.access_token(&world.users[0]).await;
    let header = format!("Bearer {token}");
    let mut client = Client::connect_with(
        &stack.ws_url(),
        &[("authorization", &header), ("origin", FOREIGN)],
    )
    .await
    .unwrap();
    assert_eq!(client.recv().await["type"], "auth_success");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_follows_the_allowed_origins() {
    let (stack, world) = stack_with_world().await;
    let client = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        client
            .request(reqwest::Method::OPTIONS, stack.http_url("/auth/login"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight(ALLOWED).await.unwrap();
    assert_eq!(allowed.status().as_u16(), 200);
    assert_eq!(allowed.headers()["access-control-allow-origin"], ALLOWED);
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
    let foreign = preflight(FOREIGN).await.unwrap();
    assert_eq!(foreign.status().as_u16(), 403);
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let token = stack.access_token(&world.users[0]).await;
    let me = |origin: &'static str| {
        client
            .get(stack.http_url("/me"))
            .bearer_auth(&token)
            .header("origin", origin)
            .send()
    };
    let allowed = me(ALLOWED).await.unwrap();
    assert_eq!(allowed.status().as_u16(), 200);
    assert_eq!(allowed.headers()["access-control-allow-origin"], ALLOWED);
    assert_eq!(me(FOREIGN).await.unwrap().status().as_u16(), 403);
    stack.stop().await;
}

/// The web client is served by the edge: its own origin needs no entry in
/// ALLOWED_ORIGINS, for the cookie socket and for the REST API, while a
/// page that only claims the same port on another host is foreign.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edges_own_origin_needs_no_configuration() {
    let (stack, world) = stack_with_world().await;
    let cookie = cookie_login(&stack, &world.users[0]).await;
    let own = format!("http://{}", stack.edge_address);
    let url = stack.ws_url();
    let mut page = Client::connect_with(&url, &[("cookie", &cookie), ("origin", &own)])
        .await
        .unwrap();
    assert_eq!(page.recv().await["type"], "auth_success");
    let elsewhere = format!("http://elsewhere.example:{}", stack.edge_address.port());
    let foreign = Client::connect_with(&url, &[("cookie", &cookie), ("origin", &elsewhere)]).await;
    assert_eq!(http_status(foreign), Some(403));

    let client = reqwest::Client::new();
    let me = client
        .get(stack.http_url("/me"))
        .header("cookie", &cookie)
        .header("origin", &own)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    assert!(me.headers().get("access-control-allow-origin").is_none());
    let refused = client
        .get(stack.http_url("/me"))
        .header("cookie", &cookie)
        .header("origin", &elsewhere)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_client_is_served_at_the_root_with_a_strict_policy() {
    let (stack, _world) = stack_with_world().await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/js/socket.js", "text/javascript"),
        ("/app.css", "text/css"),
        ("/icon.svg", "image/svg+xml"),
    ] {
        let response = reqwest::get(stack.http_url(path)).await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let headers = response.headers();
        let content_type = headers["content-type"].to_str().unwrap();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(policy.contains("default-src 'self'"), "{policy}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
    }
    let page = reqwest::get(stack.http_url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"<script type="module" src="/app.js">"#));
    let missing = reqwest::get(stack.http_url("/app.map")).await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let (stack, _world) = stack_with_world().await;
    // An API answer, an error, a refusal, a missing page, the document.
    for path in [
        "/healthz",
        "/history/nope",
        "/me",
        "/nowhere",
        "/openapi.json",
    ] {
        let response = reqwest::get(stack.http_url(path)).await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        let permissions = headers["permissions-policy"].to_str().unwrap();
        assert!(permissions.contains("camera=()"), "{path}: {permissions}");
        // Plain HTTP: no HSTS (a TLS edge sends it, see abuse/tls.rs).
        assert!(!headers.contains_key("strict-transport-security"), "{path}");
    }
    // The web client keeps its own, fuller policy.
    let page = reqwest::get(stack.http_url("/")).await.unwrap();
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("default-src 'self'"), "{policy}");
    stack.stop().await;
}

/// With `ALLOWED_HOSTS`, a request for another name (here the edge's bare
/// address, as a rebound name would arrive) gets 421 and reaches no route,
/// a WebSocket included; health checks answer whatever the name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_with_allowed_hosts_serves_only_those() {
    let stack = common::Stack::start_configured(core_service::state::Limits::default(), |config| {
        config.allowed_hosts = vec!["localhost".into()];
    })
    .await;
    let port = stack.edge_address.port();
    let by_address = format!("http://127.0.0.1:{port}");
    let by_name = format!("http://localhost:{port}");
    for path in ["/", "/chats", "/docs/openapi.json"] {
        let refused = reqwest::get(format!("{by_address}{path}")).await.unwrap();
        assert_eq!(refused.status().as_u16(), 421, "{path}");
        assert!(
            refused.headers().contains_key("x-content-type-options"),
            "a refusal is a response like any other"
        );
    }
    let served = reqwest::get(format!("{by_name}/")).await.unwrap();
    assert_eq!(served.status().as_u16(), 200);
    let health = reqwest::get(format!("{by_address}/healthz")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let socket = Client::connect_with(&format!("ws://127.0.0.1:{port}/ws"), &[]).await;
    assert_eq!(http_status(socket), Some(421));
    let socket = Client::connect_with(&format!("ws://localhost:{port}/ws"), &[]).await;
    assert_eq!(http_status(socket), Some(101));
    stack.stop().await;
}
