//! The link's unit tests: sessions, windows, credit, cuts and caps.

use super::*;
use crate::sessions::registry::Outbox;

const CAPS: SessionCaps = SessionCaps {
    sessions: 16,
    anonymous: 4,
};

fn link() -> (Arc<Link>, Deliveries) {
    paced_link(None)
}

fn paced_link(credit_window: Option<u32>) -> (Arc<Link>, Deliveries) {
    let (deliveries, received) = mpsc::channel(16);
    let link = Link::new(LinkId::random(), None, deliveries, CAPS, credit_window);
    (Arc::new(link), Deliveries(received))
}

/// The far end of a link's queue, as its stream reads it.
struct Deliveries(mpsc::Receiver<Queued>);

impl Deliveries {
    fn try_recv(&mut self) -> Result<LinkDelivery, mpsc::error::TryRecvError> {
        self.0.try_recv().map(|queued| queued.delivery)
    }
}

#[test]
fn operations_beyond_the_window_close_only_that_session() {
    let (link, _deliveries) = link();
    let (flooded_switch, mut closed) = CloseSwitch::channel();
    let mut flooded = link.add(SessionNumber(1), flooded_switch, false).unwrap();
    let (calm_switch, mut calm_closed) = CloseSwitch::channel();
    let mut calm = link.add(SessionNumber(2), calm_switch, false).unwrap();

    for _ in 0..LINK_OPERATION_WINDOW {
        link.operation(SessionNumber(1), Box::default());
    }
    assert!(closed.try_recv().is_err(), "within the window");
    link.operation(SessionNumber(1), Box::default());
    assert_eq!(closed.try_recv(), Ok(EndReason::SlowConsumer));

    link.operation(SessionNumber(2), Box::default());
    assert!(calm.try_recv().is_some());
    assert!(calm_closed.try_recv().is_err());
    let queued = std::iter::from_fn(|| flooded.try_recv()).count();
    assert_eq!(queued as u32, LINK_OPERATION_WINDOW);
}

/// The session's outbox is dropped (its task ended) on one thread while
/// the edge sends past the window on another. The link used to hold the
/// outbox itself: closing it from under the link's lock could drop the
/// last reference there, and the outbox's drop took the same lock again.
#[test]
fn a_session_that_ends_while_its_edge_sends_past_the_window_does_not_hang() {
    let (finished, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for round in (0..500).map(SessionNumber) {
            let (link, _deliveries) = link();
            let (switch, _closed) = CloseSwitch::channel();
            let _operations = link.add(round, switch.clone(), false).unwrap();
            let outbox = Outbox::over_link(link.clone(), round, switch, None);
            let ending = std::thread::spawn(move || drop(outbox));
            for _ in 0..=LINK_OPERATION_WINDOW {
                link.operation(round, Box::default());
            }
            ending.join().unwrap();
            let (again, _) = CloseSwitch::channel();
            assert!(
                link.add(round, again, false).is_ok(),
                "the ended session is forgotten"
            );
        }
        finished.send(()).unwrap();
    });
    done.recv_timeout(std::time::Duration::from_secs(60))
        .expect("every round finishes");
}

/// An edge that floods a session before the core has started it (its
/// token still being checked) gets it closed, not silently dropped.
#[test]
fn a_session_flooded_while_starting_is_closed() {
    let (link, _deliveries) = link();
    let (switch, mut closed) = CloseSwitch::channel();
    let _operations = link.add(SessionNumber(6), switch.clone(), false).unwrap();
    for _ in 0..=LINK_OPERATION_WINDOW {
        link.operation(SessionNumber(6), Box::default());
    }
    assert_eq!(closed.try_recv(), Ok(EndReason::SlowConsumer));
    let outbox = Outbox::over_link(link.clone(), SessionNumber(6), switch, None);
    assert_eq!(outbox.closed_reason(), Some(EndReason::SlowConsumer));
}

#[test]
fn a_session_whose_outbox_is_gone_is_forgotten_by_its_link() {
    let (link, _deliveries) = link();
    let (switch, _closed) = CloseSwitch::channel();
    let mut operations = link.add(SessionNumber(8), switch.clone(), false).unwrap();
    drop(Outbox::over_link(
        link.clone(),
        SessionNumber(8),
        switch,
        None,
    ));
    link.operation(SessionNumber(8), Box::default());
    assert!(futures_util::FutureExt::now_or_never(operations.recv()) == Some(None));
    let (again, _) = CloseSwitch::channel();
    assert!(
        link.add(SessionNumber(8), again, false).is_ok(),
        "the number is free again"
    );
}

