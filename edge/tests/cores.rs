//! An edge with several cores (`CORE_URLS`): new WebSockets go to each in
//! turn, messages cross between them, and a core that stopped is left out.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Stack, World, send_frame};
use std::time::Duration;

/// Open connections per core, as the connection history has them.
async fn cores_serving(stack: &Stack) -> i64 {
    let sql = "SELECT count(DISTINCT core_id) FROM connections WHERE ended_at IS NULL";
    stack.db.count(sql).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_are_spread_over_the_cores_and_a_stopped_core_is_left_out() {
    let mut stack = Stack::start_pair().await;
    let world = World::new();
    stack.load(&world).await;
    let (alice, bob) = (&world.users[0], &world.users[1]);
    let mut on_first = stack.login(alice).await;
    let mut on_second = stack.login(bob).await;
    assert_eq!(cores_serving(&stack).await, 2, "one socket on each core");

    let (_, frame) = send_frame(alice, world.personal_chat, "across");
    on_first.send(frame).await;
    assert_eq!(on_first.recv().await["type"], "message_ack");
    let delivered = on_second.recv().await;
    assert_eq!(delivered["text"], "across", "{delivered}");

    // The first core stops: the socket it served is closed as documented,
    // and every new socket and REST call goes to the other.
    stack.stop_core().await;
    let first_closed = tokio::time::timeout(Duration::from_secs(3), on_first.recv_close()).await;
    let (gone, mut survivor) = match first_closed {
        Ok((code, _)) => {
            assert_eq!(code, 1012);
            (alice, on_second)
        }
        Err(_) => {
            assert_eq!(on_second.recv_close().await.0, 1012);
            (bob, on_first)
        }
    };
    for _ in 0..3 {
        let mut again = stack.login(gone).await;
        let (_, frame) = send_frame(gone, world.personal_chat, "still here");
        again.send(frame).await;
        assert_eq!(again.recv().await["type"], "message_ack");
        assert_eq!(survivor.recv().await["text"], "still here");
        let (status, _) = stack.get_as(gone, "/me").await;
        assert_eq!(status, 200);
    }
    assert_eq!(cores_serving(&stack).await, 1);
    stack.stop().await;
}
