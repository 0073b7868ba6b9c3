//! Finding old messages over REST: words in one's own chats, with a snippet.

use crate::common::{Stack, get_with, send_frame, stack_with_world};
use serde_json::Value;

async fn search(stack: &Stack, token: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let bearer = format!("Bearer {token}");
    let path = format!("/search?{}", serde_urlencoded::to_string(query).unwrap());
    get_with(stack, &path, &[("authorization", &bearer)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_found_by_their_words_with_a_snippet() {
    let (stack, world) = stack_with_world().await;
    let (writer, reader) = (&world.users[0], &world.users[1]);
    let mut sender = stack.login(writer).await;
    for text in ["meet at the old harbour", "bring the map"] {
        let (_, frame) = send_frame(writer, world.group_chat, text);
        sender.send(frame).await;
        assert_eq!(sender.recv().await["type"], "message_ack");
    }
    let token = stack.access_token(reader).await;
    let (status, found) = search(&stack, &token, &[("query", "harbour")]).await;
    assert_eq!(status, 200, "{found}");
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["message"]["text"], "meet at the old harbour");
    assert_eq!(found[0]["message"]["chat_id"], world.group_chat.to_string());
    assert_eq!(found[0]["snippet"], "meet at the old \u{2}harbour\u{3}");
    let chat = world.group_chat.to_string();
    let query = [("query", "the"), ("chat_id", chat.as_str()), ("limit", "1")];
    let (status, page) = search(&stack, &token, &query).await;
    let text = page[0]["message"]["text"].as_str();
    assert_eq!((status, text), (200, Some("bring the map")));

    let (status, _) = get_with(&stack, "/search?query=map", &[]).await;
    assert_eq!(status, 401);
    let (status, body) = search(&stack, &token, &[("limit", "1")]).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["detail"][0]["loc"],
        serde_json::json!(["query", "query"])
    );
    assert_eq!(search(&stack, &token, &[("query", " ")]).await.0, 422);
    let not_a_chat = [("query", "map"), ("chat_id", "nope")];
    assert_eq!(search(&stack, &token, &not_a_chat).await.0, 422);
    sender.close().await;
    stack.stop().await;
}