#[test]
fn a_number_in_use_or_a_closed_link_starts_no_session() {
    let (link, _deliveries) = link();
    let (first, mut closed) = CloseSwitch::channel();
    let mut operations = link.add(SessionNumber(4), first, false).unwrap();
    assert!(
        link.add(SessionNumber(4), CloseSwitch::channel().0, false)
            .err()
            == Some(Refusal::NumberInUse),
        "number in use"
    );
    link.close(EndReason::ServerShutdown);
    assert_eq!(closed.try_recv(), Ok(EndReason::ServerShutdown));
    assert!(
        link.add(SessionNumber(5), CloseSwitch::channel().0, false)
            .err()
            == Some(Refusal::Closed),
        "link closed"
    );
    // The session's queue ended with the link.
    assert!(futures_util::FutureExt::now_or_never(operations.recv()) == Some(None));
}

#[test]
fn a_client_that_leaves_ends_its_queue_after_what_it_sent() {
    let (link, _deliveries) = link();
    let mut operations = link
        .add(SessionNumber(3), CloseSwitch::channel().0, false)
        .unwrap();
    link.operation(SessionNumber(3), Box::default());
    link.detach(SessionNumber(3));
    link.operation(SessionNumber(3), Box::default());
    assert!(operations.try_recv().is_some());
    assert!(futures_util::FutureExt::now_or_never(operations.recv()) == Some(None));
}

#[test]
fn an_event_too_large_for_the_link_ends_only_its_sessions() {
    let (link, mut deliveries) = link();
    let (switch, mut closed) = CloseSwitch::channel();
    let _operations = link.add(SessionNumber(1), switch, false).unwrap();
    let (calm_switch, mut calm_closed) = CloseSwitch::channel();
    let _calm = link.add(SessionNumber(2), calm_switch, false).unwrap();
    let huge = messenger_proto::v1::ServerEvent {
        event: Some(messenger_proto::v1::server_event::Event::Message(
            messenger_proto::v1::Message {
                text: "x".repeat(MAX_DELIVERY_BYTES),
                ..Default::default()
            },
        )),
    };
    link.deliver(vec![SessionNumber(1)], SharedEvent::encode_once(&huge));
    assert_eq!(closed.try_recv(), Ok(EndReason::Error));
    assert!(deliveries.try_recv().is_err(), "nothing sent");
    assert!(calm_closed.try_recv().is_err());
    assert!(!link.is_closed());
}

fn event(text: &str) -> SharedEvent {
    let event = messenger_proto::v1::ServerEvent {
        event: Some(messenger_proto::v1::server_event::Event::Message(
            messenger_proto::v1::Message {
                text: text.into(),
                ..Default::default()
            },
        )),
    };
    SharedEvent::encode_once(&event)
}

fn text(delivery: &LinkDelivery) -> String {
    let event = delivery.event.clone().unwrap().into_event().unwrap();
    match event.event {
        Some(messenger_proto::v1::server_event::Event::Message(message)) => message.text,
        other => panic!("not a message: {other:?}"),
    }
}

#[test]
fn a_full_link_queue_cuts_off_only_the_sessions_of_the_event_it_drops() {
    let (link, mut deliveries) = link();
    let mut closed = Vec::new();
    for number in 1..=4 {
        let (switch, receiver) = CloseSwitch::channel();
        let _operations = link.add(SessionNumber(number), switch, false).unwrap();
        closed.push(receiver);
    }
    for _ in 0..16 {
        link.deliver(vec![SessionNumber(3)], event("filler"));
    }
    link.deliver(vec![SessionNumber(1), SessionNumber(2)], event("missed"));
    assert_eq!(closed[0].try_recv(), Ok(EndReason::SlowConsumer));
    assert_eq!(closed[1].try_recv(), Ok(EndReason::SlowConsumer));
    assert!(closed[2].try_recv().is_err() && closed[3].try_recv().is_err());
    assert!(!link.is_closed(), "two of four cut: the link stays");

    // Room again: nothing more for the sessions cut off, not even a
    // reply of their own; the others go on.
    deliveries.try_recv().unwrap();
    link.deliver(vec![SessionNumber(1), SessionNumber(3)], event("later"));
    let reply = |session| {
        let replied = link.reply(SessionNumber(session), event("reply"), 0);
        futures_util::FutureExt::now_or_never(replied).unwrap()
    };
    for _ in 0..15 {
        assert_eq!(text(&deliveries.try_recv().unwrap()), "filler");
    }
    let later = deliveries.try_recv().unwrap();
    assert_eq!(
        (later.sessions.as_slice(), text(&later).as_str()),
        ([3].as_slice(), "later")
    );
    assert!(!reply(2), "cut off");
    assert!(reply(4));
    assert_eq!(deliveries.try_recv().unwrap().sessions, [4]);

    // A third session cut: most are, the edge is not reading at all.
    for _ in 0..16 {
        link.deliver(vec![SessionNumber(4)], event("filler"));
    }
    link.deliver(vec![SessionNumber(3)], event("missed"));
    assert!(link.is_closed());
}

/// A paced reply of session 1 of `link`, sent now or `None` if it waits.
fn paced(link: &Link, switch: &CloseSwitch, text: &str) -> Option<bool> {
    let reply = link.paced_reply(SessionNumber(1), event(text), 0, switch);
    futures_util::FutureExt::now_or_never(reply)
}

