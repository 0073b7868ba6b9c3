//! `GetHistory`.

use crate::common::*;

// One scenario, step by step: splitting it would hide the order.
#[allow(clippy::too_many_lines)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_validates_and_returns_storage_order() {
    let limits = Limits {
        default_page_size: 2,
        ..Limits::default()
    };
    let core = start(limits).await;
    let mut client = MessengerClient::new(core.channel().await);
    let chat = core.data.chats[0].id.to_string();
    let member = core
        .data
        .chat_members
        .iter()
        .find(|m| m.chat_id == core.data.chats[0].id)
        .unwrap();
    let user = core
        .data
        .users
        .iter()
        .position(|u| u.id == member.user_id)
        .unwrap();
    let token = access_token(&core, user).await;
    let page = client
        .get_history(authorized(
            HistoryRequest {
                chat_id: chat.clone(),
                limit: 10,
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    let mut expected: Vec<_> = core
        .data
        .messages
        .iter()
        .filter(|m| m.chat_id.to_string() == chat)
        .collect();
    expected.sort_by_key(|m| m.timestamp);
    let got: Vec<String> = page.messages.iter().map(|m| m.id.clone()).collect();
    let want: Vec<String> = expected.iter().map(|m| m.id.to_string()).collect();
    assert_eq!(got, want);

    // No limit: the core's default page size, from the oldest.
    let first = HistoryRequest {
        chat_id: chat.clone(),
        ..Default::default()
    };
    let page = client.get_history(authorized(first, &token)).await.unwrap();
    let got: Vec<String> = page
        .into_inner()
        .messages
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(got, want[..2]);

    for (request, field) in [
        (
            HistoryRequest {
                chat_id: "nope".into(),
                limit: 1,
                ..Default::default()
            },
            "chat_id",
        ),
        (
            HistoryRequest {
                chat_id: chat.clone(),
                limit: 101,
                ..Default::default()
            },
            "limit",
        ),
    ] {
        let status = client
            .get_history(authorized(request, &token))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let named = status
            .metadata()
            .get(messenger_proto::INVALID_FIELD_METADATA)
            .unwrap();
        assert_eq!(named.to_str().unwrap(), field);
    }
    let unauthenticated = HistoryRequest {
        chat_id: chat.clone(),
        limit: 1,
        offset: 0,
        ..Default::default()
    };
    let status = client.get_history(unauthenticated).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    core.stop().await;
}
