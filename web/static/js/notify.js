// Notifications of new messages while the page is hidden. The browser's
// permission is asked only when the user chooses to turn them on.

import { $, summary } from "./dom.js";
import { chatName } from "./chats.js";
import { nameOf } from "./state.js";
import { openChat } from "./views.js";

const DISMISSED = "messenger.notifications-dismissed";

export function wireNotifications() {
  const offer = $("notify-offer");
  const ask = "Notification" in window && Notification.permission === "default";
  offer.hidden = !ask || localStorage.getItem(DISMISSED) === "1";
  $("notify-on").onclick = async () => {
    offer.hidden = true;
    await Notification.requestPermission();
  };
  $("notify-dismiss").onclick = () => {
    offer.hidden = true;
    localStorage.setItem(DISMISSED, "1");
  };
}

export function notify(chat, message) {
  if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
  const sender = nameOf(message.sender_id);
  const title = chat.type === 1 ? `${sender} in ${chatName(chat)}` : sender;
  // One notification per chat: a newer message replaces the older one.
  const shown = new Notification(title, { body: summary(message), tag: chat.id });
  shown.onclick = () => {
    window.focus();
    openChat(chat.id);
    shown.close();
  };
}
