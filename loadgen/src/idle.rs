//! `idle`: many logged-in connections doing nothing, and what they cost the
//! server in memory.

use crate::client::Socket;
use crate::connections::Connection;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// Keeps one connection open, reading from it (so that the server's pings
/// get their pongs: a large run takes minutes to open every connection, far
/// longer than the server waits for a pong) until `stop` is set. The task
/// answers true if the connection was still open then.
pub fn keep(connection: Connection, stop: watch::Receiver<bool>) -> JoinHandle<bool> {
    tokio::spawn(read_until(connection.socket, stop))
}

/// How many of the kept connections were still open when told to stop.
pub async fn still_open(kept: Vec<JoinHandle<bool>>) -> usize {
    let mut open = 0;
    for task in kept {
        if task.await.unwrap_or(false) {
            open += 1;
        }
    }
    open
}

async fn read_until(mut socket: Socket, mut stop: watch::Receiver<bool>) -> bool {
    let reading = async { while let Some(Ok(_)) = socket.next().await {} };
    let lasted = tokio::select! {
        () = reading => false,
        _ = stop.wait_for(|stop| *stop) => true,
    };
    let _ = socket.send(Message::Close(None)).await;
    lasted
}
