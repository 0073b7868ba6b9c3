// Writing: the message box (send, edit, the length limit, typing
// notices) and deleting one's own messages.

import { $ } from "./dom.js";
import { MAX_TEXT, state } from "./state.js";
import { send, connected, TRY_LATER } from "./socket.js";
import { sendMessage, editMessage, deleteMessage } from "./messages.js";
import { setStatus } from "./render.js";

const TYPING_EVERY_MS = 3000;

// Characters as the server counts them (a character beyond the BMP is one).
const length = (text) => [...text].length;

export function wireComposer() {
  $("composer").onsubmit = (event) => {
    event.preventDefault();
    const text = $("text").value;
    if (!text.trim() && !state.editing) return;
    if (length(text) > MAX_TEXT) return showLimit(true);
    if (state.editing) return finishEditing(text);
    $("text").value = "";
    showLimit();
    sendMessage(text);
  };
  $("text").onkeydown = (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("composer").requestSubmit();
    } else if (event.key === "Escape" && state.editing) {
      stopEditing();
    }
  };
  $("text").oninput = () => {
    showLimit();
    if (Date.now() - state.lastTyping > TYPING_EVERY_MS && state.open && !state.editing) {
      state.lastTyping = Date.now();
      send({ type: "typing", chat_id: state.open });
    }
  };
  $("cancel-edit").onclick = stopEditing;
}

// Over the limit, the box says by how much (nothing is cut unseen).
function showLimit(refused = false) {
  const used = length($("text").value);
  const note = $("text-limit");
  note.hidden = used <= MAX_TEXT - 200;
  note.textContent = `${used.toLocaleString()} / ${MAX_TEXT.toLocaleString()}`;
  if (used > MAX_TEXT) note.textContent += `: ${(used - MAX_TEXT).toLocaleString()} too many to send`;
  note.classList.toggle("over", used > MAX_TEXT);
  $("text").setAttribute("aria-invalid", String(used > MAX_TEXT));
  if (refused) $("text").focus();
}

export function startEditing(message) {
  state.editing = message;
  $("editing").hidden = false;
  $("text").value = message.text;
  showLimit();
  $("text").focus();
}

export function stopEditing() {
  state.editing = null;
  $("editing").hidden = true;
  $("text").value = "";
  showLimit();
}

function finishEditing(text) {
  const message = state.editing;
  if (!text.trim()) return askToDelete(message);
  if (text === message.text) return stopEditing();
  if (!connected()) return setStatus(TRY_LATER);
  editMessage(message, text);
  stopEditing();
}

export function askToDelete(message) {
  if (!connected()) return setStatus(TRY_LATER);
  if (!window.confirm("Delete this message for everyone?")) return;
  deleteMessage(message);
  if (state.editing === message) stopEditing();
}
