//! Groups over time: members added and removed, roles, names; every
//! member's devices hear of each change, on any core, and sync tells a
//! device that was away.

use crate::common::{Stack, World, send_frame, stack_with_world};
use core_service::ids::UserId;
use serde_json::{Value, json};

fn add(chat: uuid::Uuid, users: &[uuid::Uuid]) -> Value {
    json!({"type": "add_members", "chat_id": chat, "users": users})
}

fn remove(chat: uuid::Uuid, user: uuid::Uuid) -> Value {
    json!({"type": "remove_member", "chat_id": chat, "user_id": user})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_come_and_go_and_everyone_hears_of_it() {
    let (stack, world) = stack_with_world().await;
    added_and_removed(stack, world).await;
}

/// The same with two cores: each change is made on one core and learnt
/// (membership cache included) by the other through the bus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_come_and_go_on_any_core() {
    let stack = Stack::start_pair().await;
    let world = World::new();
    stack.load(&world).await;
    added_and_removed(stack, world).await;
}

async fn added_and_removed(stack: Stack, world: World) {
    let [owner, member, other, newcomer] = [0, 1, 2, 3].map(|n| &world.users[n]);
    let group = world.group_chat;
    let mut owner_client = stack.login(owner).await;
    let mut member_client = stack.login(member).await;
    let mut other_client = stack.login(other).await;
    let mut phone = stack.login(newcomer).await;
    let mut laptop = stack.login(newcomer).await;

    member_client
        .send(add(group, &[newcomer.id, owner.id]))
        .await;
    let added = json!({"type": "members_added", "chat_id": group, "users": [newcomer.id],
                       "added_by": member.id});
    for client in [&mut member_client, &mut owner_client, &mut other_client] {
        assert_eq!(client.recv().await, added);
    }
    for client in [&mut phone, &mut laptop] {
        let created = client.recv().await;
        assert_eq!(
            (&created["type"], &created["chat_id"]),
            (&json!("group_created"), &json!(group))
        );
        assert_eq!(created["user_group"].as_array().unwrap().len(), 4);
    }
    let (_, frame) = send_frame(newcomer, group, "hello all");
    phone.send(frame).await;
    assert_eq!(phone.recv().await["type"], "message_ack");
    for client in [
        &mut laptop,
        &mut owner_client,
        &mut member_client,
        &mut other_client,
    ] {
        assert_eq!(client.recv().await["text"], "hello all");
    }

    // A plain member may not remove; the owner makes an admin, who may.
    other_client.send(remove(group, newcomer.id)).await;
    other_client.recv_error("not_allowed").await;
    let promote =
        json!({"type": "set_role", "chat_id": group, "user_id": member.id, "role": "admin"});
    owner_client.send(promote).await;
    let role =
        json!({"type": "role_changed", "chat_id": group, "user_id": member.id, "role": "admin"});
    for client in [
        &mut owner_client,
        &mut member_client,
        &mut other_client,
        &mut phone,
        &mut laptop,
    ] {
        assert_eq!(client.recv().await, role);
    }
    member_client.send(remove(group, owner.id)).await;
    member_client.recv_error("not_allowed").await;
    member_client.send(remove(group, newcomer.id)).await;
    let left = json!({"type": "member_left", "chat_id": group, "user_id": newcomer.id,
                      "removed_by": member.id});
    for client in [
        &mut member_client,
        &mut owner_client,
        &mut other_client,
        &mut phone,
        &mut laptop,
    ] {
        assert_eq!(client.recv().await, left);
    }

    // The removed member gets nothing more: live, history, sending.
    let (_, frame) = send_frame(owner, group, "after you went");
    owner_client.send(frame).await;
    assert_eq!(owner_client.recv().await["type"], "message_ack");
    assert_eq!(other_client.recv().await["text"], "after you went");
    assert_eq!(member_client.recv().await["text"], "after you went");
    phone.expect_silence().await;
    laptop.expect_silence().await;
    let (status, _) = stack.get_as(newcomer, &format!("/history/{group}")).await;
    assert_eq!(status, 403);
    let (_, frame) = send_frame(newcomer, group, "let me in");
    phone.send(frame).await;
    phone.recv_error("not_a_member").await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_rename_and_the_owner_role_passes_on_when_the_owner_leaves() {
    let (stack, world) = stack_with_world().await;
    let [owner, member, other] = [0, 1, 2].map(|n| &world.users[n]);
    let group = world.group_chat;
    let mut owner_client = stack.login(owner).await;
    let mut member_client = stack.login(member).await;
    let mut other_client = stack.login(other).await;

    let rename = json!({"type": "rename_group", "chat_id": group, "name": "  Hikers "});
    member_client.send(rename.clone()).await;
    member_client.recv_error("not_allowed").await;
    owner_client.send(rename).await;
    let renamed = json!({"type": "group_renamed", "chat_id": group, "name": "Hikers",
                         "renamed_by": owner.id});
    for client in [&mut owner_client, &mut member_client, &mut other_client] {
        assert_eq!(client.recv().await, renamed);
    }
    let chats = stack.get_as(other, "/chats").await.1;
    let entry = chats
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == group.to_string());
    assert_eq!(entry.unwrap()["name"], "Hikers");

    let owner_role =
        json!({"type": "set_role", "chat_id": group, "user_id": owner.id, "role": "member"});
    owner_client.send(owner_role).await;
    owner_client.recv_error("not_allowed").await;
    let make_owner =
        json!({"type": "set_role", "chat_id": group, "user_id": member.id, "role": "owner"});
    owner_client.send(make_owner).await;
    owner_client.recv_error("invalid_field").await;

    owner_client
        .send(json!({"type": "leave_group", "chat_id": group}))
        .await;
    let left = json!({"type": "member_left", "chat_id": group, "user_id": owner.id});
    assert_eq!(owner_client.recv().await, left);
    let heir = member.id.min(other.id);
    let role = json!({"type": "role_changed", "chat_id": group, "user_id": heir, "role": "owner"});
    for client in [&mut member_client, &mut other_client] {
        assert_eq!(client.recv().await, left);
        assert_eq!(client.recv().await, role);
    }
    owner_client.expect_silence().await;
    let owners = "SELECT count(*) FROM chat_members WHERE role = 2";
    assert_eq!(stack.db.count(owners).await, 1);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_after_being_away_tells_what_changed_in_ones_groups() {
    let (stack, world) = stack_with_world().await;
    let [owner, away, newcomer] = [0, 2, 3].map(|n| &world.users[n]);
    let group = world.group_chat;
    let mut away_client = stack.login(away).await;
    let cursor = crate::sync_cursor(&mut away_client).await;
    away_client.close().await;

    let mut owner_client = stack.login(owner).await;
    owner_client.send(add(group, &[newcomer.id])).await;
    assert_eq!(owner_client.recv().await["type"], "members_added");
    let rename = json!({"type": "rename_group", "chat_id": group, "name": "Renamed"});
    owner_client.send(rename).await;
    owner_client.recv().await;

    let mut away_client = stack.login(away).await;
    away_client
        .send(json!({"type": "sync", "since": cursor}))
        .await;
    let state = away_client.recv().await;
    assert_eq!(
        (&state["type"], &state["name"]),
        (&json!("group_state"), &json!("Renamed"))
    );
    let members = state["members"].as_array().unwrap();
    assert_eq!(members.len(), 4);
    assert!(members.contains(&json!({"user_id": owner.id, "role": "owner"})));
    assert!(members.contains(&json!({"user_id": newcomer.id, "role": "member"})));
    assert_eq!(away_client.recv().await["type"], "sync_done");
    away_client.close().await;

    // Removed while away: the next sync says so.
    owner_client.send(remove(group, away.id)).await;
    owner_client.recv().await;
    let mut away_client = stack.login(away).await;
    away_client
        .send(json!({"type": "sync", "since": cursor}))
        .await;
    let left = away_client.recv().await;
    assert_eq!(
        left,
        json!({"type": "member_left", "chat_id": group, "user_id": away.id})
    );
    let done = away_client.recv().await;
    assert!(done["cursor"].get(group.to_string()).is_none());
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_changes_refused_change_nothing() {
    let (stack, world) = stack_with_world().await;
    let [owner, outsider] = [&world.users[0], &world.users[3]];
    let group = world.group_chat;
    let mut owner_client = stack.login(owner).await;
    let mut outsider_client = stack.login(outsider).await;

    outsider_client.send(add(group, &[world.users[4].id])).await;
    outsider_client.recv_error("not_a_member").await;
    owner_client.send(add(group, &[uuid::Uuid::new_v4()])).await;
    owner_client.recv_error("unknown_user").await;
    owner_client
        .send(add(world.personal_chat, &[outsider.id]))
        .await;
    owner_client.recv_error("personal_chat").await;
    owner_client.send(add(group, &[])).await;
    owner_client.recv_error("invalid_field").await;
    owner_client.send(remove(group, outsider.id)).await;
    owner_client.recv_error("not_in_chat").await;
    let block = json!({"type": "block_user", "user_id": owner.id});
    outsider_client.send(block).await;
    outsider_client.recv().await;
    owner_client.send(add(group, &[outsider.id])).await;
    owner_client.recv_error("blocked").await;
    // Adding who is in already changes nothing and tells no one else.
    owner_client.send(add(group, &[world.users[1].id])).await;
    let nothing =
        json!({"type": "members_added", "chat_id": group, "users": [], "added_by": owner.id});
    assert_eq!(owner_client.recv().await, nothing);
    outsider_client.expect_silence().await;
    let members = format!("SELECT count(*) FROM chat_members WHERE chat_id = '{group}'");
    assert_eq!(stack.db.count(&members).await, 3);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_lets_only_contacts_add_them_is_added_by_contacts_only() {
    let (stack, world) = stack_with_world().await;
    let World {
        users, group_chat, ..
    } = &world;
    let mut careful = stack.login(&users[2]).await;
    careful
        .send(json!({"type": "set_privacy", "group_adds": "contacts"}))
        .await;
    let settings = careful.recv().await;
    assert_eq!(settings["group_adds"], "contacts", "{settings}");

    // A stranger's group, and the group mate who is no contact: refused,
    // nothing created, nothing told.
    for creator in [&users[3], &users[0]] {
        let mut client = stack.login(creator).await;
        client
            .send(json!({"name": "Uninvited", "users": [users[2].id]}))
            .await;
        let refused = client.recv_error("contacts_only").await;
        assert!(
            refused["message"]
                .as_str()
                .unwrap()
                .contains(&users[2].id.to_string())
        );
    }
    let mut owner = stack.login(&users[0]).await;
    owner
        .send(json!({"name": "Ours", "users": [users[1].id]}))
        .await;
    let ours = owner.recv().await;
    assert_eq!(ours["type"], "group_created", "{ours}");
    let ours: uuid::Uuid = ours["chat_id"].as_str().unwrap().parse().unwrap();
    owner.send(add(ours, &[users[2].id])).await;
    owner.recv_error("contacts_only").await;
    careful.expect_silence().await;
    let (_, chats) = stack.get_as(&users[2], "/chats").await;
    assert_eq!(
        chats.as_array().unwrap().len(),
        1,
        "only the group it was in: {chats}"
    );

    // Contacts may: both wrote in their personal chat.
    let (a, b) = (users[0].id, users[2].id);
    core_service::testing::make_contacts(&stack.store, UserId(a), UserId(b)).await;
    owner.send(add(ours, &[users[2].id])).await;
    assert_eq!(owner.recv().await["type"], "members_added");
    assert_ne!(ours, *group_chat);
    stack.stop().await;
}

/// `GET /chats/{id}/members`: everyone in the chat with names and roles,
/// the owner first, for members only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_are_listed_with_their_roles_to_members_only() {
    let (stack, world) = stack_with_world().await;
    let [owner, member, other, outsider] = [0, 1, 2, 3].map(|n| &world.users[n]);
    let group = world.group_chat;
    let mut owner_client = stack.login(owner).await;
    owner_client
        .send(json!({"type": "set_role", "chat_id": group, "user_id": other.id, "role": "admin"}))
        .await;
    assert_eq!(owner_client.recv().await["type"], "role_changed");

    let path = format!("/chats/{group}/members");
    let (status, members) = stack.get_as(member, &path).await;
    assert_eq!(status, 200);
    let expected = json!([
        {"id": owner.id, "name": owner.name, "role": "owner"},
        {"id": other.id, "name": other.name, "role": "admin"},
        {"id": member.id, "name": member.name, "role": "member"},
    ]);
    assert_eq!(members, expected);
    let personal = format!("/chats/{}/members", world.personal_chat);
    let (_, pair) = stack.get_as(owner, &personal).await;
    assert_eq!(pair.as_array().unwrap().len(), 2);

    // Not a member, no such chat, not an id.
    assert_eq!(stack.get_as(outsider, &path).await.0, 403);
    let nowhere = format!("/chats/{}/members", uuid::Uuid::new_v4());
    assert_eq!(stack.get_as(owner, &nowhere).await.0, 403);
    let (status, body) = stack.get_as(owner, "/chats/nope/members").await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["path", "chat_id"]));
    // A member who left is one no more.
    let mut member_client = stack.login(member).await;
    member_client
        .send(json!({"type": "leave_group", "chat_id": group}))
        .await;
    assert_eq!(member_client.recv().await["type"], "member_left");
    assert_eq!(stack.get_as(member, &path).await.0, 403);
    let (_, left) = stack.get_as(owner, &path).await;
    assert_eq!(left.as_array().unwrap().len(), 2);
    stack.stop().await;
}
