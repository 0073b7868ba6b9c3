// The user's chats: the list from `GET /chats`, page by page, and what
// is said of a chat (its name, the other member of a personal chat).

import { api } from "./api.js";
import { state } from "./state.js";
import { send } from "./socket.js";
import { renderChats } from "./render.js";
import { openChat } from "./views.js";

const CHATS_PAGE = 100;

// Every chat, however many (the server gives at most a page at a time).
// Pages are by offset over "most recently active first": a chat that
// moves up meanwhile is kept once, and live events bring the rest.
async function allChats() {
  const chats = new Map();
  for (let offset = 0; ; offset += CHATS_PAGE) {
    const page = await api(`/chats?limit=${CHATS_PAGE}&offset=${offset}`);
    for (const chat of page) if (!chats.has(chat.id)) chats.set(chat.id, chat);
    if (page.length < CHATS_PAGE) return [...chats.values()];
  }
}

// Events that change the list (a new group, a rename…) may come in
// bursts: while one load is under way, the others make one more after it.
let loading = null;
let again = false;

export function loadChats() {
  if (loading) {
    again = true;
    return loading;
  }
  loading = (async () => {
    do {
      again = false;
      await loadOnce();
    } while (again);
  })().finally(() => (loading = null));
  return loading;
}

async function loadOnce() {
  const chats = await allChats();
  for (const chat of chats) {
    for (const member of chat.members) state.people.set(member.id, member.name);
    const known = state.chats.get(chat.id);
    const readSent = known?.readSent ?? 0;
    const last = chat.last_message;
    // A chat open on this device is read, whatever the list said a moment ago.
    const read = chat.id === state.open && !document.hidden && last && readSent >= last.seq;
    state.chats.set(chat.id, { ...chat, last, unread: read ? 0 : chat.unread_count, readSent });
  }
  const ids = new Set(chats.map((chat) => chat.id));
  for (const id of state.chats.keys()) if (!ids.has(id)) state.chats.delete(id);
  renderChats();
  // A renamed group (or a person's new name) in the open chat's title.
  const open = state.chats.get(state.open);
  if (open) document.getElementById("chat-title").textContent = chatName(open);
  if (state.openWhenKnown && state.chats.has(state.openWhenKnown)) {
    openChat(state.openWhenKnown);
    state.openWhenKnown = null;
  }
}

export function chatName(chat) {
  if (chat.type === 1) return chat.name;
  const other = chat.members.find((m) => m.id !== state.me.id);
  return other?.name ?? chat.name ?? "Direct chat";
}

export function otherMember(chat) {
  return chat.type === 0 ? chat.members.find((m) => m.id !== state.me.id) : null;
}

export function totalUnread() {
  let total = 0;
  for (const chat of state.chats.values()) total += chat.unread;
  return total;
}

// Two people become contacts (and see each other's presence) once both
// have written in their personal chat; the server tells no one when that
// happens, so a personal chat whose other side has no presence yet asks
// for the list again (at most every few seconds).
export function learnContact(chatId) {
  const chat = state.chats.get(chatId);
  const other = chat && otherMember(chat);
  if (!other || state.presence.has(other.id) || document.getElementById("privacy-presence").value === "nobody") return;
  const now = Date.now();
  if (now - state.presenceAskedAt < 5000) return;
  state.presenceAskedAt = now;
  send({ type: "watch_presence" });
}
