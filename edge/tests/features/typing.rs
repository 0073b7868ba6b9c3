//! Typing: passed on to the other members at most once per interval,
//! never stored, shown for a moment only.

use crate::common::stack_with_world;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_reaches_the_other_members_once_per_interval_and_is_not_stored() {
    let (stack, world) = stack_with_world().await;
    let [typist, reader, third] = [&world.users[0], &world.users[1], &world.users[2]];
    let group = world.group_chat;
    let mut keyboard = stack.login(typist).await;
    let mut typist_phone = stack.login(typist).await;
    let mut phone = stack.login(reader).await;
    let mut laptop = stack.login(reader).await;
    let mut third_client = stack.login(third).await;

    let typing = json!({"type": "typing", "chat_id": group});
    keyboard.send(typing.clone()).await;
    let notice = json!({"type": "typing", "chat_id": group, "user_id": typist.id,
                        "expires_in_ms": 6000});
    for client in [&mut phone, &mut laptop, &mut third_client] {
        assert_eq!(client.recv().await, notice);
    }
    keyboard.expect_silence().await;
    typist_phone.expect_silence().await;

    // Within the interval: dropped, without an answer.
    keyboard.send(typing.clone()).await;
    typist_phone.send(typing.clone()).await;
    phone.expect_silence().await;
    keyboard.expect_silence().await;

    // After it, passed on again.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    typist_phone.send(typing).await;
    assert_eq!(phone.recv().await, notice);
    assert_eq!(third_client.recv().await, notice);
    // Nothing stored: the chat has no message, nothing moved its number.
    let stored = "SELECT count(*) FROM messages";
    assert_eq!(stack.db.count(stored).await, 0);
    let numbers = "SELECT count(*) FROM chats WHERE last_seq > 0";
    assert_eq!(stack.db.count(numbers).await, 0);

    let elsewhere = json!({"type": "typing", "chat_id": world.other_chat});
    keyboard.send(elsewhere.clone()).await;
    keyboard.recv_error("not_a_member").await;
    let mut anonymous = stack.connect().await;
    anonymous.send(elsewhere).await;
    anonymous.recv_error("not_authenticated").await;
    stack.stop().await;
}
