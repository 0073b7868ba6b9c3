// The messenger's web client: plain modules, no build step. It speaks the
// documented protocol (docs/protocol.md): REST for accounts, chats, history
// and people; one WebSocket for everything live. The session is the
// HttpOnly cookie the edge sets at login; this page is served by the edge,
// so the cookie and the socket work on its own origin.

const $ = (id) => document.getElementById(id);
const PAGE = 50;
const TYPING_EVERY_MS = 3000;
const RETRY_MAX_MS = 15000;

const state = {
  me: null,
  chats: new Map(), // id → {id, name, type, members, last, unread}
  messages: new Map(), // chat id → [message], by seq; unsent ones last
  people: new Map(), // user id → name
  presence: new Map(), // user id → {online, last_seen}
  typing: new Map(), // chat id → Map(user id → expiry)
  pending: new Map(), // client_id → send frame, kept until acked
  cursor: null, // chat id → last seq received in order
  open: null,
  socket: null,
  synced: false,
  retryMs: 1000,
  loggingOut: false,
  openWhenKnown: null,
  directWith: null,
  lastTyping: 0,
  loadingOlder: false,
};

// ---------------------------------------------------------------- REST

async function api(path, options = {}) {
  const init = { method: options.method ?? "GET", credentials: "same-origin", headers: {} };
  if (options.body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const detail = body?.detail;
    const message = typeof detail === "string" ? detail : detail?.[0]?.msg ?? response.statusText;
    throw Object.assign(new Error(message), { status: response.status });
  }
  return body;
}

async function loadChats() {
  const chats = await api("/chats?limit=100");
  for (const chat of chats) {
    for (const member of chat.members) state.people.set(member.id, member.name);
    const known = state.chats.get(chat.id);
    state.chats.set(chat.id, { ...chat, last: chat.last_message, unread: chat.unread_count, readSent: known?.readSent ?? 0 });
  }
  const ids = new Set(chats.map((chat) => chat.id));
  for (const id of state.chats.keys()) if (!ids.has(id)) state.chats.delete(id);
  renderChats();
  if (state.openWhenKnown && state.chats.has(state.openWhenKnown)) {
    openChat(state.openWhenKnown);
    state.openWhenKnown = null;
  }
}

