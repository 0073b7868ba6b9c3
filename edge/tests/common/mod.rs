//! Starts the real thing for a test: a fresh database, the core and the
//! edge on port 0, and WebSocket clients that speak the JSON protocol.
#![allow(dead_code)]

use chrono::Utc;
use core_service::demo_data::{
    DemoChat, DemoChatMember, DemoData, DemoGroup, DemoUser, DemoUserGroup, populate,
};
use core_service::state::{Limits, Settings};
use core_service::store::Store;
use core_service::testing::TestDatabase;
use edge::config::EdgeConfig;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

/// How long a test waits for a frame that should come.
pub const PATIENCE: Duration = Duration::from_secs(10);
/// How long a test listens to be sure a frame does not come.
pub const QUIET: Duration = Duration::from_millis(300);

/// A running core (on a fresh database) and edge.
pub struct Stack {
    pub db: TestDatabase,
    pub store: Store,
    pub core_address: SocketAddr,
    pub edge_address: SocketAddr,
    core: Option<Server>,
    /// A second core over the same database, when the stack has two.
    second_core: Option<Server>,
    /// A second edge using both cores, when the stack has two cores.
    pub second_edge_address: Option<SocketAddr>,
    second_edge: Option<Server>,
    edge: Server,
    settings: Settings,
}

/// A server task and the switch that stops it.
struct Server {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Server {
    /// Stops the server and waits for it, re-raising any panic inside it.
    async fn stop(self) {
        let _ = self.stop.send(true);
        let result = tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("server stopped in time");
        if let Err(error) = result {
            std::panic::resume_unwind(error.into_panic());
        }
    }
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

impl Stack {
    /// Core and edge with default limits.
    pub async fn start() -> Stack {
        Stack::start_with(Limits::default(), 64 * 1024).await
    }

    /// Core with `limits`, edge with a frame limit of `max_frame_bytes`.
    pub async fn start_with(limits: Limits, max_frame_bytes: usize) -> Stack {
        Stack::start_configured(limits, |config| config.max_frame_bytes = max_frame_bytes).await
    }

    /// Core with `limits`, edge configured by `configure`.
    pub async fn start_configured(
        settings: impl Into<Settings>,
        configure: impl FnOnce(&mut EdgeConfig),
    ) -> Stack {
        let db = TestDatabase::create().await;
        let settings = db.with_media(settings.into());
        let store = db.store();
        let core_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let core_address = core_listener.local_addr().unwrap();
        let core = start_core(store.clone(), settings.clone(), core_listener);
        let (edge, edge_address) = start_edge(core_address, configure).await;
        Stack {
            db,
            store,
            core_address,
            edge_address,
            core: Some(core),
            second_core: None,
            second_edge_address: None,
            second_edge: None,
            edge,
            settings,
        }
    }

    /// Two cores over one database, exchanging events over the machine's
    /// NATS (`NATS_URL`, else 127.0.0.1:4222) and sharing its Redis
    /// (`REDIS_URL`, else 127.0.0.1:6379), and two edges with both in
    /// `CORE_URLS`.
    pub async fn start_pair() -> Stack {
        let nats = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
        let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let settings = Settings {
            nats_url: Some(nats),
            redis_url: Some(redis),
            cluster_secret: Some(core_service::testing::cluster_secret()),
            // Test stacks share the NATS: a subject of their own each.
            nats_subject: format!("test.{}.events", Uuid::new_v4().simple()),
            ..Settings::default()
        };
        let db = TestDatabase::create().await;
        let settings = db.with_media(settings);
        let store = db.store();
        let mut addresses = Vec::new();
        let mut cores = Vec::new();
        for _ in 0..2 {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            addresses.push(listener.local_addr().unwrap());
            cores.push(start_core(store.clone(), settings.clone(), listener));
        }
        let urls: Vec<String> = addresses.iter().map(|a| format!("http://{a}")).collect();
        let second_urls = urls.clone();
        let (edge, edge_address) = start_edge(addresses[0], |config| config.core_urls = urls).await;
        let (second_edge, second_edge_address) = start_edge(addresses[0], |config| {
            config.core_urls = second_urls;
            config.edge_id = Some("second-edge".into());
        })
        .await;
        let second_core = cores.pop();
        Stack {
            db,
            store,
            core_address: addresses[0],
            edge_address,
            core: cores.pop(),
            second_core,
            second_edge_address: Some(second_edge_address),
            second_edge: Some(second_edge),
            edge,
            settings,
        }
    }

    /// The WebSocket URL of the edge.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.edge_address)
    }

