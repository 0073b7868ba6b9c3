//! `GET /history/{chat_id}`: paging, order and validation.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{get_json, get_json_as, send_frame, stack_with_world};
use serde_json::Value;

fn locs(body: &Value) -> Vec<Vec<String>> {
    body["detail"]
        .as_array()
        .expect("detail is a list")
        .iter()
        .map(|entry| {
            assert!(
                entry["msg"].is_string() && entry["type"].is_string(),
                "{entry}"
            );
            entry["loc"]
                .as_array()
                .unwrap()
                .iter()
                .map(|part| part.as_str().unwrap().to_owned())
                .collect()
        })
        .collect()
}

fn loc(a: &str, b: &str) -> Vec<String> {
    vec![a.to_owned(), b.to_owned()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_oldest_first_and_pages_by_limit_and_offset() {
    let (stack, world) = stack_with_world().await;
    let mut sender = stack.login(&world.users[0]).await;
    let mut ids = vec![];
    for n in 0..7 {
        let (_, frame) = send_frame(&world.users[0], world.group_chat, &format!("message {n}"));
        sender.send(frame).await;
        ids.push(sender.recv().await["id"].clone());
    }
    let token = stack.access_token(&world.users[1]).await;
    let url = |query: &str| stack.http_url(&format!("/history/{}{query}", world.group_chat));
    let (status, all) = get_json_as(&url(""), &token).await;
    assert_eq!(status, 200);
    let got: Vec<Value> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(got, ids);
    for message in all.as_array().unwrap() {
        let keys: Vec<&str> = message
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 7, "{message}");
        for key in [
            "id",
            "sender_id",
            "chat_id",
            "timestamp",
            "text",
            "seen",
            "seq",
        ] {
            assert!(keys.contains(&key));
        }
    }
    let (_, page) = get_json_as(&url("?limit=3&offset=2"), &token).await;
    let got: Vec<Value> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(got, ids[2..5]);
    let (_, past_the_end) = get_json_as(&url("?limit=3&offset=50"), &token).await;
    assert_eq!(past_the_end, Value::Array(vec![]));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_needs_a_credential_and_membership() {
    let (stack, world) = stack_with_world().await;
    let url = stack.http_url(&format!("/history/{}", world.group_chat));
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let (status, _) = get_json_as(&url, "msa_not_a_real_token").await;
    assert_eq!(status, 401);

    let outsider = stack.access_token(&world.users[3]).await;
    let (status, body) = get_json_as(&url, &outsider).await;
    assert_eq!(status, 403, "{body}");
    let unknown_chat = stack.http_url(&format!("/history/{}", uuid::Uuid::new_v4()));
    assert_eq!(get_json_as(&unknown_chat, &outsider).await.0, 403);

    let member = stack.access_token(&world.users[2]).await;
    let (status, body) = get_json_as(&url, &member).await;
    assert_eq!((status, body), (200, Value::Array(vec![])));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_parameters_are_422_and_all_listed() {
    let (stack, world) = stack_with_world().await;
    let chat = world.group_chat;
    let cases = [
        (
            "/history/not-a-uuid".to_owned(),
            vec![loc("path", "chat_id")],
        ),
        (
            format!("/history/{chat}?limit=0"),
            vec![loc("query", "limit")],
        ),
        (
            format!("/history/{chat}?offset=-1"),
            vec![loc("query", "offset")],
        ),
        (
            format!("/history/{chat}?limit=abc"),
            vec![loc("query", "limit")],
        ),
        (
            format!("/history/{chat}?limit=1000"),
            vec![loc("query", "limit")],
        ),
        (
            "/history/123?limit=0&offset=-1".to_owned(),
            vec![
                loc("path", "chat_id"),
                loc("query", "limit"),
                loc("query", "offset"),
            ],
        ),
    ];
    let token = stack.access_token(&world.users[0]).await;
    for (path, expected) in cases {
        let (status, body) = get_json_as(&stack.http_url(&path), &token).await;
        assert_eq!(status, 422, "{path}: {body}");
        assert_eq!(locs(&body), expected, "{path}");
        for invalid in body["detail"].as_array().unwrap() {
            assert!(
                invalid["input"].is_string(),
                "{path}: the value given: {body}"
            );
        }
    }
    // The page cap is the core's rule; the value is still the one given.
    let path = format!("/history/{chat}?limit=1000");
    let (_, body) = get_json_as(&stack.http_url(&path), &token).await;
    assert_eq!(body["detail"][0]["input"], "1000");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_are_a_json_404_and_docs_are_served() {
    let (stack, _world) = stack_with_world().await;
    let (status, body) = get_json(&stack.http_url("/nowhere")).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Not Found")));
    let (status, openapi) = get_json(&stack.http_url("/openapi.json")).await;
    assert_eq!(status, 200);
    assert!(openapi["paths"]["/history/{chat_id}"]["get"].is_object());
    let docs = reqwest::get(stack.http_url("/docs")).await.unwrap();
    assert_eq!(docs.status().as_u16(), 200);
    assert!(docs.text().await.unwrap().contains("/history/{chat_id}"));
    stack.stop().await;
}
