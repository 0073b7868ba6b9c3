//! What grows with one user's doing must come in bounded pieces, so that
//! no single answer or event can be made too large: the chat list comes in
//! pages, each chat with a preview of its members.

use crate::common::{Stack, World, get_with};
use core_service::demo_data::{DemoChat, DemoChatMember, DemoUser};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_list_comes_in_pages_with_a_preview_of_each_chats_members() {
    let stack = Stack::start().await;
    let mut world = World::new();
    // A chat of 25: user 0 and 24 others.
    let crowd = Uuid::new_v4();
    world.data.chats.push(DemoChat {
        id: crowd,
        name: "Crowd".into(),
        kind: 1,
    });
    let others: Vec<DemoUser> = (0..24)
        .map(|n| DemoUser {
            id: Uuid::new_v4(),
            name: format!("Crowd {n:02}"),
            email: format!("crowd{n}.{}@example.com", Uuid::new_v4().simple()),
            password: "crowd password".into(),
        })
        .collect();
    let members = std::iter::once(world.users[0].id).chain(others.iter().map(|user| user.id));
    for user_id in members {
        world.data.chat_members.push(DemoChatMember {
            user_id,
            chat_id: crowd,
        });
    }
    world.data.users.extend(others);
    stack.load(&world).await;
    let token = stack.access_token(&world.users[0]).await;
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];

    let mut seen = Vec::new();
    for offset in 0..4 {
        let (status, page) =
            get_with(&stack, &format!("/chats?limit=1&offset={offset}"), &auth).await;
        assert_eq!(status, 200, "{page}");
        let page = page.as_array().unwrap().clone();
        assert!(page.len() <= 1);
        seen.extend(page);
    }
    assert_eq!(seen.len(), 3, "three chats, one per page, then none");
    let crowd = seen
        .iter()
        .find(|chat| chat["id"] == crowd.to_string())
        .unwrap();
    assert_eq!(crowd["member_count"], 25);
    assert_eq!(crowd["members"].as_array().unwrap().len(), 20, "a preview");
    let (status, _) = get_with(&stack, "/chats?limit=0", &auth).await;
    assert_eq!(status, 422);
    stack.stop().await;
}
