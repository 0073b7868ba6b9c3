// What a person does in the client, as test steps: log in, open a chat,
// write; and the checks every screen gets (axe-core, touch targets).

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import assert from "node:assert/strict";

export const patience = 15_000;
export const DESKTOP = { width: 1100, height: 720 };
export const PHONE = { width: 390, height: 780 };

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export function step(text) {
  console.log(`ok - ${text}`);
}

// A page in a context of its own (a browser profile: its own cookie and
// storage), with the console's errors kept for `noErrors`.
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: DESKTOP, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(patience);
  page.errors = [];
  page.on("console", (message) => {
    if (message.type() === "error") page.errors.push(message.text());
  });
  page.on("pageerror", (error) => page.errors.push(error.message));
  return page;
}

export function noErrors(page) {
  assert.deepEqual(page.errors, [], "the browser console logged errors");
}

export async function logIn(page, base, user) {
  await page.goto(base);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.locator("#app-view").waitFor({ state: "visible" });
}

export async function openChatWith(page, name) {
  // On a phone showing a chat, the list is one step back.
  if (!(await page.locator("#chat-list").isVisible())) await backToChats(page);
  await page.locator(".chat-item", { hasText: name }).first().click();
  await page.locator("#composer").waitFor({ state: "visible" });
}

export async function backToChats(page) {
  await page.getByRole("button", { name: "Back to chats" }).click();
  await page.locator("#chat-list").waitFor({ state: "visible" });
}

export async function say(page, text) {
  await page.getByLabel("Message", { exact: true }).fill(text);
  await page.getByLabel("Message", { exact: true }).press("Enter");
}

export function messages(page, text) {
  return page.locator("#messages .message .text", { hasText: text });
}

// The whole message (text, time, receipt, actions) whose text has `text`.
export function message(page, text) {
  return page.locator("#messages .message", { has: page.locator(".text", { hasText: text }) });
}

// Until the socket has caught up (no connection notice left).
export async function synced(page) {
  await page.waitForFunction(() => window.messenger.state.synced);
}

// axe-core on what the page shows now: no serious or critical violation.
export async function accessible(page, where) {
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  assert.deepEqual(found, [], `accessibility violations on ${where}`);
}

// Every control one can touch is at least 44 × 44 CSS pixels.
export async function largeTargets(page, where) {
  const small = await page.evaluate(() => {
    const controls = document.querySelectorAll("button, select, textarea, input:not([type=checkbox]):not([type=file]), label.attach");
    return [...controls]
      .filter((node) => node.getClientRects().length && getComputedStyle(node).visibility !== "hidden")
      .filter((node) => !node.closest(".visually-hidden"))
      .map((node) => ({ node, box: node.getBoundingClientRect() }))
      .filter(({ box }) => box.width < 44 || box.height < 44)
      .map(({ node, box }) => `${node.id || node.className || node.tagName} ${Math.round(box.width)}×${Math.round(box.height)}`);
  });
  assert.deepEqual(small, [], `touch targets under 44 px on ${where}`);
}