// Older messages of the open chat, for scrolling back.
async function loadOlder() {
  const chatId = state.open;
  const list = messagesOf(chatId);
  // Before the oldest message here, or the newest page when none is.
  const newest = (state.chats.get(chatId)?.last?.seq ?? 0) + 1;
  const first = list.find((m) => m.seq)?.seq ?? newest;
  if (state.loadingOlder || first <= 1) return;
  state.loadingOlder = true;
  try {
    const page = await api(`/history/${chatId}?before_seq=${first}&limit=${PAGE}`);
    const box = $("messages");
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

// ------------------------------------------------------------ the socket

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  state.socket = socket;
  state.synced = false;
  setConnection("Connecting…");
  socket.onmessage = (event) => handle(JSON.parse(event.data));
  socket.onclose = (event) => closed(socket, event.code);
}

function closed(socket, code) {
  if (state.socket !== socket) return;
  state.socket = null;
  state.synced = false;
  if (state.loggingOut) return;
  if (code === 4001 || code === 4002) return showLogin("Your session ended: log in again.");
  setConnection("Offline: reconnecting…");
  const again = () => setTimeout(connect, state.retryMs);
  if (navigator.onLine) again();
  else window.addEventListener("online", again, { once: true });
  state.retryMs = Math.min(state.retryMs * 2, RETRY_MAX_MS);
}

function send(frame) {
  if (state.socket?.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(frame));
}

const handlers = {
  auth_success() {
    state.retryMs = 1000;
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
    if (state.open) markRead(state.open);
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
    const list = messagesOf(sent?.chat_id ?? "");
    // A resent message may have come back in a sync already.
    const copy = list.findIndex((m) => m.id === frame.id && m.client_id !== frame.client_id);
    if (copy >= 0) list.splice(copy, 1);
    const mine = list.find((m) => m.client_id === frame.client_id);
    if (mine) Object.assign(mine, { id: frame.id, seq: frame.seq, status: "sent" });
    if (sent) learnContact(sent.chat_id);
    if (sent) {
      sortMessages(sent.chat_id);
      advanceCursor(sent.chat_id, frame.seq);
      const chat = state.chats.get(sent.chat_id);
      if (chat && mine) chat.last = mine;
    }
    refresh(sent?.chat_id);
  },
  message_seen(frame) {
    const seen = frame.detail;
    const message = messagesOf(seen.chat_id).find((m) => m.id === seen.id);
    if (message) message.seen = true;
    refresh(seen.chat_id);
  },
  message_edited(frame) {
    replaceMessage(frame);
  },
  message_deleted(frame) {
    replaceMessage(frame);
  },
  error(frame) {
    const detail = frame.detail;
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
  members_added() {
    loadChats();
  },
  group_renamed() {
    loadChats();
  },
  group_state() {
    loadChats();
  },
  member_left(frame) {
    if (frame.user_id === state.me.id) {
      state.messages.delete(frame.chat_id);
      if (state.open === frame.chat_id) closeChat();
    }
    loadChats();
  },
  chat_hidden(frame) {
    // Deleted for this user, from any of their devices: what it held up
    // to `seq` is gone here too; a later message brings the chat back.
    const list = messagesOf(frame.chat_id).filter((m) => !m.seq || m.seq > frame.seq);
    state.messages.set(frame.chat_id, list);
    if (state.open === frame.chat_id) closeChat();
    loadChats();
  },
  read_marker(frame) {
    const chat = state.chats.get(frame.chat_id);
    if (chat && frame.seq >= (chat.last?.seq ?? 0)) chat.unread = 0;
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

function handle(frame) {
  handlers[frame.type]?.(frame);
}

// ------------------------------------------------------------- messages

function messagesOf(chatId) {
  if (!state.messages.has(chatId)) state.messages.set(chatId, []);
  return state.messages.get(chatId);
}

// Adds a stored message once (messages may come both live and in a sync).
function addMessage(message) {
  const list = messagesOf(message.chat_id);
  const known = list.find((m) => m.id === message.id);
  if (known) return false;
  list.push({ ...message, status: "sent" });
  sortMessages(message.chat_id);
  return true;
}

function sortMessages(chatId) {
  messagesOf(chatId).sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity));
}

function received(message) {
  if (!addMessage(message)) return;
  advanceCursor(message.chat_id, message.seq);
  const chat = state.chats.get(message.chat_id);
  if (!chat) return loadChats();
  if (!chat.last || message.seq > chat.last.seq) chat.last = message;
  if (message.sender_id !== state.me.id) {
    state.typing.get(message.chat_id)?.delete(message.sender_id);
    if (state.open === message.chat_id && !document.hidden) markRead(message.chat_id);
    else if (message.seq > chat.readSent) chat.unread += 1;
  }
  refresh(message.chat_id);
}

function replaceMessage(message) {
  const list = messagesOf(message.chat_id);
  const index = list.findIndex((m) => m.id === message.id);
  if (index >= 0) list[index] = { ...list[index], ...message, edited_at: message.edited_at, deleted: message.deleted };
  refresh(message.chat_id);
}

// The cursor moves on only over messages received in order: a gap is
// left for the next sync to fill.
function advanceCursor(chatId, seq) {
  if (!state.cursor || !seq) return;
  const known = state.cursor[chatId] ?? 0;
  if (seq === known + 1) {
    state.cursor[chatId] = seq;
    saveLocal();
  }
}

function sendMessage(text, attachments = []) {
  const chatId = state.open;
  const frame = { client_id: crypto.randomUUID(), sender_id: state.me.id, chat_id: chatId, text };
  // The server reads only each file's id; the rest shows it while pending.
  if (attachments.length) frame.attachments = attachments;
  state.pending.set(frame.client_id, frame);
  saveLocal();
  messagesOf(chatId).push({ ...frame, id: null, seq: null, status: "pending", timestamp: new Date().toISOString() });
  refresh(chatId);
  scrollToEnd();
  if (state.synced) send(frame);
}

function markRead(chatId) {
  const chat = state.chats.get(chatId);
  const last = messagesOf(chatId).reduce((top, m) => Math.max(top, m.seq ?? 0), chat?.last?.seq ?? 0);
  if (!chat || last === 0) return;
  chat.unread = 0;
  if (last > chat.readSent) {
    chat.readSent = last;
    send({ type: "read_up_to", chat_id: chatId, seq: last });
  }
  renderChats();
}

// Unsent messages and the sync cursor survive a reload, so nothing typed
// is lost and the next sync starts where this page left off.
function saveLocal() {
  if (!state.me) return;
  const key = `messenger.${state.me.id}`;
  localStorage.setItem(key, JSON.stringify({ pending: [...state.pending.values()], cursor: state.cursor }));
}

function loadLocal() {
  const saved = JSON.parse(localStorage.getItem(`messenger.${state.me.id}`) ?? "{}");
  state.cursor = saved.cursor ?? null;
  for (const frame of saved.pending ?? []) {
    state.pending.set(frame.client_id, frame);
    messagesOf(frame.chat_id).push({ ...frame, id: null, seq: null, status: "pending" });
  }
}

// ------------------------------------------------------------- rendering

function chatName(chat) {
  if (chat.type === 1) return chat.name;
  const other = chat.members.find((m) => m.id !== state.me.id);
  return other?.name ?? chat.name ?? "Direct chat";
}

// Two people become contacts (and see each other's presence) once both
// have written in their personal chat; the server tells no one when that
// happens, so a personal chat whose other side has no presence yet asks
// for the list again (at most every few seconds).
function learnContact(chatId) {
  const chat = state.chats.get(chatId);
  const other = chat && otherMember(chat);
  if (!other || state.presence.has(other.id) || $("privacy-presence").value === "nobody") return;
  const now = Date.now();
  if (now - (state.presenceAskedAt ?? 0) < 5000) return;
  state.presenceAskedAt = now;
  send({ type: "watch_presence" });
}

function otherMember(chat) {
  return chat.type === 0 ? chat.members.find((m) => m.id !== state.me.id) : null;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// What people wrote (messages, names), in the direction of its own
// script: Arabic or Hebrew right to left in a left-to-right page.
function written(tag, className, text) {
  const node = element(tag, className, text);
  node.dir = "auto";
  return node;
}

function renderChats() {
  const list = $("chat-list");
  const chats = [...state.chats.values()].sort(
    (a, b) => (b.last?.timestamp ?? "").localeCompare(a.last?.timestamp ?? ""),
  );
  list.replaceChildren(...chats.map(chatItem));
}

function chatItem(chat) {
  const item = element("li", "chat-item");
  item.tabIndex = 0;
  item.dataset.chat = chat.id;
  item.setAttribute("role", "button");
  item.setAttribute("aria-current", String(chat.id === state.open));
  const name = element("span", "chat-name");
  const other = otherMember(chat);
  if (other) {
    const online = state.presence.get(other.id)?.online;
    const dot = element("span", online ? "dot online" : "dot");
    dot.setAttribute("aria-label", online ? "online" : "offline");
    name.append(dot);
  }
  name.append(written("span", "", chatName(chat)));
  item.append(name);
  const badge = element("span", "badge", String(chat.unread));
  badge.hidden = !chat.unread;
  badge.setAttribute("aria-label", `${chat.unread} unread`);
  item.append(badge);
  const last = chat.last;
  const preview = last ? (last.deleted ? "Message deleted" : last.text || "Attachment") : "No messages yet";
  item.append(written("span", "chat-last", preview));
  item.onclick = () => openChat(chat.id);
  item.onkeydown = (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      openChat(chat.id);
    }
  };
  return item;
}

function renderMessages() {
  const chat = state.chats.get(state.open);
  if (!chat) return;
  $("messages").replaceChildren(...messagesOf(chat.id).map((m) => messageItem(chat, m)));
}

function messageItem(chat, message) {
  const mine = message.sender_id === state.me.id;
  const item = element("li", `message${mine ? " mine" : ""}${message.deleted ? " deleted" : ""}${message.status === "failed" ? " failed" : ""}`);
  if (message.id) item.dataset.id = message.id;
  if (message.client_id) item.dataset.clientId = message.client_id;
  if (chat.type === 1 && !mine) item.append(written("div", "from", state.people.get(message.sender_id) ?? "Someone"));
  if (message.deleted) item.append(element("div", "text", "Message deleted"));
  else if (message.text) item.append(written("div", "text", message.text));
  if (!message.deleted && message.attachments?.length) item.append(filesOf(message));
  const time = message.timestamp ? new Date(message.timestamp).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
  const edited = message.edited_at ? " · edited" : "";
  const meta = element("div", "meta", `${time}${edited}${mine ? ` · ${receipt(message)}` : ""}`);
  if (mine) meta.dataset.receipt = message.seen ? "seen" : message.status;
  item.append(meta);
  return item;
}

// A message's files: images as thumbnails that open the image, other
// files as downloads.
function filesOf(message) {
  const box = element("div", "files");
  for (const file of message.attachments) {
    const link = element("a", file.width ? "image" : "file");
    link.href = `/media/${file.id}`;
    if (file.width) {
      link.target = "_blank";
      link.rel = "noopener";
      const image = element("img");
      image.src = `/media/${file.id}/thumbnail`;
      image.alt = file.name;
      image.loading = "lazy";
      const scale = Math.min(1, 240 / Math.max(file.width, file.height));
      image.width = Math.round(file.width * scale);
      image.height = Math.round(file.height * scale);
      link.append(image);
    } else {
      link.download = file.name;
      link.textContent = `${file.name} (${byteSize(file.size)})`;
    }
    box.append(link);
  }
  return box;
}

function byteSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function receipt(message) {
  if (message.seen) return "✓✓ Seen";
  return { pending: "Sending…", sent: "✓ Sent", failed: "Not sent" }[message.status] ?? "";
}

function renderStatus() {
  const chat = state.chats.get(state.open);
  if (!chat) return setStatus("");
  const now = Date.now();
  const typing = [...(state.typing.get(chat.id) ?? new Map())]
    .filter(([, until]) => until > now)
    .map(([user]) => state.people.get(user) ?? "Someone");
  if (typing.length) return setStatus(`${typing.join(", ")} ${typing.length > 1 ? "are" : "is"} typing…`);
  const other = otherMember(chat);
  if (other) {
    const presence = state.presence.get(other.id);
    if (presence?.online) return setStatus("online");
    if (presence?.last_seen) return setStatus(`last seen ${new Date(presence.last_seen).toLocaleString()}`);
    return setStatus("");
  }
  setStatus(`${chat.member_count} members`);
}

function refresh(chatId) {
  renderChats();
  if (chatId && chatId === state.open) {
    const box = $("messages");
    const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    renderMessages();
    renderStatus();
    if (atEnd) scrollToEnd();
  }
}

function setStatus(text) {
  $("chat-status").textContent = text;
}

function setConnection(text) {
  $("connection").textContent = text;
}

function scrollToEnd() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

// ----------------------------------------------------------------- views

function openChat(chatId) {
  state.open = chatId;
  const chat = state.chats.get(chatId);
  $("chat-title").textContent = chatName(chat);
  $("composer").hidden = false;
  $("hide-chat").hidden = false;
  $("app-view").classList.add("showing-chat");
  renderMessages();
  renderStatus();
  renderChats();
  scrollToEnd();
  markRead(chatId);
  if (messagesOf(chatId).length < PAGE) loadOlder();
  $("text").focus();
}

function closeChat() {
  state.open = null;
  $("chat-title").textContent = "Choose a chat";
  $("composer").hidden = true;
  $("hide-chat").hidden = true;
  $("messages").replaceChildren();
  $("app-view").classList.remove("showing-chat");
  setStatus("");
}

function showLogin(message = "") {
  state.me = null;
  state.socket?.close();
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  $("login-error").textContent = message;
  $("email").focus();
}

async function start(me) {
  // Nothing of an earlier login in this tab stays.
  Object.assign(state, {
    me, loggingOut: false, open: null, cursor: null, openWhenKnown: null, directWith: null,
    chats: new Map(), messages: new Map(), pending: new Map(),
    people: new Map(), presence: new Map(), typing: new Map(),
  });
  state.people.set(me.id, me.name);
  $("me-name").textContent = me.name;
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  loadLocal();
  await loadChats();
  connect();
}

// ------------------------------------------------------------- controls

function wireLogin() {
  let registering = false;
  $("toggle-register").onclick = () => {
    registering = !registering;
    $("name-row").hidden = !registering;
    $("name").required = registering;
    $("login-submit").textContent = registering ? "Create account" : "Log in";
    $("toggle-register").textContent = registering ? "I have an account" : "Create an account";
    $("login-hint").textContent = registering ? "Create your account" : "Log in to your account";
    $("password").autocomplete = registering ? "new-password" : "current-password";
  };
  $("login-form").onsubmit = async (event) => {
    event.preventDefault();
    const [email, password] = [$("email").value, $("password").value];
    $("login-error").textContent = "";
    try {
      if (registering) await api("/users", { method: "POST", body: { name: $("name").value, email, password } });
      const me = await api("/auth/login", { method: "POST", body: { email, password } });
      $("password").value = "";
      await start(me);
    } catch (error) {
      $("login-error").textContent = error.message;
    }
  };
}

function wireApp() {
  $("logout").onclick = async () => {
    state.loggingOut = true;
    try {
      await api("/auth/logout", { method: "POST" });
    } finally {
      if (state.me) localStorage.removeItem(`messenger.${state.me.id}`);
      closeChat();
      showLogin();
    }
  };
  $("composer").onsubmit = (event) => {
    event.preventDefault();
    const text = $("text").value;
    if (!text.trim()) return;
    $("text").value = "";
    sendMessage(text);
  };
  $("attach").onchange = () => {
    attachFiles([...$("attach").files]);
    $("attach").value = "";
  };
  const view = $("chat-view");
  view.ondragover = (event) => {
    if (!state.open || !event.dataTransfer?.types.includes("Files")) return;
    event.preventDefault();
    view.classList.add("dropping");
  };
  view.ondragleave = () => view.classList.remove("dropping");
  view.ondrop = (event) => {
    view.classList.remove("dropping");
    if (!state.open) return;
    event.preventDefault();
    attachFiles([...event.dataTransfer.files]);
  };
  $("text").onkeydown = (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  };
  $("text").oninput = () => {
    if (Date.now() - state.lastTyping > TYPING_EVERY_MS && state.open) {
      state.lastTyping = Date.now();
      send({ type: "typing", chat_id: state.open });
    }
  };
  $("messages").onscroll = () => {
    if ($("messages").scrollTop < 80) loadOlder();
  };
  $("back").onclick = closeChat;
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.open) markRead(state.open);
  });
  wireSearch();
  wireFind();
  wireGroups();
}

