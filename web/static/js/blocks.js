// Blocking: whom the user blocks (from `GET /me/blocks`, then kept up to
// date by `block_changed`, from any of their devices).

import { api } from "./api.js";
import { state } from "./state.js";

// A list that cannot be read now leaves the page as it was: the server
// applies every block whatever this page knows, and `block_changed`
// frames keep the set up to date from here on.
export async function loadBlocks() {
  try {
    const people = await api("/me/blocks");
    state.blocked = new Set(people.map((person) => person.id));
  } catch {}
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