#[test]
fn a_catch_up_goes_no_further_ahead_of_its_socket_than_the_credit() {
    let (link, mut deliveries) = paced_link(Some(2));
    let (switch, _closed) = CloseSwitch::channel();
    let _operations = link.add(SessionNumber(1), switch.clone(), false).unwrap();
    assert_eq!(paced(&link, &switch, "1"), Some(true));
    assert_eq!(paced(&link, &switch, "2"), Some(true));
    assert_eq!(paced(&link, &switch, "3"), None, "the window is spent");
    let first = deliveries.try_recv().unwrap();
    assert!(first.paced);
    assert!(
        paced(&link, &switch, "3").is_none(),
        "queue read, no credit"
    );
    link.credit(SessionNumber(1), 1_000);
    assert_eq!(paced(&link, &switch, "3"), Some(true));
    assert_eq!(paced(&link, &switch, "4"), Some(true));
    assert_eq!(
        paced(&link, &switch, "5"),
        None,
        "credit beyond the window is not kept"
    );
    // Other replies do not wait for credit.
    let reply = link.reply(SessionNumber(1), event("reply"), 0);
    assert_eq!(futures_util::FutureExt::now_or_never(reply), Some(true));
    let texts: Vec<_> = std::iter::from_fn(|| deliveries.try_recv().ok())
        .map(|delivery| (text(&delivery), delivery.paced))
        .collect();
    let expected = [("2", true), ("3", true), ("4", true), ("reply", false)];
    let expected = expected.map(|(text, paced)| (text.to_owned(), paced));
    assert_eq!(texts, expected);
}

#[tokio::test]
async fn a_catch_up_waiting_for_credit_ends_with_its_session() {
    let (link, _deliveries) = paced_link(Some(1));
    let (switch, _closed) = CloseSwitch::channel();
    let _operations = link.add(SessionNumber(1), switch.clone(), false).unwrap();
    assert_eq!(paced(&link, &switch, "1"), Some(true));
    let waiting = {
        let (link, switch) = (link.clone(), switch.clone());
        tokio::spawn(async move {
            link.paced_reply(SessionNumber(1), event("2"), 0, &switch)
                .await
        })
    };
    tokio::task::yield_now().await;
    switch.close(EndReason::LoggedOut);
    assert!(!waiting.await.unwrap(), "closed by the core");

    // And when the client hangs up (the edge closes the session).
    let (switch, _closed) = CloseSwitch::channel();
    let _operations = link.add(SessionNumber(2), switch.clone(), false).unwrap();
    let reply = |text| link.paced_reply(SessionNumber(2), event(text), 0, &switch);
    assert_eq!(
        futures_util::FutureExt::now_or_never(reply("1")),
        Some(true)
    );
    let waiting = reply("2");
    tokio::pin!(waiting);
    assert!(futures_util::poll!(&mut waiting).is_pending());
    link.detach(SessionNumber(2));
    assert!(!waiting.await);
}

#[test]
fn replies_hold_at_most_a_quarter_of_the_link_queue() {
    let (link, mut deliveries) = link();
    let _operations = link
        .add(SessionNumber(1), CloseSwitch::channel().0, false)
        .unwrap();
    let reply = || {
        let replied = link.reply(SessionNumber(1), event("reply"), 0);
        futures_util::FutureExt::now_or_never(replied)
    };
    for _ in 0..4 {
        assert_eq!(reply(), Some(true));
    }
    assert_eq!(reply(), None, "a quarter of 16 is taken");
    for _ in 0..12 {
        link.deliver(vec![SessionNumber(1)], event("live"));
    }
    assert!(
        !link.lock().is_cut(SessionNumber(1)),
        "room for live events"
    );
    deliveries.try_recv().unwrap();
    assert_eq!(reply(), Some(true), "a reply that left frees its place");
}

#[test]
fn a_link_holds_at_most_its_caps_of_sessions() {
    let (link, _deliveries) = link();
    let add = |number, anonymous| {
        link.add(SessionNumber(number), CloseSwitch::channel().0, anonymous)
            .err()
    };
    let mut kept = Vec::new();
    for number in 0..CAPS.anonymous as u64 {
        assert_eq!(add(number, true), None);
        kept.push(number);
    }
    assert_eq!(add(100, true), Some(Refusal::Full), "anonymous cap");
    link.logged_in(SessionNumber(0));
    assert_eq!(add(100, true), None, "a login frees an anonymous place");
    link.detach(SessionNumber(1));
    assert_eq!(add(101, true), None, "so does a session that ends");
    assert_eq!(add(102, true), Some(Refusal::Full));
    for number in 200..(200 + CAPS.sessions as u64 - CAPS.anonymous as u64 - 1) {
        assert_eq!(add(number, false), None);
    }
    assert_eq!(add(300, false), Some(Refusal::Full), "session cap");
}