// ---------------------------------------------------------------- files

// Uploads `files` (each with a progress bar), then sends them in one
// message with what is typed. A file refused stops the message and says why.
async function attachFiles(files) {
  const chatId = state.open;
  if (!files.length || !chatId) return;
  const rows = files.map((file) => uploadRow(file));
  try {
    const sent = await Promise.all(files.map((file, n) => upload(file, rows[n])));
    rows.forEach((row) => row.remove());
    if (state.open !== chatId) openChat(chatId);
    const text = $("text").value;
    $("text").value = "";
    sendMessage(text, sent);
  } catch (error) {
    setStatus(error.message);
    setTimeout(() => rows.forEach((row) => row.remove()), 4000);
  }
}

function uploadRow(file) {
  const row = element("div", "upload");
  row.append(element("span", "upload-name", file.name));
  const bar = element("progress");
  bar.max = 1;
  bar.value = 0;
  bar.setAttribute("aria-label", `Uploading ${file.name}`);
  row.append(bar);
  $("uploads").append(row);
  return row;
}

// `POST /media` with the file as the body; XMLHttpRequest because fetch
// cannot report an upload's progress.
function upload(file, row) {
  return new Promise((done, fail) => {
    const request = new XMLHttpRequest();
    request.open("POST", `/media?name=${encodeURIComponent(file.name)}`);
    if (file.type) request.setRequestHeader("content-type", file.type);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) row.querySelector("progress").value = event.loaded / event.total;
    };
    request.onload = () => {
      let body = null;
      try {
        body = JSON.parse(request.responseText);
      } catch {}
      if (request.status === 201) return done(body);
      const detail = body?.detail;
      const why = typeof detail === "string" ? detail : detail?.[0]?.msg ?? request.statusText;
      row.classList.add("failed");
      fail(new Error(`${file.name}: ${why}`));
    };
    request.onerror = () => fail(new Error(`${file.name}: the upload failed (offline?)`));
    request.send(file);
  });
}

