//! A real core on a throw-away database, with one session logged in as a
//! demo user: the targets decode protobuf bytes as the core's transport
//! does and hand the operations to `commands::dispatch`, as a session's
//! task does.

use core_service::commands::{SessionState, dispatch};
use core_service::demo_data::populate;
use core_service::sessions::{CloseSwitch, Outbox};
use core_service::state::{Core, Settings};
use core_service::store::connections::ConnectionOrigin;
use core_service::testing::TestDatabase;
use demo_data::DemoData;
use demo_data::generate::{Sizes, generate};
use messenger_proto::SharedEvent;
use messenger_proto::v1::link_signal::Signal;
use messenger_proto::v1::server_event::Event;
use messenger_proto::v1::{ClientOperation, LinkSignal, ServerEvent};
use prost::Message;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, watch};

/// Longer than any operation takes: beyond it, the operation hangs.
const PATIENCE: Duration = Duration::from_secs(20);
/// Events one session may have queued (as a `Session` stream's queue).
const QUEUE: usize = 4096;

/// The world every harness starts from: a few users, personal chats and
/// groups, with messages. The same every time (its seed is fixed), so the
/// seeds' ids are the world's.
pub fn world() -> DemoData {
    let sizes = Sizes {
        users: 6,
        personal_chats: 4,
        groups: 2,
        group_size: 3,
        messages_per_chat: 5,
        ..Sizes::default()
    };
    generate(&sizes).expect("valid sizes")
}

/// A core and a logged-in session over a database of its own.
pub struct Harness {
    // Dropped in order: the session and the core before the database.
    session: SessionState,
    events: mpsc::Receiver<SharedEvent>,
    core: Arc<Core>,
    _stop: watch::Sender<bool>,
    db: TestDatabase,
    pub world: DemoData,
    /// Operations dispatched, and the events they were answered with, so
    /// far: a short run checks that its inputs got past decoding.
    pub dispatched: usize,
    pub answers: usize,
    runtime: Runtime,
}

impl Harness {
    /// Creates the database, loads [`world`] and logs its first user in.
    pub fn start() -> Harness {
        let runtime = Runtime::new().expect("a runtime");
        let world = world();
        let (db, core, stop) = runtime.block_on(async {
            let db = TestDatabase::create().await;
            populate::populate(&db.store(), &world)
                .await
                .expect("the world loads");
            let core = Arc::new(Core::new(db.store(), Settings::default()).expect("no Redis"));
            let (stop, shutdown) = watch::channel(false);
            core_service::cores::start(core.clone(), shutdown).await;
            (db, core, stop)
        });
        let (session, events) = runtime.block_on(open_session(&core, &world));
        Harness {
            session,
            events,
            core,
            _stop: stop,
            db,
            world,
            dispatched: 0,
            answers: 0,
            runtime,
        }
    }

    /// The database, for checks of what is stored.
    pub fn db(&self) -> &TestDatabase {
        &self.db
    }

    /// Runs `future` on the harness's runtime.
    pub fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        self.runtime.block_on(future)
    }

    /// Any bytes as a `LinkSignal` (an edge's) and as a `ClientOperation`
    /// (a `Session` stream's): what decodes is dispatched.
    pub fn operations(&mut self, data: &[u8]) {
        if let Ok(signal) = LinkSignal::decode(data)
            && let Some(Signal::Operation(operation)) = signal.signal
            && let Some(operation) = operation.operation
        {
            self.dispatch(operation);
        }
        if let Ok(operation) = ClientOperation::decode(data) {
            self.dispatch(operation);
        }
    }

    /// Any bytes as the cursor of a client's `sync` frame, through the
    /// edge's parser and translator to the core: the answer ends with
    /// `sync_done`, or is one error.
    pub fn sync_cursor(&mut self, data: &[u8]) {
        let Ok(cursor) = serde_json::from_slice::<serde_json::Value>(data) else {
            return;
        };
        let frame = serde_json::json!({"type": "sync", "since": cursor}).to_string();
        let Ok(frame) = edge::ws::frames::parse(&frame) else {
            return;
        };
        let events = self.dispatch(edge::ws::translate::operation(frame));
        match events.last() {
            Some(Event::SyncDone(_)) => {}
            Some(Event::Error(_)) => assert_eq!(events.len(), 1, "{events:?}"),
            other => panic!("sync ended with {other:?}"),
        }
    }

    /// Dispatches `operation` on the session (logged in again first if an
    /// earlier input logged it out or ended it); the events it queued.
    pub fn dispatch(&mut self, operation: ClientOperation) -> Vec<Event> {
        if self.session.user.is_none() || self.session.outbox.closed_reason().is_some() {
            let (session, events) = self.runtime.block_on(open_session(&self.core, &self.world));
            self.session = session;
            self.events = events;
        }
        let (core, session) = (&self.core, &mut self.session);
        self.runtime.block_on(async {
            tokio::time::timeout(PATIENCE, dispatch(core, session, operation))
                .await
                .expect("an operation finishes");
        });
        let mut events = Vec::new();
        while let Ok(event) = self.events.try_recv() {
            let event: ServerEvent = event.into_event().expect("the core's events decode");
            events.extend(event.event);
        }
        self.dispatched += 1;
        self.answers += events.len();
        events
    }
}

/// A session logged in as the world's first user, and its event queue,
/// emptied of the login's own answer (so that an input's events are its
/// own).
async fn open_session(
    core: &Core,
    world: &DemoData,
) -> (SessionState, mpsc::Receiver<SharedEvent>) {
    let (events, mut queue) = mpsc::channel(QUEUE);
    let (switch, _closed) = CloseSwitch::channel();
    let outbox = Arc::new(Outbox::new(events, switch, None));
    let mut session = SessionState::new(
        core.live.sessions.new_session_id(),
        outbox,
        ConnectionOrigin::default(),
    );
    let user = core
        .accounts
        .store
        .user_by_email(
            &core_service::email::Email::normalize(&world.users[0].email).expect("a demo email"),
        )
        .await
        .expect("the database answers")
        .expect("the world's first user");
    session
        .log_in(&core.chats, &core.accounts, &core.live, &user)
        .await
        .expect("a login");
    while queue.try_recv().is_ok() {}
    (session, queue)
}
