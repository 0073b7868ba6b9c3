// The one WebSocket: connecting and reconnecting, catching up with
// `sync`, and what each server frame does to the page.

import { $ } from "./dom.js";
import { state, saveLocal, messagesOf } from "./state.js";
import { loadChats, learnContact } from "./chats.js";
import { received, replaceMessage, markRead, advanceCursor, sortMessages, loadNewest } from "./messages.js";
import { refresh, renderChats, renderStatus, setStatus, setConnection } from "./render.js";
import { closeChat, showLogin } from "./views.js";
import { redrawDetails, closeDetails, detailsError } from "./details.js";
import { blockChanged } from "./blocks.js";

const RETRY_MAX_MS = 15000;
const OFFLINE = "Offline: what you send goes when you are back online";
// What a request that cannot wait for the connection (a new group, an
// edit, a block…) says while there is none.
export const TRY_LATER = "You are offline: try again when the connection is back";

export function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  state.socket = socket;
  state.synced = false;
  setConnection(state.refused ?? (navigator.onLine ? "Connecting…" : OFFLINE));
  socket.onmessage = (event) => handle(JSON.parse(event.data));
  socket.onclose = (event) => closed(socket, event.code);
}

function closed(socket, code) {
  if (state.socket !== socket) return;
  state.socket = null;
  state.synced = false;
  if (state.loggingOut || !state.me) return;
  if (code === 4001 || code === 4002) return showLogin("Your session ended: log in again.");
  const again = () => setTimeout(connect, state.retryMs);
  if (navigator.onLine) {
    setConnection(state.refused ?? "Connection lost: reconnecting…");
    again();
  } else {
    setConnection(OFFLINE);
    window.addEventListener("online", again, { once: true });
  }
  state.retryMs = Math.min(state.retryMs * 2, RETRY_MAX_MS);
}

// The browser knows it is offline before the socket does (a dead link
// may look open for a minute): say so at once and reconnect once back.
export function watchNetwork() {
  window.addEventListener("offline", () => {
    if (!state.me) return;
    setConnection(OFFLINE);
    state.socket?.close();
  });
}

// Sends `frame` if the connection is up; says whether it went.
export function send(frame) {
  if (state.socket?.readyState !== WebSocket.OPEN) return false;
  state.socket.send(JSON.stringify(frame));
  return true;
}

// Whether a request would reach the server now.
export const connected = () => state.synced && state.socket?.readyState === WebSocket.OPEN;

// The user's other tabs and devices hold as many connections as the
// server lets one user have: say so where the connection's state shows,
// and try again now and then (one of them may close).
function refused(message) {
  state.refused = `${message} Retrying…`;
  setConnection(state.refused);
  state.socket?.close();
}