// ------------------------------------------------------ finding messages

function wireFind() {
  let timer;
  $("find-form").onsubmit = (event) => event.preventDefault();
  $("find").oninput = () => {
    clearTimeout(timer);
    timer = setTimeout(find, 300);
  };
}

async function find() {
  const query = $("find").value.trim();
  const results = $("find-results");
  if (!query) return (results.hidden = true);
  let found = [];
  try {
    found = await api(`/search?query=${encodeURIComponent(query)}&limit=20`);
  } catch (error) {
    setConnection(error.message);
  }
  results.replaceChildren(...found.map(foundItem));
  if (!found.length) results.replaceChildren(element("li", "", "No messages found"));
  results.hidden = false;
}

function foundItem({ message, snippet }) {
  const item = element("li");
  const open = element("button", "found-message");
  open.type = "button";
  const chat = state.chats.get(message.chat_id);
  open.append(written("span", "found-chat", chat ? chatName(chat) : "A chat"));
  open.append(marked(snippet));
  open.onclick = () => openAt(message);
  item.append(open);
  return item;
}

// The snippet with its matched words (between U+0002 and U+0003) marked,
// built from text nodes: nothing in it is read as markup.
function marked(snippet) {
  const line = written("span", "snippet");
  snippet.split("\u0002").forEach((part, index) => {
    if (index === 0) return line.append(part);
    const [word, rest = ""] = part.split("\u0003");
    line.append(element("mark", "", word), rest);
  });
  return line;
}

