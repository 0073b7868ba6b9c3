//! The starting corpora: the examples of `docs/protocol.md`, and the same
//! operations written with the ids of the harness's [`world`], so that
//! mutations start from inputs that get past the first checks.
//!
//! [`world`]: crate::session::world

use demo_data::DemoData;
use demo_data::generate::{Sizes, generate};
use messenger_proto::v1::{ClientOperation, LinkSignal, SessionOperation, link_signal::Signal};
use prost::Message;
use serde_json::{Value, json};

/// The protocol's documentation, whose examples are seeds.
const PROTOCOL: &str = include_str!("../../docs/protocol.md");

/// The seeds of the target `name` (one of [`crate::TARGETS`]).
pub fn of(name: &str, world: &DemoData) -> Vec<Vec<u8>> {
    match name {
        "frames" => frames(world),
        "rest" => requests(world),
        "operations" => operations(world),
        "sync_cursors" => cursors(world),
        "populate" => files(world),
        other => panic!("no target {other}"),
    }
}

/// Every JSON example in the protocol's documentation (inline or in a
/// block), and a frame of each kind with the world's ids.
pub fn frames(world: &DemoData) -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = documented_examples()
        .into_iter()
        .map(String::into_bytes)
        .collect();
    seeds.extend(
        world_frames(world)
            .iter()
            .map(|frame| frame.to_string().into_bytes()),
    );
    seeds
}

fn documented_examples() -> Vec<String> {
    let mut examples = Vec::new();
    for line in PROTOCOL.lines() {
        if line.starts_with('{') {
            examples.push(line.to_owned());
        }
        for (index, piece) in line.split('`').enumerate() {
            // Odd pieces are inside backquotes.
            if index % 2 == 1 && piece.starts_with('{') {
                examples.push(piece.to_owned());
            }
        }
    }
    examples
}

/// One frame of each kind a client sends, as the world's first user.
fn world_frames(world: &DemoData) -> Vec<Value> {
    let me = &world.users[0];
    let other = &world.users[1];
    let chat = world
        .chat_members
        .iter()
        .find(|member| member.user_id == me.id)
        .map(|member| member.chat_id)
        .expect("the first user has a chat");
    let group = world.groups[0].chat_id;
    let message = world.messages[0].id;
    let client_id = "dadf4d3c-ccf8-443d-ad7d-7dafca692fbd";
    vec![
        json!({"email": me.email, "password": me.password}),
        json!({"client_id": client_id, "sender_id": me.id, "chat_id": chat,
            "timestamp": "2026-12-01T09:12:44.120331Z", "text": "hello"}),
        json!({"name": "Hikers", "users": [me.id, other.id]}),
        json!({"message_id": message}),
        json!({"type": "sync", "since": {chat.to_string(): 2}}),
        json!({"type": "sync"}),
        json!({"type": "watch_presence"}),
        json!({"type": "leave_group", "chat_id": group}),
        json!({"type": "block_user", "user_id": other.id}),
        json!({"type": "unblock_user", "user_id": other.id}),
        json!({"type": "read_up_to", "chat_id": chat, "seq": 3}),
        json!({"type": "open_direct_chat", "user_id": other.id}),
        json!({"type": "edit_message", "client_id": client_id, "message_id": message, "text": "x"}),
        json!({"type": "delete_message", "message_id": message}),
        json!({"type": "typing", "chat_id": chat}),
        json!({"type": "add_members", "chat_id": group, "users": [other.id]}),
        json!({"type": "remove_member", "chat_id": group, "user_id": other.id}),
        json!({"type": "rename_group", "chat_id": group, "name": "Climbers"}),
        json!({"type": "set_role", "chat_id": group, "user_id": other.id, "role": "admin"}),
    ]
}

/// The world's frames as the core receives them: each operation alone
/// (a `Session` stream's) and inside a link's signal (an edge's).
pub fn operations(world: &DemoData) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for frame in world_frames(world) {
        let Ok(frame) = edge::ws::frames::parse(&frame.to_string()) else {
            continue;
        };
        let operation: ClientOperation = edge::ws::translate::operation(frame);
        let signal = LinkSignal {
            signal: Some(Signal::Operation(SessionOperation {
                session: 1,
                operation: Some(operation.clone()),
            })),
        };
        seeds.push(operation.encode_to_vec());
        seeds.push(signal.encode_to_vec());
    }
    seeds
}