    /// An HTTP URL of the edge.
    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.edge_address)
    }

    /// Stops the core (its sessions end), leaving the edge running.
    pub async fn stop_core(&mut self) {
        if let Some(core) = self.core.take() {
            core.stop().await;
        }
    }

    /// Starts the core again on the same address.
    pub async fn restart_core(&mut self) {
        let listener = TcpListener::bind(self.core_address).await.unwrap();
        self.core = Some(start_core(
            self.store.clone(),
            self.settings.clone(),
            listener,
        ));
    }

    /// Stops everything, re-raising server panics.
    pub async fn stop(mut self) {
        self.stop_core().await;
        if let Some(core) = self.second_core.take() {
            core.stop().await;
        }
        if let Some(edge) = self.second_edge.take() {
            edge.stop().await;
        }
        self.edge.stop().await;
    }

    /// Loads `world` into the database through the demo-data loader.
    pub async fn load(&self, world: &World) {
        populate::populate(&self.store, &world.data)
            .await
            .expect("world loads");
    }

    /// An OAuth access token of `user` (password grant).
    pub async fn access_token(&self, user: &DemoUser) -> String {
        let form = [
            ("grant_type", "password"),
            ("username", user.email.as_str()),
            ("password", user.password.as_str()),
        ];
        let (status, body) = token_request(self, &form).await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// `GET path` as `user`: status and JSON body.
    pub async fn get_as(&self, user: &DemoUser, path: &str) -> (u16, Value) {
        let token = self.access_token(user).await;
        get_json_as(&self.http_url(path), &token).await
    }

    /// The texts of `user`'s history of `chat` (its first page).
    pub async fn history_texts(&self, user: &DemoUser, chat: Uuid) -> Vec<String> {
        let (status, page) = self.get_as(user, &format!("/history/{chat}")).await;
        assert_eq!(status, 200, "{page}");
        let texts = page.as_array().expect("a page").iter();
        texts
            .map(|message| message["text"].as_str().expect("a text").to_owned())
            .collect()
    }

    /// A WebSocket client, not logged in.
    pub async fn connect(&self) -> Client {
        Client::connect(&self.ws_url()).await
    }

    /// A WebSocket client logged in as `user`.
    pub async fn login(&self, user: &DemoUser) -> Client {
        let mut client = self.connect().await;
        client.send(login_frame(user)).await;
        assert_eq!(
            client.recv().await,
            json!({"type": "auth_success", "detail": null})
        );
        client
    }
}

fn start_core(store: Store, mut settings: Settings, listener: TcpListener) -> Server {
    if settings.edges.secret.is_none() {
        settings.edges.secret = Some(core_service::testing::edge_secret());
    }
    let (stop, receiver) = watch::channel(false);
    let task = tokio::spawn(async move {
        core_service::serve(store, settings, listener, stopped(receiver))
            .await
            .expect("core serves");
    });
    Server { stop, task }
}

/// Starts an edge that talks to a core at `core_address`.
pub async fn start_edge_only(
    core_address: SocketAddr,
) -> (watch::Sender<bool>, JoinHandle<()>, SocketAddr) {
    let (server, address) = start_edge(core_address, |_| {}).await;
    (server.stop, server.task, address)
}

async fn start_edge(
    core_address: SocketAddr,
    configure: impl FnOnce(&mut EdgeConfig),
) -> (Server, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let mut config = EdgeConfig {
        listen: address,
        edge_metrics_listen: startup::MetricsListen(None),
        core_url: format!("http://{core_address}"),
        core_urls: Vec::new(),
        max_frame_bytes: 64 * 1024,
        max_connections: 100,
        ws_ping_interval_ms: 30_000,
        allowed_origins: vec!["https://chat.example.com".into()],
        allowed_hosts: Vec::new(),
        cookie_secure: None,
        edge_id: Some("test-edge".into()),
        ws_write_timeout_ms: 10_000,
        ws_queue: 1024,
        max_anonymous_connections: 5_000,
        ws_login_timeout_ms: 10_000,
        max_anonymous_connections_per_address: 256,
        max_connections_per_address: 10_000,
        max_upload_bytes: 25 * 1024 * 1024,
        max_http_connections: 4_096,
        http_header_timeout_ms: 10_000,
        http_request_timeout_ms: 30_000,
        tls_cert_file: None,
        tls_key_file: None,
        edge_secret: Some(core_service::testing::edge_secret()),
        otlp_endpoint: None,
    };
    configure(&mut config);
    let (stop, receiver) = watch::channel(false);
    let task = tokio::spawn(async move {
        edge::serve(&config, listener, stopped(receiver))
            .await
            .expect("edge serves");
    });
    (Server { stop, task }, address)
}