// Opens the chat at `message`: the history around it, scrolled to it.
async function openAt(message) {
  if (!state.chats.has(message.chat_id)) await loadChats();
  openChat(message.chat_id);
  // From a little before it up to what is here already, so that no gap is
  // left between (at most a thousand messages; older ones load by scrolling).
  const known = messagesOf(message.chat_id).find((m) => m.seq)?.seq ?? Infinity;
  let after = Math.max(0, message.seq - PAGE / 2);
  for (let pages = 0; pages < 20 && after + 1 < known; pages += 1) {
    const page = await api(`/history/${message.chat_id}?after_seq=${after}&limit=${PAGE}`);
    page.forEach((m) => addMessage(m));
    if (page.length < PAGE) break;
    after = page[page.length - 1].seq;
  }
  renderMessages();
  const item = $("messages").querySelector(`[data-id="${CSS.escape(message.id)}"]`);
  item?.classList.add("found");
  item?.scrollIntoView({ block: "center" });
}

function wireSearch() {
  let timer;
  $("search-form").onsubmit = (event) => event.preventDefault();
  $("search").oninput = () => {
    clearTimeout(timer);
    timer = setTimeout(search, 300);
  };
}

async function search() {
  const query = $("search").value.trim();
  const results = $("search-results");
  if (!query) return (results.hidden = true);
  let people = [];
  try {
    people = await api(`/users?query=${encodeURIComponent(query)}`);
  } catch (error) {
    setConnection(error.message);
  }
  results.replaceChildren(
    ...people.map((person) => {
      state.people.set(person.id, person.name);
      const item = element("li", "", person.name);
      const start = element("button", "secondary", "Message");
      start.type = "button";
      start.setAttribute("aria-label", `Message ${person.name}`);
      start.onclick = () => startDirectChat(person.id);
      item.append(start);
      return item;
    }),
  );
  if (!people.length) results.replaceChildren(element("li", "", "Nobody found"));
  results.hidden = false;
}

