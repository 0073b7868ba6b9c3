// New groups and the privacy settings.

import { $, element, written } from "./dom.js";
import { state } from "./state.js";
import { send, connected, TRY_LATER } from "./socket.js";

export function wireGroups() {
  $("new-group").onclick = () => {
    const people = [...state.people].filter(([id]) => id !== state.me.id);
    $("group-people").replaceChildren(...people.map(([id, name]) => personBox(id, name)));
    $("group-error").textContent = "";
    $("group-dialog").showModal();
  };
  $("group-cancel").onclick = () => $("group-dialog").close();
  $("group-form").onsubmit = (event) => {
    event.preventDefault();
    // The dialog stays open, with what was chosen, until it can be sent.
    if (!connected()) return ($("group-error").textContent = TRY_LATER);
    const users = [...$("group-people").querySelectorAll("input:checked")].map((box) => box.value);
    send({ name: $("group-name").value, users });
    $("group-name").value = "";
    $("group-dialog").close();
  };
  $("privacy").onclick = () => $("privacy-dialog").showModal();
  $("privacy-presence").onchange = (event) => send({ type: "set_privacy", presence: event.target.value });
  $("privacy-group-adds").onchange = (event) => send({ type: "set_privacy", group_adds: event.target.value });
}

function personBox(id, name) {
  const label = element("label");
  const box = element("input");
  box.type = "checkbox";
  box.value = id;
  label.append(box, written("span", "", name));
  return label;
}
