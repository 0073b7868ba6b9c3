// Attachments: files picked or dropped on the chat are uploaded (each
// with a progress bar), then sent in one message with what is typed.

import { $, element } from "./dom.js";
import { upload } from "./api.js";
import { state } from "./state.js";
import { sendMessage } from "./messages.js";
import { setStatus } from "./render.js";
import { openChat } from "./views.js";

export function wireFiles() {
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
}

// A file refused stops the message and says why.
async function attachFiles(files) {
  const chatId = state.open;
  if (!files.length || !chatId) return;
  const rows = files.map((file) => uploadRow(file));
  try {
    const sent = await Promise.all(
      files.map((file, n) => upload(file, (done) => (rows[n].querySelector("progress").value = done))),
    );
    rows.forEach((row) => row.remove());
    if (state.open !== chatId) openChat(chatId);
    const text = $("text").value;
    $("text").value = "";
    sendMessage(text, sent);
  } catch (error) {
    rows.forEach((row) => row.classList.add("failed"));
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
