//! Full-text search of one's own chats.

use crate::common::*;

async fn send(core: &Core, own: &mut Own, sender: usize, chat: &str, text: &str) -> String {
    let send = pb::SendMessage {
        attachment_ids: Vec::new(),
        written_at: None,
        client_id: uuid::Uuid::new_v4().to_string(),
        sender_id: core.data.users[sender].id.to_string(),
        chat_id: chat.to_owned(),
        text: text.into(),
    };
    answer(own, Operation::SendMessage(send), |event| match event {
        Event::MessageAck(ack) => Some(ack.id),
        _ => None,
    })
    .await
}

async fn search(
    core: &Core,
    token: &str,
    query: &str,
    chat: Option<&str>,
    before: Option<&str>,
    limit: u32,
) -> Result<Vec<pb::FoundMessage>, tonic::Status> {
    let mut client = MessengerClient::new(core.channel().await);
    let request = pb::SearchMessagesRequest {
        query: query.into(),
        chat_id: chat.map(str::to_owned),
        limit,
        before: before.map(str::to_owned),
    };
    let found = client.search_messages(authorized(request, token)).await?;
    Ok(found.into_inner().messages)
}

fn texts(found: &[pb::FoundMessage]) -> Vec<&str> {
    found
        .iter()
        .map(|found| found.message.as_ref().unwrap().text.as_str())
        .collect()
}

/// A group of the reader and the writer.
fn group(core: &Core, reader: usize, writer: usize) -> String {
    let member = |chat: uuid::Uuid, user: usize| {
        (core.data.chat_members.iter())
            .any(|m| m.chat_id == chat && m.user_id == core.data.users[user].id)
    };
    let group = core.data.chats.iter().find(|chat| {
        chat.kind == core_service::store::chats::GROUP_CHAT
            && member(chat.id, reader)
            && member(chat.id, writer)
    });
    group.unwrap().id.to_string()
}

/// A new group of the writer's (`own`) with `others`: its chat id.
async fn new_group(core: &Core, own: &mut Own, others: &[usize]) -> String {
    let create = pb::CreateGroup {
        name: "elsewhere".into(),
        user_ids: (others.iter())
            .map(|user| core.data.users[*user].id.to_string())
            .collect(),
    };
    answer(own, Operation::CreateGroup(create), |event| match event {
        Event::GroupCreated(group) => Some(group.chat_id),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_finds_words_in_the_callers_chats_as_they_are_now() {
    let core = start(Limits::default()).await;
    let members = group_members(&core);
    let (reader, writer) = (members[0], members[1]);
    let group = group(&core, reader, writer);
    let mut own = session(&core, writer).await;
    let outsider = (0..core.data.users.len()).find(|user| !members.contains(user));
    let elsewhere = new_group(&core, &mut own, &[outsider.unwrap()]).await;
    let fox = send(&core, &mut own, writer, &group, "The quick brown fox").await;
    send(&core, &mut own, writer, &group, "lazy dogs sleep").await;
    let thinking = send(&core, &mut own, writer, &group, "QUICK thinking").await;
    send(&core, &mut own, writer, &elsewhere, "a quick secret").await;
    let token = access_token(&core, reader).await;

    // Whole words, any case, only in the reader's chats, newest first.
    let found = search(&core, &token, "quick", None, None, 0).await.unwrap();
    assert_eq!(texts(&found), ["QUICK thinking", "The quick brown fox"]);
    assert_eq!(found[1].snippet, "The \u{2}quick\u{3} brown fox");
    assert!(
        search(&core, &token, "qui", None, None, 0)
            .await
            .unwrap()
            .is_empty()
    );
    // Every word, a phrase, a word left out.
    let both = search(&core, &token, "quick fox", None, None, 0)
        .await
        .unwrap();
    assert_eq!(texts(&both), ["The quick brown fox"]);
    let not_fox = search(&core, &token, "quick -fox", None, None, 0)
        .await
        .unwrap();
    assert_eq!(texts(&not_fox), ["QUICK thinking"]);
    // Paged: the next page starts after the last message of the previous.
    let first = search(&core, &token, "quick", None, None, 1).await.unwrap();
    assert_eq!(first[0].message.as_ref().unwrap().id, thinking);
    let next = search(&core, &token, "quick", None, Some(&thinking), 1)
        .await
        .unwrap();
    assert_eq!(texts(&next), ["The quick brown fox"]);
    refusals(&core, &token, &group, &elsewhere).await;

    // An edit is found by its new words; a deleted message is not found.
    edit_and_delete(&mut own, &thinking, &fox).await;
    assert!(
        search(&core, &token, "quick", None, None, 0)
            .await
            .unwrap()
            .is_empty()
    );
    let slow = search(&core, &token, "slow", None, None, 0).await.unwrap();
    assert_eq!(texts(&slow), ["slow thinking"]);

    // A group the reader left is not searched.
    let mut reader_own = session(&core, reader).await;
    let leave = pb::LeaveGroup {
        chat_id: group.clone(),
    };
    answer(
        &mut reader_own,
        Operation::LeaveGroup(leave),
        |event| match event {
            Event::MemberLeft(_) => Some(()),
            _ => None,
        },
    )
    .await;
    assert!(
        search(&core, &token, "slow", None, None, 0)
            .await
            .unwrap()
            .is_empty()
    );
    core.stop().await;
}

/// One chat is the reader's, another is not; bad queries and ids.
async fn refusals(core: &Core, token: &str, group: &str, elsewhere: &str) {
    let in_group = search(core, token, "quick", Some(group), None, 0)
        .await
        .unwrap();
    assert_eq!(in_group.len(), 2);
    let refused = search(core, token, "quick", Some(elsewhere), None, 0).await;
    assert_eq!(refused.unwrap_err().code(), Code::PermissionDenied);
    for bad in ["", "   "] {
        let refused = search(core, token, bad, None, None, 0).await;
        assert_eq!(refused.unwrap_err().code(), Code::InvalidArgument);
    }
    let refused = search(core, token, "quick", Some("not-a-uuid"), None, 0).await;
    assert_eq!(refused.unwrap_err().code(), Code::InvalidArgument);
}

/// The writer edits `edited` to "slow thinking" and deletes `deleted`.
async fn edit_and_delete(own: &mut Own, edited: &str, deleted: &str) {
    let edit = pb::EditMessage {
        client_id: uuid::Uuid::new_v4().to_string(),
        message_id: edited.to_owned(),
        text: "slow thinking".into(),
    };
    answer(own, Operation::EditMessage(edit), |event| match event {
        Event::MessageEdited(_) => Some(()),
        _ => None,
    })
    .await;
    let delete = pb::DeleteMessage {
        message_id: deleted.to_owned(),
    };
    answer(own, Operation::DeleteMessage(delete), |event| match event {
        Event::MessageDeleted(_) => Some(()),
        _ => None,
    })
    .await;
}
