// Drawing what the page knows: the chat list, the open chat's messages,
// the status lines, the title. Nothing here changes the state.

import { $, element, written, button, spoken, timeOf, dayName, isoDay, summary } from "./dom.js";
import { state, messagesOf, nameOf } from "./state.js";
import { chatName, otherMember, totalUnread } from "./chats.js";
import { openChat } from "./views.js";
import { startEditing, askToDelete } from "./composer.js";

export function renderChats() {
  const list = $("chat-list");
  const chats = [...state.chats.values()].sort(
    (a, b) => (b.last?.timestamp ?? "").localeCompare(a.last?.timestamp ?? ""),
  );
  // The list is drawn anew: keyboard focus goes back to the chat it was on.
  const focused = document.activeElement?.closest?.("#chat-list [data-chat]")?.dataset.chat;
  list.replaceChildren(...chats.map(chatItem));
  if (focused) list.querySelector(`[data-chat="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
  const unread = totalUnread();
  document.title = unread ? `(${unread}) Messenger` : "Messenger";
}

function chatItem(chat) {
  const open = button(undefined, "chat-item");
  open.dataset.chat = chat.id;
  open.setAttribute("aria-current", String(chat.id === state.open));
  const name = element("span", "chat-name");
  const other = otherMember(chat);
  if (other) {
    const online = state.presence.get(other.id)?.online;
    name.append(element("span", online ? "dot online" : "dot"), spoken(online ? "online, " : ""));
  }
  name.append(written("span", "", chatName(chat)));
  open.append(name);
  const badge = element("span", "badge", String(chat.unread));
  badge.hidden = !chat.unread;
  open.append(badge, spoken(chat.unread ? `, ${chat.unread} unread` : ""));
  const last = chat.last;
  open.append(written("span", "chat-last", last ? summary(last) : "No messages yet"));
  open.onclick = () => openChat(chat.id);
  const item = element("li");
  item.append(open);
  return item;
}

// The open chat's messages, a line with the day above each day's first.
export function renderMessages() {
  const chat = state.chats.get(state.open);
  if (!chat) return;
  const items = [];
  let day = null;
  for (const message of messagesOf(chat.id)) {
    const stamp = message.timestamp ?? new Date().toISOString();
    if (isoDay(stamp) !== day) {
      day = isoDay(stamp);
      items.push(dayItem(stamp));
    }
    items.push(messageItem(chat, message));
  }
  $("messages").replaceChildren(...items);
}

function dayItem(timestamp) {
  const item = element("li", "day");
  const time = element("time", "", dayName(timestamp));
  time.dateTime = isoDay(timestamp);
  item.append(time);
  return item;
}

function messageItem(chat, message) {
  const mine = message.sender_id === state.me.id;
  const kinds = [
    "message", mine && "mine", message.deleted && "deleted", message.status === "failed" && "failed",
    message.id && message.id === state.found && "found",
  ];
  const item = element("li", kinds.filter(Boolean).join(" "));
  if (message.id) item.dataset.id = message.id;
  if (message.client_id) item.dataset.clientId = message.client_id;
  const sender = mine ? "You" : nameOf(message.sender_id);
  // Groups show who wrote each message; screen readers hear it everywhere.
  if (chat.type === 1 && !mine) item.append(written("div", "from", sender));
  else item.append(spoken(`${sender}: `));
  if (message.deleted) item.append(element("div", "text", "Message deleted"));
  else if (message.text) item.append(written("div", "text", message.text));
  if (!message.deleted && message.attachments?.length) item.append(filesOf(message));
  item.append(metaOf(message, mine));
  if (mine && message.id && !message.deleted) item.append(actionsOf(message));
  return item;
}

function metaOf(message, mine) {
  const meta = element("div", "meta");
  if (message.timestamp) {
    const time = element("time", "", timeOf(message.timestamp));
    time.dateTime = message.timestamp;
    time.title = new Date(message.timestamp).toLocaleString();
    meta.append(time);
  }
  if (message.edited_at) meta.append(" · edited");
  if (mine) {
    meta.append(` · ${receipt(message)}`);
    meta.dataset.receipt = message.seen ? "seen" : message.status;
  }
  return meta;
}

// Edit and delete, behind one button per message of one's own.
function actionsOf(message) {
  const box = element("div", "actions");
  const more = button("⋯", "more", "Edit or delete your message");
  more.setAttribute("aria-expanded", "false");
  const menu = element("div", "menu");
  menu.hidden = true;
  const edit = button("Edit", "secondary");
  edit.onclick = () => startEditing(message);
  const remove = button("Delete", "secondary danger");
  remove.onclick = () => askToDelete(message);
  menu.append(edit, remove);
  more.onclick = () => {
    menu.hidden = !menu.hidden;
    more.setAttribute("aria-expanded", String(!menu.hidden));
    if (!menu.hidden) edit.focus();
  };
  box.append(more, menu);
  return box;
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

export function renderStatus() {
  const chat = state.chats.get(state.open);
  if (!chat) return setStatus("");
  const now = Date.now();
  const typing = [...(state.typing.get(chat.id) ?? new Map())]
    .filter(([, until]) => until > now)
    .map(([user]) => nameOf(user));
  if (typing.length) return setStatus(`${typing.join(", ")} ${typing.length > 1 ? "are" : "is"} typing…`);
  const other = otherMember(chat);
  if (other && state.blocked.has(other.id)) return setStatus("blocked");
  if (other) {
    const presence = state.presence.get(other.id);
    if (presence?.online) return setStatus("online");
    if (presence?.last_seen) return setStatus(`last seen ${new Date(presence.last_seen).toLocaleString()}`);
    return setStatus("");
  }
  setStatus(`${chat.member_count} members`);
}

export function refresh(chatId) {
  renderChats();
  if (chatId && chatId === state.open) {
    const box = $("messages");
    const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    renderMessages();
    renderStatus();
    if (atEnd) scrollToEnd();
  }
}

// A new message in the open chat, said by screen readers.
export function announce(chat, message) {
  const sender = nameOf(message.sender_id);
  const text = summary(message);
  $("announcer").textContent = chat.type === 1 ? `${sender} in ${chat.name}: ${text}` : `${sender}: ${text}`;
}

export function setStatus(text) {
  $("chat-status").textContent = text;
}

export function setConnection(text) {
  $("connection").textContent = text;
}

export function scrollToEnd() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}
