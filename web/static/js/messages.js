// The messages of each chat as this device knows them: stored once
// whichever way they came (live, sync, history), in seq order, with the
// newest edit and every receipt kept; and what the user does to them.

import { api } from "./api.js";
import { PAGE, state, messagesOf, saveLocal } from "./state.js";
import { send } from "./socket.js";
import { loadChats } from "./chats.js";
import { refresh, renderChats, renderMessages, scrollToEnd, announce } from "./render.js";
import { notify } from "./notify.js";

// Adds a stored message, or brings the copy here up to date with it.
// Returns whether it was new.
export function addMessage(message) {
  const list = messagesOf(message.chat_id);
  const known = list.find((m) => m.id === message.id);
  if (known) {
    merge(known, message);
    return false;
  }
  list.push({ ...message, status: "sent" });
  sortMessages(message.chat_id);
  return true;
}

// Edits may arrive in any order: the one with the later `edited_at`
// wins, a deletion is final, and "seen" never goes back.
function merge(known, message) {
  if (message.seen) known.seen = true;
  if (known.deleted) return;
  if (message.deleted) return Object.assign(known, { deleted: true, text: "", attachments: [] });
  if ((message.edited_at ?? "") > (known.edited_at ?? "")) Object.assign(known, { text: message.text, edited_at: message.edited_at });
}

export function sortMessages(chatId) {
  messagesOf(chatId).sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity));
}

export function received(message) {
  if (!addMessage(message)) return;
  advanceCursor(message.chat_id, message.seq);
  const chat = state.chats.get(message.chat_id);
  if (!chat) return loadChats();
  // Only what is newer than the chat list's own figures counts: the
  // messages a sync replays are in its unread count already.
  const newer = !chat.last || message.seq > chat.last.seq;
  if (newer) chat.last = message;
  if (message.sender_id !== state.me.id) {
    state.typing.get(message.chat_id)?.delete(message.sender_id);
    const reading = state.open === message.chat_id && !document.hidden;
    if (reading) markRead(message.chat_id);
    else if (newer && message.seq > chat.readSent) chat.unread += 1;
    if (newer && state.synced) {
      if (state.open === message.chat_id) announce(chat, message);
      if (!reading) notify(chat, message);
    }
  }
  refresh(message.chat_id);
}

export function replaceMessage(message) {
  addMessage(message);
  const chat = state.chats.get(message.chat_id);
  if (chat?.last?.id === message.id) chat.last = messagesOf(message.chat_id).find((m) => m.id === message.id);
  refresh(message.chat_id);
}

// The cursor moves on only over messages received in order: a gap is
// left for the next sync to fill.
export function advanceCursor(chatId, seq) {
  if (!state.cursor || !seq) return;
  const known = state.cursor[chatId] ?? 0;
  if (seq === known + 1) {
    state.cursor[chatId] = seq;
    saveLocal();
  }
}

export function sendMessage(text, attachments = []) {
  const chatId = state.open;
  // The time of writing goes with every retry: a send kept unsent for
  // longer than the server keeps retries is refused (stale_retry), not
  // stored twice.
  const frame = {
    client_id: crypto.randomUUID(),
    sender_id: state.me.id,
    chat_id: chatId,
    timestamp: new Date().toISOString(),
    text,
  };
  // The server reads only each file's id; the rest shows it while pending.
  if (attachments.length) frame.attachments = attachments;
  state.pending.set(frame.client_id, frame);
  saveLocal();
  messagesOf(chatId).push({ ...frame, id: null, seq: null, status: "pending" });
  refresh(chatId);
  scrollToEnd();
  if (state.synced) send(frame);
}

// Edits go once: a retry with the same client_id is answered, not redone.
export function editMessage(message, text) {
  return send({ type: "edit_message", client_id: crypto.randomUUID(), message_id: message.id, text });
}

export function deleteMessage(message) {
  return send({ type: "delete_message", message_id: message.id });
}

// Tells the server the open chat is read up to its newest message. Only
// once the connection has caught up: until then the marker waits, and
// `sync_done` calls this again.
export function markRead(chatId) {
  const chat = state.chats.get(chatId);
  const last = messagesOf(chatId).reduce((top, m) => Math.max(top, m.seq ?? 0), chat?.last?.seq ?? 0);
  if (!chat || last === 0) return;
  chat.unread = 0;
  if (last > chat.readSent && state.synced && send({ type: "read_up_to", chat_id: chatId, seq: last })) {
    chat.readSent = last;
  }
  renderChats();
}

// The newest page of a chat from history: what a sync does not carry
// (receipts completed while away, edits of older messages) comes with it.
export async function loadNewest(chatId) {
  const newest = state.chats.get(chatId)?.last?.seq;
  if (!newest) return;
  const page = await api(`/history/${chatId}?before_seq=${newest + 1}&limit=${PAGE}`);
  page.forEach((message) => addMessage(message));
  if (state.open !== chatId) return;
  // What the page brought (such as messages of someone just unblocked)
  // is read as the rest of the open chat is.
  if (!document.hidden) markRead(chatId);
  refresh(chatId);
}

// Older messages of the open chat, for scrolling back.
export async function loadOlder() {
  const chatId = state.open;
  const list = messagesOf(chatId);
  // Before the oldest message here, or the newest page when none is.
  const newest = (state.chats.get(chatId)?.last?.seq ?? 0) + 1;
  const first = list.find((m) => m.seq)?.seq ?? newest;
  if (state.loadingOlder || first <= 1) return;
  state.loadingOlder = true;
  try {
    const page = await api(`/history/${chatId}?before_seq=${first}&limit=${PAGE}`);
    const box = document.getElementById("messages");
    const fromBottom = box.scrollHeight - box.scrollTop;
    page.forEach((message) => addMessage(message));
    if (state.open === chatId) {
      renderMessages();
      box.scrollTop = box.scrollHeight - fromBottom;
    }
  } finally {
    state.loadingOlder = false;
  }
}
