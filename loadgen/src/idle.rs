//! `idle`: many logged-in connections doing nothing, and what they cost the
//! server in memory.

use crate::client::Socket;
use crate::connections::Connection;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Holds the connections for `hold`, answering nothing (the server's pings
/// are answered by the WebSocket layer as frames are read). Returns how many
/// were still open at the end.
pub async fn hold(connections: Vec<Connection>, hold: Duration) -> usize {
    let tasks: Vec<_> = connections
        .into_iter()
        .map(|connection| tokio::spawn(keep(connection.socket, hold)))
        .collect();
    let mut open = 0;
    for task in tasks {
        if task.await.unwrap_or(false) {
            open += 1;
        }
    }
    open
}

/// Reads (so pings get their pongs) until `hold` is over; true if the
/// connection lasted.
async fn keep(mut socket: Socket, hold: Duration) -> bool {
    let lasted = tokio::time::timeout(hold, async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await
    .is_err();
    let _ = socket.send(Message::Close(None)).await;
    lasted
}
