//! `GET /openapi.json` against the running edge: every route is in the
//! document and every documented operation is served, and the bodies the
//! edge returns have the documented shape.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{get_json, send_frame, stack_with_world};
use serde_json::Value;
use std::collections::BTreeSet;

/// The public REST and WebSocket routes, as client authors rely on them.
const ROUTES: [(&str, &str); 18] = [
    ("get", "/history/{chat_id}"),
    ("get", "/ws"),
    ("post", "/users"),
    ("get", "/users"),
    ("get", "/search"),
    ("post", "/auth/login"),
    ("post", "/auth/logout"),
    ("get", "/me"),
    ("get", "/me/connections"),
    ("get", "/chats"),
    ("get", "/chats/{chat_id}/members"),
    ("get", "/me/blocks"),
    ("get", "/presence"),
    ("post", "/oauth/token"),
    ("get", "/openapi.json"),
    ("post", "/media"),
    ("get", "/media/{id}"),
    ("get", "/media/{id}/thumbnail"),
];

fn operations(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().unwrap();
    paths
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().unwrap().keys();
            methods.map(move |method| (method.clone(), path.clone()))
        })
        .collect()
}

/// Every `$ref` in `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(target)) = object.get("$ref") {
                found.push(target.clone());
            }
            object.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

/// Checks `body` against `schema` as far as this API's schemas go: object
/// keys are the documented properties (the required ones present), arrays
/// hold items of the item schema, `$ref`s and nullable `oneOf`s followed.
fn assert_shape(document: &Value, schema: &Value, body: &Value, at: &str) {
    if let Some(Value::String(target)) = schema.get("$ref") {
        let name = target.trim_start_matches("#/components/schemas/");
        let schema = &document["components"]["schemas"][name];
        return assert_shape(document, schema, body, at);
    }
    if let Some(Value::Array(choices)) = schema.get("oneOf") {
        if body.is_null() {
            return;
        }
        let choice = choices.iter().find(|c| c["type"] != "null").unwrap();
        return assert_shape(document, choice, body, at);
    }
    match body {
        Value::Array(items) => {
            for (n, item) in items.iter().enumerate() {
                assert_shape(document, &schema["items"], item, &format!("{at}[{n}]"));
            }
        }
        Value::Object(object) => {
            let properties = schema["properties"].as_object().unwrap();
            for (key, value) in object {
                let property = properties
                    .get(key)
                    .unwrap_or_else(|| panic!("{at}.{key} is not documented"));
                assert_shape(document, property, value, &format!("{at}.{key}"));
            }
            for required in schema["required"].as_array().into_iter().flatten() {
                let key = required.as_str().unwrap();
                assert!(object.contains_key(key), "{at}.{key} is required");
            }
        }
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_documented_and_every_documented_route_is_served() {
    let (stack, _world) = stack_with_world().await;
    let (status, document) = get_json(&stack.http_url("/openapi.json")).await;
    assert_eq!(status, 200);

    let documented = operations(&document);
    let expected: BTreeSet<_> = ROUTES
        .iter()
        .chain(&[("get", "/docs")])
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(documented, expected);

    let client = reqwest::Client::new();
    for (method, path) in &documented {
        let path = path.replace("{chat_id}", &uuid::Uuid::new_v4().to_string());
        let method: reqwest::Method = method.to_uppercase().parse().unwrap();
        let response = client
            .request(method.clone(), stack.http_url(&path))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert!(status != 404 && status != 405, "{method} {path}: {status}");
    }
    // Beside a documented route: not served.
    let (status, _) = get_json(&stack.http_url("/me/sessions")).await;
    assert_eq!(status, 404);
    let response = client.delete(stack.http_url("/me")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 405);

    let mut targets = Vec::new();
    references(&document, &mut targets);
    assert!(!targets.is_empty());
    for target in targets {
        let name = target.trim_start_matches("#/components/schemas/");
        assert!(
            document["components"]["schemas"][name].is_object(),
            "{target} is not defined"
        );
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_have_the_documented_shape() {
    let (stack, world) = stack_with_world().await;
    let (_, document) = get_json(&stack.http_url("/openapi.json")).await;
    let mut sender = stack.login(&world.users[0]).await;
    let (_, frame) = send_frame(&world.users[0], world.group_chat, "shaped");
    sender.send(frame).await;
    sender.recv().await;

    let history = format!("/history/{}", world.group_chat);
    let members = format!("/chats/{}/members", world.group_chat);
    for (path, template) in [
        ("/users?query=user", "/users"),
        ("/users", "/users"),
        ("/search?query=shaped", "/search"),
        ("/search", "/search"),
        ("/me", "/me"),
        ("/chats", "/chats"),
        ("/me/connections", "/me/connections"),
        (history.as_str(), "/history/{chat_id}"),
        ("/history/not-a-uuid", "/history/{chat_id}"),
        (members.as_str(), "/chats/{chat_id}/members"),
        ("/chats/not-a-uuid/members", "/chats/{chat_id}/members"),
        ("/me/blocks", "/me/blocks"),
    ] {
        let (status, body) = stack.get_as(&world.users[0], path).await;
        let responses = &document["paths"][template]["get"]["responses"];
        let schema = &responses[status.to_string()]["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{path}: {status} is not documented");
        assert_shape(&document, schema, &body, path);
        assert!(!body.is_null());
    }
    let (status, body) = get_json(&stack.http_url("/me")).await;
    let responses = &document["paths"]["/me"]["get"]["responses"];
    let schema = &responses[status.to_string()]["content"]["application/json"]["schema"];
    assert_shape(&document, schema, &body, "/me without a credential");
    sender.close().await;
    stack.stop().await;
}
