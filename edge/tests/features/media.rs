//! Files over REST: an upload streamed through the edge, a message that
//! carries it over the WebSocket, and downloads with ranges and validators
//! for the chat's members only.

use crate::common::{Stack, get_with, send_frame, stack_with_world};
use serde_json::Value;

async fn upload(
    stack: &Stack,
    token: &str,
    name: &str,
    kind: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let path = format!(
        "/media?{}",
        serde_urlencoded::to_string([("name", name)]).unwrap()
    );
    let response = reqwest::Client::new()
        .post(stack.http_url(&path))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", kind)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn fetch(
    stack: &Stack,
    token: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .get(stack.http_url(path))
        .header("authorization", format!("Bearer {token}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_goes_up_in_a_message_and_down_to_members_only() {
    let (stack, world) = stack_with_world().await;
    let (writer, reader) = (&world.users[0], &world.users[1]);
    // The group is users 0 to 2.
    let outsider = &world.users[4];
    let token = stack.access_token(writer).await;
    let notes: Vec<u8> = b"%PDF-1.4\nminutes of the meeting\n".repeat(2000);
    let (status, file) = upload(
        &stack,
        &token,
        "minutes été.pdf",
        "application/pdf",
        notes.clone(),
    )
    .await;
    assert_eq!(status, 201, "{file}");
    assert_eq!(file["content_type"], "application/pdf");
    assert_eq!(file["size"], notes.len());
    assert_eq!(file["name"], "minutes été.pdf");

    // Sent over the WebSocket with no text; the reader's socket shows it.
    let mut sender = stack.login(writer).await;
    let mut receiver = stack.login(reader).await;
    let (_, mut frame) = send_frame(writer, world.group_chat, "");
    frame["attachments"] = serde_json::json!([{"id": file["id"]}]);
    sender.send(frame).await;
    assert_eq!(sender.recv().await["type"], "message_ack");
    let message = loop {
        let frame = receiver.recv().await;
        if frame["type"] == "message" {
            break frame;
        }
    };
    assert_eq!(message["attachments"][0]["id"], file["id"]);
    assert_eq!(message["text"], "");

    let reader_token = stack.access_token(reader).await;
    let path = format!("/media/{}", file["id"].as_str().unwrap());
    downloads(&stack, &reader_token, &path, &notes).await;
    let outsider_token = stack.access_token(outsider).await;
    assert_eq!(
        fetch(&stack, &outsider_token, &path, &[]).await.status(),
        404
    );
    refusals(&stack, &token, &notes).await;
    sender.close().await;
    receiver.close().await;
    stack.stop().await;
}

/// A member downloads it whole, as a download, and by ranges; nobody
/// without a credential does.
async fn downloads(stack: &Stack, reader_token: &str, path: &str, notes: &[u8]) {
    // A member downloads it whole, as a download, and by ranges.
    let whole = fetch(stack, reader_token, path, &[]).await;
    assert_eq!(whole.status(), 200);
    let headers = whole.headers().clone();
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''minutes%20%C3%A9t%C3%A9.pdf")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["cache-control"],
        "private, max-age=31536000, immutable"
    );
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(whole.bytes().await.unwrap(), notes);
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let again = fetch(stack, reader_token, path, &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), 304);
    let part = fetch(stack, reader_token, path, &[("range", "bytes=10-19")]).await;
    assert_eq!(part.status(), 206);
    let total = notes.len();
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 10-19/{total}").as_str()
    );
    assert_eq!(part.bytes().await.unwrap(), notes[10..20]);
    let beyond = fetch(
        stack,
        reader_token,
        path,
        &[("range", &format!("bytes={total}-"))],
    )
    .await;
    assert_eq!(beyond.status(), 416);
    assert_eq!(
        beyond.headers()["content-range"],
        format!("bytes */{total}").as_str()
    );

    // Nobody without a credential; no file by a name that is no id.
    assert_eq!(get_with(stack, path, &[]).await.0, 401);
    assert_eq!(
        fetch(stack, reader_token, "/media/not-an-id", &[])
            .await
            .status(),
        404
    );
}

/// A lying image type, an empty file, a path for a name.
async fn refusals(stack: &Stack, token: &str, notes: &[u8]) {
    // Refusals: a lying image type, an empty file, a path for a name, no length.
    let lying = upload(stack, token, "cat.png", "image/png", notes[..100].to_vec()).await;
    assert_eq!(lying.0, 422, "{}", lying.1);
    assert_eq!(
        lying.1["detail"][0]["loc"],
        serde_json::json!(["body", "content_type"])
    );
    assert_eq!(
        upload(stack, token, "empty.txt", "text/plain", Vec::new())
            .await
            .0,
        422
    );
    assert_eq!(
        upload(stack, token, "../x", "text/plain", b"x".to_vec())
            .await
            .0,
        422
    );
    let (status, _) = get_with(stack, "/media", &[]).await;
    assert_eq!(status, 405);
}
