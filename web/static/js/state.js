// What the page knows, in one place, and what of it outlives a reload.

export const PAGE = 50;
// The server's default `MAX_MESSAGE_CHARS`, counted as it counts them
// (characters, not UTF-16 units); a server set lower says so on send.
export const MAX_TEXT = 4096;

export const state = {
  me: null,
  chats: new Map(), // id → {id, name, type, members, last, unread, readSent, readMarker}
  messages: new Map(), // chat id → [message], by seq; unsent ones last
  people: new Map(), // user id → name
  blocked: new Set(), // ids of the people the user blocks
  presence: new Map(), // user id → {online, last_seen}
  typing: new Map(), // chat id → Map(user id → expiry)
  pending: new Map(), // client_id → send frame, kept until acked
  cursor: null, // chat id → last seq received in order
  open: null,
  socket: null,
  synced: false,
  retryMs: 1000,
  refused: null, // why the server did not let this tab's socket log in
  loggingOut: false,
  openWhenKnown: null,
  directWith: null,
  editing: null, // the message whose text the composer holds
  found: null, // the id of the message a search opened the chat at
  details: null, // the chat whose details dialog is open
  lastTyping: 0,
  presenceAskedAt: 0,
  loadingOlder: false,
};

// A person's name as this page knows it (from chat lists, members and
// searches).
export const nameOf = (userId) => state.people.get(userId) ?? "Someone";

export function messagesOf(chatId) {
  if (!state.messages.has(chatId)) state.messages.set(chatId, []);
  return state.messages.get(chatId);
}

// Unsent messages and the sync cursor survive a reload, so nothing typed
// is lost and the next sync starts where this page left off.
export function saveLocal() {
  if (!state.me) return;
  const key = `messenger.${state.me.id}`;
  localStorage.setItem(key, JSON.stringify({ pending: [...state.pending.values()], cursor: state.cursor }));
}

export function loadLocal() {
  const saved = JSON.parse(localStorage.getItem(`messenger.${state.me.id}`) ?? "{}");
  state.cursor = saved.cursor ?? null;
  for (const frame of saved.pending ?? []) {
    state.pending.set(frame.client_id, frame);
    messagesOf(frame.chat_id).push({ ...frame, id: null, seq: null, status: "pending" });
  }
}

export function forgetLocal() {
  if (state.me) localStorage.removeItem(`messenger.${state.me.id}`);
}

// Whether this browser holds a login. The cookie itself is HttpOnly; this
// mark lets a first visit show the login form without asking `/me` for a
// 401 (which browsers log as an error).
const SESSION = "messenger.session";
export const session = {
  known: () => localStorage.getItem(SESSION) === "1",
  keep: () => localStorage.setItem(SESSION, "1"),
  drop: () => localStorage.removeItem(SESSION),
};