/// The login frame of a demo user.
pub fn login_frame(user: &DemoUser) -> Value {
    json!({"email": user.email, "password": user.password})
}

/// A send-message frame from `sender` to `chat_id`.
pub fn send_frame(sender: &DemoUser, chat_id: Uuid, text: &str) -> (Uuid, Value) {
    let client_id = Uuid::new_v4();
    let frame = json!({
        "client_id": client_id,
        "sender_id": sender.id,
        "chat_id": chat_id,
        "timestamp": "2025-05-04 04:45:50+00:00",
        "text": text,
    });
    (client_id, frame)
}

/// A WebSocket client of the edge.
pub struct Client {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        Client::connect_with(url, &[])
            .await
            .expect("WebSocket connects")
    }

    /// Connects from the local address `source` (e.g. 127.0.0.2: another
    /// client address as far as the edge can tell).
    pub async fn connect_from(url: &str, source: std::net::IpAddr) -> Client {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let address: SocketAddr = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(source, 0)).unwrap();
        let stream = socket.connect(address).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let request = url.into_client_request().unwrap();
        let (socket, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
            .await
            .unwrap();
        Client { socket }
    }

    /// Connects with extra request headers (cookies, origin, authorization).
    pub async fn connect_with(
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::http::HeaderName;
        let mut request = url.into_client_request()?;
        for (name, value) in headers {
            let name: HeaderName = name.parse().unwrap();
            request.headers_mut().insert(name, value.parse().unwrap());
        }
        // No Nagle delay on the client's large frames (as browsers do).
        let address = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (socket, _) =
            tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await?;
        Ok(Client { socket })
    }

    /// Sends one JSON frame.
    pub async fn send(&mut self, frame: Value) {
        self.send_text(&frame.to_string()).await;
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::text(text))
            .await
            .expect("frame sent");
    }

    /// Sends a raw WebSocket message.
    pub async fn send_message(&mut self, message: Message) {
        self.socket.send(message).await.expect("frame sent");
    }

    /// The next JSON frame; fails the test if none comes in time.
    pub async fn recv(&mut self) -> Value {
        let message = tokio::time::timeout(PATIENCE, self.next_data())
            .await
            .expect("a frame arrives in time")
            .expect("the connection is open");
        let text = message.into_text().expect("a text frame");
        let value: Value = serde_json::from_str(&text).expect("frames are JSON");
        assert!(
            value.is_object(),
            "every server frame is an object: {value}"
        );
        value
    }

    /// The next frame's `detail` after checking it is an error with `code`.
    pub async fn recv_error(&mut self, code: &str) -> Value {
        let frame = self.recv().await;
        assert_eq!(frame["type"], "error", "expected an error, got {frame}");
        assert_eq!(frame["detail"]["code"], code, "unexpected error {frame}");
        assert!(frame["detail"]["message"].is_string());
        frame["detail"].clone()
    }

    /// Fails the test if any frame arrives within [`QUIET`].
    pub async fn expect_silence(&mut self) {
        if let Ok(Some(message)) = tokio::time::timeout(QUIET, self.next_data()).await {
            panic!("expected no frame, got {message:?}");
        }
    }

    /// Waits for the server to close the connection; its close code and reason.
    pub async fn recv_close(&mut self) -> (u16, String) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .expect("the server closes in time");
            match next {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (u16::from(frame.code), frame.reason.to_string());
                }
                Some(Ok(Message::Close(None))) | None => return (1005, String::new()),
                Some(Ok(_)) => continue,
                Some(Err(error)) => panic!("connection failed instead of closing: {error}"),
            }
        }
    }

    /// Waits until the connection ends; the close code if a close frame
    /// arrived before the socket did (a reset connection has none).
    pub async fn wait_closed(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .expect("the connection ends in time");
            match next {
                Some(Ok(Message::Close(frame))) => return frame.map(|frame| u16::from(frame.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Every JSON frame that arrives until none has come for `quiet`.
    pub async fn drain_for(&mut self, quiet: Duration) -> Vec<Value> {
        let mut frames = vec![];
        while let Ok(Some(message)) = tokio::time::timeout(quiet, self.next_data()).await {
            let text = message.into_text().expect("a text frame");
            frames.push(serde_json::from_str(&text).expect("frames are JSON"));
        }
        frames
    }

    /// Every JSON frame until the connection ends (closed, reset or gone).
    pub async fn drain(&mut self) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut frames = vec![];
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .expect("the connection ends in time");
            match next {
                Some(Ok(Message::Text(text))) => {
                    frames.push(serde_json::from_str(&text).expect("frames are JSON"));
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return frames,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Sends raw text, ignoring failure (the server may hang up meanwhile).
    pub async fn try_send_text(&mut self, text: &str) {
        let _ = self.socket.send(Message::text(text)).await;
    }

    /// Closes the connection from the client side.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }

    async fn next_data(&mut self) -> Option<Message> {
        loop {
            match self.socket.next().await? {
                Ok(message) if message.is_text() || message.is_binary() => return Some(message),
                Ok(Message::Close(frame)) => panic!("connection closed: {frame:?}"),
                Ok(_) => continue,
                Err(error) => panic!("connection failed: {error}"),
            }
        }
    }
}

/// A small world: five users; a personal chat of users 0 and 1; a group
/// chat of users 0, 1 and 2; user 3 in no chat with them; user 4 alone in
/// a personal chat with user 3.
pub struct World {
    pub data: DemoData,
    pub users: Vec<DemoUser>,
    pub personal_chat: Uuid,
    pub group_chat: Uuid,
    pub other_chat: Uuid,
}

impl World {
    pub fn new() -> World {
        let users: Vec<DemoUser> = (0..5)
            .map(|n| DemoUser {
                id: Uuid::new_v4(),
                name: format!("User {n}"),
                email: format!("user{n}.{}@example.com", Uuid::new_v4().simple()),
                password: format!("password-{n}!"),
            })
            .collect();
        let (personal_chat, group_chat, other_chat) =
            (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let chat = |id, name: &str, kind| DemoChat {
            id,
            name: name.into(),
            kind,
        };
        let member = |user: usize, chat_id| DemoChatMember {
            user_id: users[user].id,
            chat_id,
        };
        let group_id = Uuid::new_v4();
        let data = DemoData {
            users: users.clone(),
            chats: vec![
                chat(personal_chat, "0 & 1", 0),
                chat(group_chat, "Group", 1),
                chat(other_chat, "3 & 4", 0),
            ],
            chat_members: vec![
                member(0, personal_chat),
                member(1, personal_chat),
                member(0, group_chat),
                member(1, group_chat),
                member(2, group_chat),
                member(3, other_chat),
                member(4, other_chat),
            ],
            groups: vec![DemoGroup {
                id: group_id,
                name: "Group".into(),
                creator_id: users[0].id,
                chat_id: group_chat,
            }],
            user_group: (0..3)
                .map(|n| DemoUserGroup {
                    user_id: users[n].id,
                    group_id,
                })
                .collect(),
            ..DemoData::default()
        };
        World {
            data,
            users,
            personal_chat,
            group_chat,
            other_chat,
        }
    }
}

/// A loaded world on a running stack.
pub async fn stack_with_world() -> (Stack, World) {
    let stack = Stack::start().await;
    let world = World::new();
    stack.load(&world).await;
    (stack, world)
}

/// Fetches a URL; the status and the JSON body.
pub async fn get_json(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.expect("HTTP request");
    let status = response.status().as_u16();
    let body = response.json().await.expect("JSON body");
    (status, body)
}

/// Fetches a URL with a bearer token; the status and the JSON body.
pub async fn get_json_as(url: &str, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("HTTP request");
    let status = response.status().as_u16();
    let body = response.json().await.expect("JSON body");
    (status, body)
}

/// The token endpoint's answer to `form`: status and JSON body.
pub async fn token_request(stack: &Stack, form: &[(&str, &str)]) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(stack.http_url("/oauth/token"))
        .form(form)
        .send()
        .await
        .expect("HTTP request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

/// `POST path` with a JSON body and extra headers; status, headers, JSON body
/// (`Null` when there is none).
pub async fn post_json(
    stack: &Stack,
    path: &str,
    body: Value,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = reqwest::Client::new()
        .post(stack.http_url(path))
        .json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("HTTP request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("JSON body")
    };
    (status, headers, body)
}

/// `GET path` with extra headers; status and JSON body (`Null` if none).
pub async fn get_with(stack: &Stack, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(stack.http_url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("HTTP request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Logs in through `POST /auth/login`; the `name=value` of the session cookie.
pub async fn cookie_login(stack: &Stack, user: &DemoUser) -> String {
    let body = json!({"email": user.email, "password": user.password});
    let (status, headers, _) = post_json(stack, "/auth/login", body, &[]).await;
    assert_eq!(status, 200);
    let cookie = headers["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

/// Now, for assertions that a server timestamp is the server's clock.
pub fn now() -> chrono::DateTime<Utc> {
    Utc::now()
}
