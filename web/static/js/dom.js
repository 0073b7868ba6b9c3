// Building the page: elements by id, new elements, what people wrote in
// the direction of its own script, and how times and days are shown.

export const $ = (id) => document.getElementById(id);

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// What people wrote (messages, names), in the direction of its own
// script: Arabic or Hebrew right to left in a left-to-right page.
export function written(tag, className, text) {
  const node = element(tag, className, text);
  node.dir = "auto";
  return node;
}

export function button(text, className, label) {
  const node = element("button", className, text);
  node.type = "button";
  if (label) node.setAttribute("aria-label", label);
  return node;
}

// Text hidden from the eye and read by screen readers.
export function spoken(text) {
  return element("span", "visually-hidden", text);
}

export function timeOf(timestamp) {
  return new Date(timestamp).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// The calendar day of `timestamp` in the reader's own time zone,
// YYYY-MM-DD.
export function isoDay(timestamp) {
  const date = new Date(timestamp);
  const two = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
}

// "Today", "Yesterday", a weekday within the week, or the full date.
export function dayName(timestamp, now = new Date()) {
  const date = new Date(timestamp);
  const midnight = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const days = Math.round((midnight(now) - midnight(date)) / 86_400_000);
  if (days === 0) return "Today";
  if (days === 1) return "Yesterday";
  if (days > 1 && days < 7) return date.toLocaleDateString([], { weekday: "long" });
  const sameYear = date.getFullYear() === now.getFullYear();
  return date.toLocaleDateString([], { day: "numeric", month: "long", ...(sameYear ? {} : { year: "numeric" }) });
}

// A message in one line (chat list, notifications, screen readers).
export function summary(message) {
  if (message.deleted) return "Message deleted";
  if (message.text) return message.text;
  const files = (message.attachments ?? []).map((file) => file.name).join(", ");
  return files ? `📎 ${files}` : "Attachment";
}