function startDirectChat(userId) {
  state.directWith = userId;
  send({ type: "open_direct_chat", user_id: userId });
}

function wireGroups() {
  $("new-group").onclick = () => {
    const people = [...state.people].filter(([id]) => id !== state.me.id);
    $("group-people").replaceChildren(
      ...people.map(([id, name]) => {
        const label = element("label");
        const box = element("input");
        box.type = "checkbox";
        box.value = id;
        label.append(box, name);
        return label;
      }),
    );
    $("group-dialog").showModal();
  };
  $("group-cancel").onclick = () => $("group-dialog").close();
  $("privacy").onclick = () => $("privacy-dialog").showModal();
  $("hide-chat").onclick = () => send({ type: "hide_chat", chat_id: state.open });
  $("privacy-presence").onchange = (event) => send({ type: "set_privacy", presence: event.target.value });
  $("privacy-group-adds").onchange = (event) => send({ type: "set_privacy", group_adds: event.target.value });
  $("group-form").onsubmit = (event) => {
    event.preventDefault();
    const users = [...$("group-people").querySelectorAll("input:checked")].map((box) => box.value);
    send({ name: $("group-name").value, users });
    $("group-name").value = "";
    $("group-dialog").close();
  };
}

// The page's state, for looking into it from the browser's console.
window.messenger = { state, socket: () => state.socket };

wireLogin();
wireApp();
api("/me").then(start, () => showLogin());