/// Requests to every REST route: the flags byte (see [`crate::rest`]),
/// the path and query, a newline, the body.
pub fn requests(world: &DemoData) -> Vec<Vec<u8>> {
    let chat = world.chats[0].id;
    let me = &world.users[0];
    let (get, post, authorized, form) = (0u8, 1u8, 2u8, 4u8);
    let register = json!({"name": "Ann", "email": "ann@example.com", "password": "long enough"});
    let login = json!({"email": me.email, "password": me.password});
    let requests: Vec<(u8, String, String)> = vec![
        (
            get | authorized,
            format!("/history/{chat}?limit=10&offset=0"),
            String::new(),
        ),
        (
            get | authorized,
            format!("/history/{chat}?before_seq=5"),
            String::new(),
        ),
        (post, "/users".into(), register.to_string()),
        (post, "/auth/login".into(), login.to_string()),
        (post | authorized, "/auth/logout".into(), String::new()),
        (get | authorized, "/me".into(), String::new()),
        (
            post | form,
            "/oauth/token".into(),
            "grant_type=password&username=a%40b.c&password=x".into(),
        ),
        (
            post | form,
            "/oauth/token".into(),
            "grant_type=refresh_token&refresh_token=msr_x".into(),
        ),
        (
            get | authorized,
            "/chats?limit=5&offset=1".into(),
            String::new(),
        ),
        (
            get | authorized,
            "/me/connections?limit=5".into(),
            String::new(),
        ),
        (get | authorized, "/presence".into(), String::new()),
        (
            get | authorized,
            "/users?query=ann&limit=3&offset=0".into(),
            String::new(),
        ),
        (get, "/openapi.json".into(), String::new()),
        (get, "/healthz".into(), String::new()),
    ];
    requests
        .into_iter()
        .map(|(flags, path, body)| {
            let mut seed = vec![flags];
            seed.extend(path.into_bytes());
            seed.push(b'\n');
            seed.extend(body.into_bytes());
            seed
        })
        .collect()
}

/// Sync cursors: the world's chats at several positions, and shapes a
/// client may get wrong.
pub fn cursors(world: &DemoData) -> Vec<Vec<u8>> {
    let chats: Vec<String> = world.chats.iter().map(|chat| chat.id.to_string()).collect();
    let all: serde_json::Map<String, Value> =
        chats.iter().map(|chat| (chat.clone(), json!(1))).collect();
    let cursors = [
        json!({}),
        json!({chats[0].clone(): 0}),
        json!({chats[0].clone(): 3, chats[1].clone(): 5}),
        Value::Object(all),
        json!({chats[0].clone(): u64::MAX}),
        json!({"not-a-chat": 1}),
        json!({chats[0].clone(): -1}),
        json!([1, 2]),
        json!(null),
    ];
    cursors
        .iter()
        .map(|cursor| cursor.to_string().into_bytes())
        .collect()
}

/// Demo-data files: a world of other users (loads), the harness's own
/// world (a second load adds nothing), and an empty one.
pub fn files(world: &DemoData) -> Vec<Vec<u8>> {
    let others = generate(&Sizes {
        users: 3,
        personal_chats: 2,
        groups: 1,
        group_size: 2,
        messages_per_chat: 2,
        first_user: 100,
        seed: 2,
        ..Sizes::default()
    })
    .expect("valid sizes");
    [serde_json::to_vec(&others), serde_json::to_vec(world)]
        .into_iter()
        .map(|file| file.expect("demo data serialises"))
        .chain([b"{}".to_vec()])
        .collect()
}

/// The tokens of the target's dictionary (`fuzz/dict/`), which honggfuzz
/// and the short runs insert into inputs.
pub fn dictionary(name: &str) -> Vec<String> {
    let text = match name {
        "frames" => include_str!("../dict/frames.dict"),
        "rest" => include_str!("../dict/rest.dict"),
        "operations" => include_str!("../dict/operations.dict"),
        "sync_cursors" => include_str!("../dict/sync_cursors.dict"),
        "populate" => include_str!("../dict/populate.dict"),
        other => panic!("no target {other}"),
    };
    text.lines()
        .filter_map(|line| line.strip_prefix('"')?.strip_suffix('"'))
        .map(|token| token.replace("\\\"", "\"").replace("\\\\", "\\"))
        .collect()
}
