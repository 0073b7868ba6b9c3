//! The `ListChats`, `ListConnections`, `ListPresence`, `ListMembers` and
//! `ListBlocks` RPCs: records into protobuf.

use crate::commands::{self, search_users};
use crate::convert;
use crate::error::Result;
use crate::ids::UserId;
use crate::state::{Chats, Live, Rates};
use messenger_proto::timestamp;
use messenger_proto::v1::{
    ChatList, ChatSummary, Connection, ConnectionList, FoundMessage, FoundMessages,
    ListChatsRequest, ListConnectionsRequest, ListMembersRequest, Member, MemberList, PresenceList,
    SearchMessagesRequest, SearchUsersRequest, User, UserList,
};

/// One page of the user's chats, most recently active first.
pub async fn list(chats: &Chats, user_id: UserId, request: ListChatsRequest) -> Result<ChatList> {
    let limit = super::history::limit(request.limit);
    let records = commands::chats::list(chats, user_id, limit, request.offset).await?;
    let summaries = records
        .iter()
        .map(|chat| ChatSummary {
            id: chat.id.to_string(),
            name: chat.name.clone(),
            r#type: u32::try_from(chat.kind).unwrap_or_default(),
            members: chat
                .members
                .iter()
                .map(|(id, name)| User {
                    id: id.to_string(),
                    name: name.clone(),
                    email: String::new(),
                })
                .collect(),
            last_message: chat.last_message.as_ref().map(convert::message),
            unread_count: u64::try_from(chat.unread).unwrap_or_default(),
            member_count: u32::try_from(chat.member_count).unwrap_or_default(),
        })
        .collect();
    Ok(ChatList { chats: summaries })
}

/// The presence of everyone the user shares a chat with.
pub async fn presence(chats: &Chats, live: &Live, user_id: UserId) -> Result<PresenceList> {
    let people = commands::presence::list(chats, live, user_id).await?;
    Ok(convert::presence_list(people))
}

/// Everyone in the asked chat, with names and roles.
pub async fn members(
    chats: &Chats,
    user_id: UserId,
    request: ListMembersRequest,
) -> Result<MemberList> {
    let chat = convert::parse_uuid("chat_id", &request.chat_id)?;
    let members = commands::chats::members(chats, user_id, chat).await?;
    let members = members
        .into_iter()
        .map(|member| Member {
            user_id: member.id.to_string(),
            role: convert::role(member.role).into(),
            name: member.name,
        })
        .collect();
    Ok(MemberList { members })
}

/// The people the user blocks.
pub async fn blocks(chats: &Chats, user_id: UserId) -> Result<UserList> {
    let blocked = commands::chats::blocks(chats, user_id).await?;
    Ok(users(blocked))
}

fn users(people: Vec<(UserId, String)>) -> UserList {
    let users = people
        .into_iter()
        .map(|(id, name)| User {
            id: id.to_string(),
            name,
            email: String::new(),
        })
        .collect();
    UserList { users }
}

/// A page of the people the user may find with the request's query.
pub async fn search(
    chats: &Chats,
    rates: &Rates,
    user_id: UserId,
    request: SearchUsersRequest,
) -> Result<UserList> {
    let limit = super::history::limit(request.limit);
    let found =
        search_users::run(chats, rates, user_id, &request.query, limit, request.offset).await?;
    Ok(users(found))
}

/// One page of the user's own connections, newest first.
pub async fn connections(
    chats: &Chats,
    user_id: UserId,
    request: ListConnectionsRequest,
) -> Result<ConnectionList> {
    let limit = super::history::limit(request.limit);
    let records = commands::chats::connections(chats, user_id, limit, request.offset).await?;
    let connections = records
        .into_iter()
        .map(|record| Connection {
            id: record.id.to_string(),
            started_at: Some(timestamp::to_proto(record.started_at)),
            ended_at: record.ended_at.map(timestamp::to_proto),
            client_address: record.origin.client_address.unwrap_or_default(),
            user_agent: record.origin.user_agent.unwrap_or_default(),
            edge: record.origin.edge.unwrap_or_default(),
            end_reason: record.end_reason.unwrap_or_default(),
        })
        .collect();
    Ok(ConnectionList { connections })
}

/// A page of the messages of the caller's chats with the request's words.
pub async fn search_messages(
    chats: &Chats,
    rates: &Rates,
    user_id: UserId,
    request: SearchMessagesRequest,
) -> Result<FoundMessages> {
    let found = commands::search_messages::run(chats, rates, user_id, &request).await?;
    let messages = found
        .iter()
        .map(|found| FoundMessage {
            message: Some(convert::message(&found.message)),
            snippet: found.snippet.clone(),
        })
        .collect();
    Ok(FoundMessages { messages })
}
