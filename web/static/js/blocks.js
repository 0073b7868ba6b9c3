// Blocking: whom the user blocks (from `GET /me/blocks`, then kept up to
// date by `block_changed`, from any of their devices).

import { api } from "./api.js";
import { state } from "./state.js";

export async function loadBlocks() {
  const people = await api("/me/blocks");
  state.blocked = new Set(people.map((person) => person.id));
}

// A block or unblock, here or on another device. What this page holds of
// every chat goes: the server now sends or hides that person's messages,
// and history is read again as chats open (unsent messages stay).
export function blockChanged(frame) {
  if (frame.blocked) state.blocked.add(frame.user_id);
  else state.blocked.delete(frame.user_id);
  for (const [chatId, list] of state.messages) state.messages.set(chatId, list.filter((m) => !m.seq));
}

export const blocks = (userId) => state.blocked.has(userId);
