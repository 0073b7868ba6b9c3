// Finding people (to start a direct chat) and finding messages (to open
// a chat at one).

import { $, element, written, button } from "./dom.js";
import { api } from "./api.js";
import { PAGE, state, messagesOf } from "./state.js";
import { send } from "./socket.js";
import { loadChats, chatName } from "./chats.js";
import { addMessage } from "./messages.js";
import { renderMessages } from "./render.js";
import { openChat } from "./views.js";

export function wireSearch() {
  const people = (query) => `/users?query=${query}`;
  const words = (query) => `/search?query=${query}&limit=20`;
  whileTyping($("search"), () => lookUp($("search"), $("search-results"), people, personItem, "Nobody found"));
  whileTyping($("find"), () => lookUp($("find"), $("find-results"), words, foundItem, "No messages found"));
  $("search-form").onsubmit = (event) => event.preventDefault();
  $("find-form").onsubmit = (event) => event.preventDefault();
}

function whileTyping(input, then) {
  let timer;
  input.oninput = () => {
    clearTimeout(timer);
    timer = setTimeout(then, 300);
  };
}

// Shows in `results` what `path` finds for the input's text (or why
// nothing could be asked, such as too many searches in a minute).
async function lookUp(input, results, path, item, none) {
  const query = input.value.trim();
  if (!query) return (results.hidden = true);
  try {
    const found = await api(path(encodeURIComponent(query)));
    results.replaceChildren(...(found.length ? found.map(item) : [element("li", "", none)]));
  } catch (error) {
    results.replaceChildren(element("li", "error", error.message));
  }
  results.hidden = false;
}

function personItem(person) {
  state.people.set(person.id, person.name);
  const item = element("li");
  item.append(written("span", "", person.name));
  const start = button("Message", "secondary", `Message ${person.name}`);
  start.onclick = () => {
    state.directWith = person.id;
    send({ type: "open_direct_chat", user_id: person.id });
  };
  item.append(start);
  return item;
}

function foundItem({ message, snippet }) {
  const item = element("li");
  const open = button(undefined, "found-message");
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
  state.found = message.id;
  renderMessages();
  $("messages").querySelector(".found")?.scrollIntoView({ block: "center" });
}
