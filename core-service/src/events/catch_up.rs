//! Reading from the database what a chat's line misses.
//!
//! Three reads, each answered on its own task so that one slow chat holds
//! up no other:
//! - a line's start: the chat's messages of the last [`LOOK_BACK`] before
//!   its first arrival, since an event of one of them may still be on its
//!   way (two cores' events can cross) or lost;
//! - a gap: a message arrived ahead of one that has not, [`GRACE`] ago;
//! - a lost tail: once a second, the last seq of every chat with a line is
//!   read (one query), and a line still behind what the previous check saw
//!   reads the rest. This is what finds the message whose core died
//!   between its commit and its event, when no later message shows the
//!   gap: the dead core cannot say so, but the database can.

use crate::error::Result;
use crate::ids::ChatId;
use crate::lines::{Arrival, IDLE, Missing, Request};
use crate::membership::Members;
use crate::state::{Chats, Core, Live};
use crate::store::records::MessageRecord;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How far back a line's start looks for messages it may not have had.
const LOOK_BACK: Duration = Duration::from_secs(2);
/// How long a gap may stay open before it is read: events of two cores
/// cross by far less than this.
const GRACE: Duration = Duration::from_millis(100);
/// How often the lines' tails are checked.
const TAIL_CHECK: Duration = Duration::from_secs(1);
/// How long a failed read waits before it is tried again.
const RETRY: Duration = Duration::from_secs(1);
/// Most messages one gap read takes; a longer gap takes several.
const PAGE: i64 = 500;

/// Starts the two tasks: one that answers the lines' requests, one that
/// checks their tails.
pub async fn start(core: Arc<Core>, shutdown: watch::Receiver<bool>) {
    let Some(requests) = core.live.order.requests() else {
        return;
    };
    // A line never reads back past the moment this core began to listen:
    // what was stored before, its sessions read at login.
    let since = match core.chats.store.now().await {
        Ok(now) => now,
        Err(error) => {
            error.log();
            Utc::now()
        }
    };
    tokio::spawn(answer(core.clone(), requests, since, shutdown.clone()));
    tokio::spawn(check_tails(core, shutdown));
}

async fn answer(
    core: Arc<Core>,
    mut requests: mpsc::UnboundedReceiver<Request>,
    since: DateTime<Utc>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let request = tokio::select! {
            request = requests.recv() => request,
            _ = shutdown.wait_for(|stopping| *stopping) => None,
        };
        let Some(request) = request else { return };
        tokio::spawn(read(core.clone(), request, since));
    }
}

async fn read(core: Arc<Core>, request: Request, since: DateTime<Utc>) {
    let (chat, result) = match request {
        Request::Start(chat) => (chat, start_line(&core.chats, &core.live, chat, since).await),
        Request::Gap(chat) => {
            tokio::time::sleep(GRACE).await;
            (chat, fill(&core.chats, &core.live, chat).await)
        }
    };
    if let Err(error) = result {
        error.log();
        tokio::time::sleep(RETRY).await;
        core.live.order.retry(chat);
    }
}

async fn start_line(chats: &Chats, live: &Live, chat: ChatId, since: DateTime<Utc>) -> Result<()> {
    let Some(first) = live.order.first_waiting(chat) else {
        return Ok(());
    };
    let members = chats.membership.members(&chats.store, chat).await?;
    let recent = chats
        .store
        .recent_before(chat, first, LOOK_BACK, since)
        .await?;
    let arrivals = read_arrivals(chats, recent, &members).await;
    live.order.start(chat, arrivals, &mut |arrival| {
        super::fanout::deliver(chats, live, arrival)
    });
    Ok(())
}

async fn fill(chats: &Chats, live: &Live, chat: ChatId) -> Result<()> {
    let Some(Missing { first, last }) = live.order.missing(chat) else {
        return Ok(());
    };
    let members = chats.membership.members(&chats.store, chat).await?;
    let last = last.min(first + PAGE - 1);
    let read = chats.store.seq_range(chat, first, last).await?;
    tracing::debug!(%chat, first, last, read = read.len(), "filled a gap");
    let arrivals = read_arrivals(chats, read, &members).await;
    live.order.filled(chat, arrivals, &mut |arrival| {
        super::fanout::deliver(chats, live, arrival)
    });
    Ok(())
}

/// Messages read from the database, for their chat's line (each for the
/// members who do not block its sender): no session of this core is known
/// to have sent them (see `ChatOrder::sending`).
async fn read_arrivals(
    chats: &Chats,
    records: Vec<MessageRecord>,
    members: &Members,
) -> Vec<Arrival> {
    let mut arrivals = Vec::with_capacity(records.len());
    for record in records {
        let audience = super::fanout::audience(chats, record.sender_id, members.clone()).await;
        arrivals.push(super::fanout::arrival(record, audience, None));
    }
    arrivals
}

/// Once a second: drops idle lines and compares the others with the
/// database's last seq of their chat.
async fn check_tails(core: Arc<Core>, mut shutdown: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(TAIL_CHECK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        }
        let order = &core.live.order;
        order.forget_idle(Instant::now() - IDLE);
        let started = order.started();
        if started.is_empty() {
            continue;
        }
        match core.chats.store.last_seqs(&started).await {
            Ok(lasts) => {
                for (chat, last) in lasts {
                    order.tail(chat, last);
                }
            }
            Err(error) => error.log(),
        }
    }
}
