// A chat's details: a group's members with their roles, and what the
// user's own role lets them do (rename, add, remove, make admin, leave);
// in a personal chat, blocking the other person; in any, deleting the
// chat for oneself.

import { $, element, written, button } from "./dom.js";
import { api } from "./api.js";
import { state } from "./state.js";
import { send, connected, TRY_LATER } from "./socket.js";
import { chatName, otherMember } from "./chats.js";
import { blocks } from "./blocks.js";

export function wireDetails() {
  $("chat-details").onclick = () => showDetails(state.open);
  $("details-close").onclick = () => $("details-dialog").close();
  $("details-dialog").onclose = () => (state.details = null);
  $("rename-form").onsubmit = (event) => {
    event.preventDefault();
    ask({ type: "rename_group", chat_id: state.details, name: $("rename").value });
  };
  $("add-form").onsubmit = (event) => {
    event.preventDefault();
    const user = $("add-person").value;
    if (user) ask({ type: "add_members", chat_id: state.details, users: [user] });
  };
  $("hide-chat").onclick = () => {
    const sure = window.confirm("Delete this chat for you? Its messages so far go from your devices; the others keep them.");
    if (sure) ask({ type: "hide_chat", chat_id: state.details });
  };
  $("leave").onclick = () => {
    const chat = state.chats.get(state.details);
    if (chat && window.confirm(`Leave ${chat.name}? You will no longer get its messages.`)) {
      ask({ type: "leave_group", chat_id: chat.id });
    }
  };
}

export async function showDetails(chatId) {
  const chat = state.chats.get(chatId);
  if (!chat) return;
  state.details = chatId;
  $("details-error").textContent = "";
  $("details-title").textContent = chatName(chat);
  const group = chat.type === 1;
  $("members-part").hidden = !group;
  $("leave").hidden = !group;
  $("block").hidden = group;
  if (!$("details-dialog").open) $("details-dialog").showModal();
  try {
    if (group) await drawMembers(chat);
    else drawBlock(chat);
  } catch (error) {
    $("details-error").textContent = error.message;
  }
}

// The open details again, after a change to the chat they show.
export function redrawDetails(chatId) {
  if (state.details && state.details === chatId) showDetails(chatId);
}

export function closeDetails(chatId) {
  if (state.details === chatId) $("details-dialog").close();
}

// A refusal (not allowed, blocked, contacts only…) said in the dialog.
export function detailsError(message) {
  if (!state.details) return false;
  $("details-error").textContent = message;
  return true;
}

async function drawMembers(chat) {
  const members = await api(`/chats/${chat.id}/members`);
  for (const member of members) state.people.set(member.id, member.name);
  const mine = members.find((member) => member.id === state.me.id)?.role ?? "member";
  $("rename-form").hidden = mine === "member";
  $("rename").value = chat.name;
  $("members").replaceChildren(...members.map((member) => memberItem(chat, member, mine)));
  const inside = new Set(members.map((member) => member.id));
  const others = [...state.people].filter(([id]) => !inside.has(id) && !blocks(id));
  $("add-person").replaceChildren(...others.map(([id, name]) => option(id, name)));
  $("add-form").hidden = !others.length;
}

function option(value, text) {
  const node = element("option", "", text);
  node.value = value;
  return node;
}

function memberItem(chat, member, mine) {
  const item = element("li");
  const me = member.id === state.me.id;
  item.append(written("span", "member-name", me ? `${member.name} (you)` : member.name));
  if (member.role !== "member") item.append(element("span", "role", member.role));
  if (!me && mine === "owner") {
    const admin = member.role === "admin";
    const label = admin ? "Make member" : "Make admin";
    const role = button(label, "secondary", `${label}: ${member.name}`);
    role.onclick = () => ask({ type: "set_role", chat_id: chat.id, user_id: member.id, role: admin ? "member" : "admin" });
    item.append(role);
  }
  if (!me && (mine === "owner" || (mine === "admin" && member.role === "member"))) {
    const remove = button("Remove", "secondary danger", `Remove ${member.name}`);
    remove.onclick = () => ask({ type: "remove_member", chat_id: chat.id, user_id: member.id });
    item.append(remove);
  }
  return item;
}

function drawBlock(chat) {
  const other = otherMember(chat);
  const block = $("block");
  block.hidden = !other;
  if (!other) return;
  const blocked = blocks(other.id);
  block.textContent = blocked ? `Unblock ${other.name}` : `Block ${other.name}`;
  block.onclick = () => {
    const sure = blocked || window.confirm(
      `Block ${other.name}? You will not see their messages, and they cannot start a chat with you or add you to groups.`,
    );
    if (sure) ask({ type: blocked ? "unblock_user" : "block_user", user_id: other.id });
  };
}

function ask(frame) {
  if (!connected()) return ($("details-error").textContent = TRY_LATER);
  $("details-error").textContent = "";
  send(frame);
}