const handlers = {
  auth_success() {
    state.retryMs = 1000;
    state.refused = null;
    send({ type: "watch_presence" });
    send({ type: "set_privacy" }); // reads the settings
    // Without a cursor, the newest messages of every chat; with one,
    // everything missed since.
    send({ type: "sync", since: state.cursor });
  },
  sync_done(frame) {
    state.cursor = frame.cursor;
    saveLocal();
    state.synced = true;
    setConnection("");
    // Unacked sends go again with their client_id: stored at most once.
    for (const frame of state.pending.values()) send(frame);
    // The open chat's marker goes again: one sent just before a drop may
    // never have arrived (markers only move forward).
    const open = state.chats.get(state.open);
    if (open) {
      open.readSent = 0;
      markRead(open.id);
    }
    loadChats();
  },
  message(frame) {
    received(frame);
    learnContact(frame.chat_id);
  },
  message_ack(frame) {
    const sent = state.pending.get(frame.client_id);
    state.pending.delete(frame.client_id);
    saveLocal();
    if (!sent) return;
    const list = messagesOf(sent.chat_id);
    // A resent message may have come back in a sync already.
    const copy = list.findIndex((m) => m.id === frame.id && m.client_id !== frame.client_id);
    if (copy >= 0) list.splice(copy, 1);
    const mine = list.find((m) => m.client_id === frame.client_id);
    if (mine) Object.assign(mine, { id: frame.id, seq: frame.seq, status: "sent" });
    learnContact(sent.chat_id);
    sortMessages(sent.chat_id);
    advanceCursor(sent.chat_id, frame.seq);
    const chat = state.chats.get(sent.chat_id);
    if (chat && mine && (!chat.last || frame.seq > chat.last.seq)) chat.last = mine;
    refresh(sent.chat_id);
  },
  message_seen(frame) {
    const seen = frame.detail;
    const message = messagesOf(seen.chat_id).find((m) => m.id === seen.id);
    if (message) message.seen = true;
    refresh(seen.chat_id);
  },
  message_edited: replaceMessage,
  message_deleted: replaceMessage,
  error(frame) {
    const detail = frame.detail;
    if (detail.code === "too_many_sessions") return refused(detail.message);
    const sent = detail.client_id && state.pending.get(detail.client_id);
    if (sent && detail.code === "rate_limited") {
      // Nothing was stored: the same frame goes again once the wait is over.
      setTimeout(() => {
        if (state.pending.has(detail.client_id)) send(sent);
      }, (detail.retry_after ?? 1) * 1000);
      setStatus(`Sending too fast: retrying in ${detail.retry_after ?? 1} s`);
      return;
    }
    if (sent && detail.code !== "internal_error" && detail.code !== "server_busy") {
      state.pending.delete(detail.client_id);
      saveLocal();
      const mine = messagesOf(sent.chat_id).find((m) => m.client_id === detail.client_id);
      if (mine) mine.status = "failed";
      refresh(sent.chat_id);
    }
    detailsError(detail.message);
    setStatus(detail.message);
  },
  direct_chat(frame) {
    if (state.directWith && frame.members.includes(state.directWith)) {
      state.directWith = null;
      state.openWhenKnown = frame.chat_id;
      $("search").value = "";
      $("search-results").hidden = true;
    }
    loadChats();
  },
  group_created(frame) {
    if (frame.creator_id === state.me.id) state.openWhenKnown = frame.chat_id;
    loadChats();
  },
  members_added: groupChanged,
  group_renamed: groupChanged,
  group_state: groupChanged,
  role_changed: groupChanged,
  member_left(frame) {
    if (frame.user_id === state.me.id) {
      state.messages.delete(frame.chat_id);
      closeDetails(frame.chat_id);
      if (state.open === frame.chat_id) closeChat();
    }
    groupChanged(frame);
  },
  block_changed(frame) {
    blockChanged(frame);
    refresh(state.open);
    redrawDetails(state.open);
    // The list first: its newest message of each chat is where the open
    // chat's page is read back from.
    loadChats()
      .then(() => state.open && loadNewest(state.open))
      .catch((error) => setStatus(error.message));
  },
  chat_hidden(frame) {
    // Deleted for this user, from any of their devices: what it held up
    // to `seq` is gone here too; a later message brings the chat back.
    const list = messagesOf(frame.chat_id).filter((m) => !m.seq || m.seq > frame.seq);
    state.messages.set(frame.chat_id, list);
    closeDetails(frame.chat_id);
    if (state.open === frame.chat_id) closeChat();
    loadChats();
  },
  read_marker(frame) {
    const chat = state.chats.get(frame.chat_id);
    if (!chat) return;
    chat.readSent = Math.max(chat.readSent, frame.seq);
    if (frame.seq >= (chat.last?.seq ?? 0)) chat.unread = 0;
    renderChats();
  },
  typing(frame) {
    const chat = state.typing.get(frame.chat_id) ?? new Map();
    chat.set(frame.user_id, Date.now() + frame.expires_in_ms);
    state.typing.set(frame.chat_id, chat);
    renderStatus();
    setTimeout(renderStatus, frame.expires_in_ms + 50);
  },
  privacy(frame) {
    // The settings, as changed from any of the user's devices.
    const was = $("privacy-presence").value;
    $("privacy-presence").value = frame.presence;
    $("privacy-group-adds").value = frame.group_adds;
    if (frame.presence === "nobody") {
      state.presence.clear();
      refresh(state.open);
    } else if (was === "nobody") {
      send({ type: "watch_presence" });
    }
  },
  presence_list(frame) {
    for (const person of frame.people) state.presence.set(person.user_id, person);
    renderChats();
    renderStatus();
  },
  presence(frame) {
    state.presence.set(frame.user_id, frame);
    renderChats();
    renderStatus();
  },
};

// Members, roles or the name of a group changed: the list, and the
// group's details if they are open, show it as it is now.
function groupChanged(frame) {
  loadChats().then(() => redrawDetails(frame.chat_id));
}

function handle(frame) {
  handlers[frame.type]?.(frame);
}
