// The page's screens: logged out, the chat list, one chat open (beside
// the list on a wide screen, in its place on a phone).

import { $ } from "./dom.js";
import { PAGE, state, messagesOf, loadLocal, session } from "./state.js";
import { connect } from "./socket.js";
import { loadChats, chatName } from "./chats.js";
import { markRead, loadNewest, loadOlder } from "./messages.js";
import { renderChats, renderMessages, renderStatus, scrollToEnd, setStatus, setConnection } from "./render.js";
import { stopEditing } from "./composer.js";
import { loadBlocks } from "./blocks.js";

export function openChat(chatId) {
  const chat = state.chats.get(chatId);
  if (!chat) return;
  if (state.editing) stopEditing();
  state.open = chatId;
  state.found = null;
  // The open chat is a step in the browser's history: Back (a phone's
  // above all, where the chat covers the list) goes back to the list.
  if (history.state?.chat) history.replaceState({ chat: chatId }, "");
  else history.pushState({ chat: chatId }, "");
  $("chat-title").textContent = chatName(chat);
  $("composer").hidden = false;
  $("chat-details").hidden = false;
  $("app-view").classList.add("showing-chat");
  renderMessages();
  renderStatus();
  renderChats();
  scrollToEnd();
  markRead(chatId);
  loadNewest(chatId).catch((error) => setStatus(error.message));
  if (messagesOf(chatId).length < PAGE) loadOlder();
  $("text").focus();
}

export function closeChat() {
  if (state.editing) stopEditing();
  state.open = null;
  $("chat-title").textContent = "Choose a chat";
  $("composer").hidden = true;
  $("chat-details").hidden = true;
  $("messages").replaceChildren();
  $("app-view").classList.remove("showing-chat");
  setStatus("");
  renderChats();
}

// The in-page Back button, the same step as the browser's.
export function goBack() {
  if (history.state?.chat) history.back();
  else closeChat();
}

export function watchHistory() {
  window.addEventListener("popstate", () => {
    if (!history.state?.chat && state.open) closeChat();
    else if (history.state?.chat && history.state.chat !== state.open) openChat(history.state.chat);
  });
}

export function showLogin(message = "") {
  state.me = null;
  session.drop();
  state.socket?.close();
  setConnection("");
  document.title = "Messenger";
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  $("login-error").textContent = message;
  $("email").focus();
}

export async function start(me) {
  session.keep();
  // Nothing of an earlier login in this tab stays.
  Object.assign(state, {
    me, loggingOut: false, open: null, cursor: null, openWhenKnown: null, directWith: null, editing: null,
    chats: new Map(), messages: new Map(), pending: new Map(),
    people: new Map(), presence: new Map(), typing: new Map(), blocked: new Set(), details: null,
  });
  state.people.set(me.id, me.name);
  $("me-name").textContent = me.name;
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  loadLocal();
  // A list that cannot be read now (the core restarting) is read again
  // when the socket has caught up; the socket is opened either way.
  await Promise.all([loadChats(), loadBlocks()]).catch((error) => setConnection(error.message));
  connect();
}
