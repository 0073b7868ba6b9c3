// The web client end to end, as people use it: the real messenger (core,
// edge, PostgreSQL) and Debian's Chromium, headless, driven by
// playwright-core, at desktop and phone sizes. Run by `web/tests/run`
// (which `.ci/run` calls after `cargo test`).
//
// Environment: MESSENGER_BIN (`run` sets it to the binary cargo built;
// default target/debug/messenger), CHROMIUM (default /usr/bin/chromium),
// DATABASE_URL (a server where a database of its own is created; without
// it the messenger's embedded cluster runs in a temporary folder),
// SCREENSHOT (default docs/web-client.png; the phone-sized view goes
// beside it as docs/web-client-phone.png).

import { chromium } from "playwright-core";
import { join } from "node:path";
import assert from "node:assert/strict";
import { root, startMessenger, demoPair } from "./messenger.mjs";
import {
  DESKTOP, PHONE, step, newPage, noErrors, logIn, openChatWith, backToChats, say, messages, message,
  synced, accessible, largeTargets,
} from "./pages.mjs";

const screenshot = process.env.SCREENSHOT ?? join(root, "docs/web-client.png");
const phoneScreenshot = join(root, "docs/web-client-phone.png");

async function run() {
  const messenger = await startMessenger();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  try {
    await scenario(browser, messenger.base);
  } finally {
    await browser.close();
    await messenger.stop();
  }
}

async function scenario(browser, base) {
  const { chat, first, second } = demoPair();
  await firstVisit(browser, base);
  const a = await newPage(browser, { viewport: DESKTOP });
  const b = await newPage(browser, { viewport: PHONE });
  await logIn(a, base, first);
  await logIn(b, base, second);
  await openChatWith(a, second.name);
  await openChatWith(b, first.name);
  step("two users log in (desktop and phone) and open their chat");

  await say(a, "Hello from the browser");
  await messages(b, "Hello from the browser").waitFor();
  step("a message reaches the other user live");
  // The other side has the chat open: it read the message, so the sender
  // sees the receipt.
  await a.locator('[data-receipt="seen"]').last().waitFor();
  step("the read receipt appears");
  await b.locator("#announcer", { hasText: `${first.name}: Hello from the browser` }).waitFor({ state: "attached" });
  const spoken = await message(b, "Hello from the browser").textContent();
  assert.ok(spoken.startsWith(`${first.name}: `), spoken);
  step("a new message is announced to screen readers, its sender named in a direct chat");

  await b.getByLabel("Message", { exact: true }).pressSequentially("typing…");
  await a.locator("#chat-status", { hasText: "is typing" }).waitFor();
  await b.getByLabel("Message", { exact: true }).fill("");
  step("typing shows on the other side");

  // Both have written: they are contacts, and see each other online.
  await say(b, "Hello back");
  await messages(a, "Hello back").waitFor();
  await a.locator("#chat-status", { hasText: /^online$/ }).waitFor();
  step("contacts (both wrote) see each other online");

  // Each text in the direction of its own script.
  const rtl = (locator) => locator.evaluate((node) => node.matches(":dir(rtl)"));
  await say(b, "مرحبا بالعالم");
  await messages(a, "مرحبا بالعالم").waitFor();
  assert.equal(await rtl(messages(a, "مرحبا بالعالم")), true);
  assert.equal(await rtl(messages(a, "Hello back")), false);
  assert.equal(await rtl(a.locator(".chat-last", { hasText: "مرحبا بالعالم" })), true);
  step("right-to-left text shows right to left, beside left-to-right text");
  await backToChats(b);
  await b.getByRole("button", { name: "Privacy" }).click();
  await b.getByLabel("Who sees when you are online").selectOption("nobody");
  await a.locator("#chat-status", { hasText: /^online$/ }).waitFor({ state: "detached" });
  await b.getByLabel("Who sees when you are online").selectOption("contacts");
  await b.getByRole("button", { name: "Close" }).click();
  await a.locator("#chat-status", { hasText: /^online$/ }).waitFor();
  await openChatWith(b, first.name);
  step("hiding one's presence in the privacy settings hides it from contacts");

  await a.reload();
  await a.locator("#app-view").waitFor({ state: "visible" });
  await openChatWith(a, second.name);
  await messages(a, "Hello from the browser").waitFor();
  step("a reload keeps the session (cookie) and the history");

  for (const [page, where] of [[a, "desktop"], [b, "phone"]]) {
    await accessible(page, `an open chat (${where})`);
    await largeTargets(page, `an open chat (${where})`);
  }
  step("an open chat passes axe-core, with 44 px touch targets, on desktop and phone");

  await droppedConnection(a, b);
  await tooManyTabs(a);
  await readWhileOffline(a, b, first);
  await editAndDelete(a, b);
  await filesAndSearch(a, b);

  await a.screenshot({ path: screenshot });
  await b.screenshot({ path: phoneScreenshot });
  step(`screenshots saved to ${screenshot} and ${phoneScreenshot}`);

  await newcomerFindsSomeone(browser, base, first, a);
  await scrollingBack(browser, base, first, second, b, a);
  await unreadDuringSync(browser, base, chat, first, second, a, b);
  await listsAndLayout(a, b, first, second);
  await tooLong(a, b, second);
  await notifications(browser, base, first, second, a, b);
  await groupsAndLogout(a, b, second);
}

// A first visit: the login form at once, and nothing red in the console
// (no 401 from asking who is logged in); accessible in light and dark.
async function firstVisit(browser, base) {
  for (const [viewport, colorScheme, where] of [[DESKTOP, "light", "desktop"], [PHONE, "dark", "phone, dark"]]) {
    const page = await newPage(browser, { viewport, colorScheme });
    await page.goto(base);
    await page.locator("#login-view").waitFor({ state: "visible" });
    await page.waitForTimeout(300);
    noErrors(page);
    await accessible(page, `the login screen (${where})`);
    await largeTargets(page, `the login screen (${where})`);
    const background = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    const [r, g, blue] = background.match(/\d+/g).map(Number);
    const light = (r + g + blue) / 3 > 128;
    assert.equal(light, colorScheme === "light", `${colorScheme} scheme drew ${background}`);
    await page.context().close();
  }
  step("a first visit shows the login form with no console error, in light and dark, accessible on desktop and phone");
}

// The connection drops: what the other user sends meanwhile arrives
// after it comes back, and what was typed offline is sent once.
async function droppedConnection(a, b) {
  await a.context().setOffline(true);
  await a.locator("#connection", { hasText: "Offline" }).waitFor();
  for (const n of [1, 2, 3]) await say(b, `While you were away ${n}`);
  await say(a, "Written offline");
  await a.locator('[data-receipt="pending"]').waitFor();
  await a.context().setOffline(false);
  for (const n of [1, 2, 3]) await messages(a, `While you were away ${n}`).waitFor();
  await messages(b, "Written offline").waitFor();
  await a.locator('[data-receipt="pending"]').waitFor({ state: "detached" });
  await a.locator("#connection").waitFor({ state: "hidden" });
  await b.waitForTimeout(500);
  for (const n of [1, 2, 3]) assert.equal(await messages(a, `While you were away ${n}`).count(), 1);
  assert.equal(await messages(b, "Written offline").count(), 1);
  assert.equal(await messages(a, "Written offline").count(), 1);
  step("going offline says so at once; the connection resumes without loss or doubles");
}

// One user's connections past the server's bound (MAX_SESSIONS_PER_USER,
// low in these tests): a further tab says why it is not connected, and
// gets in once another connection closes.
async function tooManyTabs(a) {
  // Bare WebSockets on a's cookie fill the bound.
  const filled = await a.evaluate(async () => {
    window.extraSockets = [];
    while (window.extraSockets.length < 100) {
      const socket = new WebSocket(`ws://${location.host}/ws`);
      const frame = await new Promise((done) => (socket.onmessage = (event) => done(JSON.parse(event.data))));
      if (frame.type !== "auth_success") {
        socket.close();
        return frame.detail.code;
      }
      window.extraSockets.push(socket);
    }
    return "never refused";
  });
  assert.equal(filled, "too_many_sessions");
  const tab = await a.context().newPage();
  await tab.goto(a.url());
  await tab.locator("#connection", { hasText: "the most one user may" }).waitFor();
  await a.evaluate(() => window.extraSockets.pop().close());
  await tab.locator("#connection").waitFor({ state: "hidden" });
  await tab.close();
  await a.evaluate(() => window.extraSockets.forEach((socket) => socket.close()));
  step("a tab past one user's bound on connections says why, and connects once another closes");
}

// A chat opened while offline is marked read once the connection is back:
// the sender sees "Seen", and the reader's list (after a reload too) has
// nothing unread.
async function readWhileOffline(a, b, first) {
  await backToChats(b);
  await say(a, "Read me when you can");
  const item = b.locator(".chat-item", { hasText: "Read me when you can" });
  await item.locator(".badge", { hasText: "1" }).waitFor();
  await b.context().setOffline(true);
  await b.locator("#connection", { hasText: "Offline" }).waitFor();
  await openChatWith(b, first.name);
  assert.equal(await b.locator("#connection").isVisible(), true, "the phone shows it is offline over the chat");
  await messages(b, "Read me when you can").waitFor();
  await b.context().setOffline(false);
  await message(a, "Read me when you can").locator('[data-receipt="seen"]').waitFor();
  await b.reload();
  await b.locator("#app-view").waitFor({ state: "visible" });
  await synced(b);
  assert.equal(await item.locator(".badge").isVisible(), false);
  await openChatWith(b, first.name);
  step("a chat read while offline sends its read marker once back online");
}

const ACTIONS = { name: "Edit or delete your message" };

async function editOwn(page, from, to) {
  const mine = message(page, from);
  await mine.getByRole("button", ACTIONS).click();
  await mine.getByRole("button", { name: "Edit", exact: true }).click();
  await page.getByLabel("Message", { exact: true }).fill(to);
  await page.getByLabel("Message", { exact: true }).press("Enter");
}

async function deleteOwn(page, text) {
  const mine = message(page, text);
  page.once("dialog", (confirm) => confirm.accept());
  await mine.getByRole("button", ACTIONS).click();
  await mine.getByRole("button", { name: "Delete", exact: true }).click();
}

// Each side edits one of its messages and deletes another: the other side
// sees the new text marked edited, and a tombstone.
async function editAndDelete(a, b) {
  for (const [writer, reader, where] of [[a, b, "desktop"], [b, a, "phone"]]) {
    await say(writer, `See you at noon (${where})`);
    await messages(reader, `See you at noon (${where})`).waitFor();
    await editOwn(writer, `See you at noon (${where})`, `See you at one (${where})`);
    await message(reader, `See you at one (${where})`).locator(".meta", { hasText: "edited" }).waitFor();
    await message(writer, `See you at one (${where})`).locator(".meta", { hasText: "edited" }).waitFor();
    assert.equal(await messages(reader, `See you at noon (${where})`).count(), 0);
    step(`one's own message is edited (${where}) and shows as edited on both sides`);

    const tombstones = await reader.locator("#messages .message.deleted").count();
    await say(writer, `Wrong chat, sorry (${where})`);
    await messages(reader, `Wrong chat, sorry (${where})`).waitFor();
    await deleteOwn(writer, `Wrong chat, sorry (${where})`);
    await messages(reader, `Wrong chat, sorry (${where})`).waitFor({ state: "detached" });
    assert.equal(await reader.locator("#messages .message.deleted", { hasText: "Message deleted" }).count(), tombstones + 1);
    step(`one's own message is deleted (${where}) and leaves a tombstone`);
  }
  assert.equal(await message(a, "Hello back").getByRole("button", ACTIONS).count(), 0);
  step("others' messages have no edit or delete control");
}

// A 64×48 PNG.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAEAAAAAwCAIAAAAuKetIAAAAYklEQVR4nO3PUQkAIBTAwJfEzDbWEH4cwmABbrP2+brhgga0oAEtaEALGtCCBrSgAS1oQAsa0IIGtKABLWhACxrQgga0oAEtaEALGtCCBrSgAS1oQAsa0IIGtKABLWhACx67ipsdLUn4K0sAAAAASUVORK5CYII=",
  "base64",
);

// `a` and `b` have their chat open.
async function filesAndSearch(a, b) {
  await a.getByLabel("Message", { exact: true }).fill("the view from here");
  await a.locator("#attach").setInputFiles({ name: "view.png", mimeType: "image/png", buffer: PNG });
  const image = b.locator("#messages .message .files img");
  await image.waitFor();
  await b.waitForFunction(() => document.querySelector("#messages .files img")?.naturalWidth > 0);
  assert.equal(await image.getAttribute("alt"), "view.png");
  await messages(b, "the view from here").waitFor();
  step("an image is sent with its caption and shows as a thumbnail");

  const notes = { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("bring the map\n") };
  await a.locator("#attach").setInputFiles(notes);
  const link = b.locator("#messages .files a.file", { hasText: "notes.txt" });
  await link.waitFor();
  assert.equal(await link.getAttribute("download"), "notes.txt");
  const body = await b.evaluate(async (href) => (await fetch(href)).text(), await link.getAttribute("href"));
  assert.equal(body, "bring the map\n");
  step("a file is sent on its own and downloads");

  // Dropped on the chat: uploaded with a progress bar, then sent.
  await a.evaluate(() => {
    window.sawProgress = false;
    new MutationObserver(() => {
      if (document.querySelector("#uploads progress")) window.sawProgress = true;
    }).observe(document.getElementById("uploads"), { childList: true, subtree: true });
    const files = new DataTransfer();
    files.items.add(new File(["dropped words\n"], "dropped.txt", { type: "text/plain" }));
    const view = document.getElementById("chat-view");
    view.dispatchEvent(new DragEvent("dragover", { dataTransfer: files, bubbles: true, cancelable: true }));
    view.dispatchEvent(new DragEvent("drop", { dataTransfer: files, bubbles: true, cancelable: true }));
  });
  await b.locator("#messages .files a.file", { hasText: "dropped.txt" }).waitFor();
  assert.equal(await a.evaluate(() => window.sawProgress), true);
  step("a file dropped on the chat is uploaded with a progress bar and sent");

  await a.locator("#attach").setInputFiles({ name: "empty.txt", mimeType: "text/plain", buffer: Buffer.alloc(0) });
  await a.locator("#chat-status", { hasText: /empty\.txt: .*the file is empty/ }).waitFor();
  await b.waitForTimeout(300);
  assert.equal(await b.locator("#messages .files a", { hasText: "empty.txt" }).count(), 0);
  step("a refused upload says why and sends nothing");

  await backToChats(b);
  await b.getByLabel("Search messages").fill("browser");
  const result = b.locator("#find-results .found-message").first();
  await result.locator("mark", { hasText: "browser" }).waitFor();
  await result.click();
  await b.locator("#messages .message.found", { hasText: "Hello from the browser" }).waitFor();
  step("a message is found by a word and its chat opens at it");
}

// Registration, finding someone by exact email, a direct chat started
// from the search, then deleted by the newcomer for themself; then more
// chats than one page of the list holds.
async function newcomerFindsSomeone(browser, base, first, a) {
  const page = await newPage(browser);
  await page.goto(base);
  await page.getByRole("button", { name: "Create an account" }).click();
  const email = `newcomer.${Date.now()}@example.com`;
  await page.locator("#login-form").getByLabel("Name").fill("Nia Newcomer");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a long enough password");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.locator("#app-view").waitFor({ state: "visible" });
  step("a new user registers");

  await page.getByLabel("Find people").fill(first.email);
  await page.getByRole("button", { name: `Message ${first.name}` }).click();
  await page.locator("#chat-title", { hasText: first.name }).waitFor();
  await say(page, "Hi, I found you");
  await a.locator(".chat-item", { hasText: "Nia Newcomer" }).waitFor();
  step("people are found by email and a direct chat starts");

  await page.getByRole("button", { name: "Details" }).click();
  page.once("dialog", (confirm) => confirm.accept());
  await page.getByRole("button", { name: "Delete for me" }).click();
  await page.locator(".chat-item", { hasText: first.name }).waitFor({ state: "detached" });
  await page.locator("#chat-title", { hasText: "Choose a chat" }).waitFor();
  await page.reload();
  await page.locator("#app-view").waitFor({ state: "visible" });
  assert.equal(await page.locator(".chat-item", { hasText: first.name }).count(), 0);
  assert.equal(await a.locator(".chat-item", { hasText: "Nia Newcomer" }).count(), 1);
  await openChatWith(a, "Nia Newcomer");
  await say(a, "Welcome aboard");
  await openChatWith(page, first.name);
  await messages(page, "Welcome aboard").waitFor();
  assert.equal(await messages(page, "Hi, I found you").count(), 0);
  step("a chat deleted for oneself leaves the list and comes back with only the next message");

  // 201 groups and the personal chat: three pages of the server's list.
  await synced(page);
  await page.evaluate(() => {
    for (let n = 1; n <= 201; n++) window.messenger.socket().send(JSON.stringify({ name: `Club ${n}`, users: [] }));
  });
  await page.waitForFunction(() => window.messenger.state.chats.size === 202, null, { timeout: 60_000 });
  await page.reload();
  await page.locator(".chat-name", { hasText: /^Club 1$/ }).waitFor();
  assert.equal(await page.locator(".chat-item").count(), 202);
  step("a user in 202 chats reaches every one of them");
  await openChatWith(a, "Nia Newcomer");
  await page.context().close();
}

// A device that has only the newest page loads older messages as the
// user scrolls up, by cursor; a fresh login shows the receipts of one's
// own messages and the days the messages were written.
async function scrollingBack(browser, base, first, second, b, a) {
  await openChatWith(a, second.name);
  await b.evaluate(() => {
    const { state, socket } = window.messenger;
    for (let n = 1; n <= 80; n++) {
      const frame = { client_id: crypto.randomUUID(), sender_id: state.me.id, chat_id: state.open, text: `Older ${n}` };
      socket().send(JSON.stringify(frame));
    }
  });
  await messages(a, "Older 80").waitFor();
  await say(a, "Last word");
  await message(a, "Last word").locator('[data-receipt="seen"]').waitFor();
  const page = await newPage(browser, { colorScheme: "dark" });
  await logIn(page, base, first);
  await openChatWith(page, second.name);
  await message(page, "Last word").locator('[data-receipt="seen"]').waitFor();
  step("after a fresh login one's own messages show the receipts they had");

  const oldest = page.locator("#messages .message .text", { hasText: /^Older 1$/ });
  await messages(page, "Older 80").waitFor();
  assert.equal(await oldest.count(), 0);
  for (let tries = 0; tries < 20 && (await oldest.count()) === 0; tries++) {
    await page.locator("#messages").evaluate((box) => (box.scrollTop = 0));
    await page.waitForTimeout(300);
  }
  assert.equal(await oldest.count(), 1);
  step("scrolling up loads older history");

  // The demo data's messages are from 2025: each day is named above its
  // first message, the year with it; today's are under "Today".
  for (let tries = 0; tries < 60; tries++) {
    const whole = await page.evaluate(() => {
      const { state } = window.messenger;
      document.getElementById("messages").scrollTop = 0;
      return state.messages.get(state.open)?.find((m) => m.seq)?.seq === 1;
    });
    if (whole) break;
    await page.waitForTimeout(300);
  }
  const days = await page.locator("#messages .day time").evaluateAll((nodes) => nodes.map((n) => n.textContent));
  assert.ok(days.some((day) => /2025/.test(day)), `days shown: ${days.join(", ")}`);
  assert.equal(days.at(-1), "Today");
  assert.equal(new Set(days).size, days.length, "each day is named once");
  step("messages show the day they were written, with date separators");
  await accessible(page, "an open chat (desktop, dark)");
  step("an open chat in dark mode passes axe-core");
  await page.context().close();
}

// A fresh login's first sync replays messages the chat list has counted
// already: the unread badge shows the count it ends with, never more.
async function unreadDuringSync(browser, base, chat, first, second, a, b) {
  await backToChats(b);
  for (const n of [1, 2, 3, 4]) await say(a, `Unread ${n}`);
  await b.locator(".chat-item", { hasText: "Unread 4" }).locator(".badge", { hasText: /^4$/ }).waitFor();
  const page = await newPage(browser, { viewport: PHONE, colorScheme: "dark" });
  await page.addInitScript((chatId) => {
    window.badges = [];
    new MutationObserver(() => {
      const badge = document.querySelector(`[data-chat="${chatId}"] .badge`);
      if (badge && !badge.hidden) window.badges.push(Number(badge.textContent));
    }).observe(document, { childList: true, subtree: true, characterData: true });
  }, chat.id);
  await logIn(page, base, second);
  await synced(page);
  await page.waitForTimeout(1000);
  const shown = await page.evaluate(() => window.badges);
  assert.ok(shown.length > 0);
  assert.deepEqual([...new Set(shown)], [4], `the badge showed ${shown.join(", ")}`);
  step("unread badges do not jump during the first sync");
  await accessible(page, "the chat list (phone, dark)");
  await largeTargets(page, "the chat list (phone, dark)");
  await page.context().close();
  await openChatWith(b, first.name);
}

// Keyboard focus stays on its chat when the list is drawn again, inside
// the list's box; a long group name does not widen the page; a phone's
// Back goes from a chat to the list.
async function listsAndLayout(a, b, first, second) {
  const item = a.locator(".chat-item", { hasText: "Nia Newcomer" });
  await item.focus();
  await a.keyboard.press("Tab");
  await a.keyboard.press("Shift+Tab");
  const id = await item.getAttribute("data-chat");
  await say(b, "Moving the list");
  await a.locator(".chat-last", { hasText: "Moving the list" }).waitFor();
  const focus = await a.evaluate(() => {
    const node = document.activeElement;
    const style = getComputedStyle(node);
    const reach = parseFloat(style.outlineWidth) + parseFloat(style.outlineOffset);
    const box = node.getBoundingClientRect();
    const list = document.getElementById("chat-list").getBoundingClientRect();
    const clipped = box.left - reach < list.left || box.right + reach > list.right;
    return { chat: node.dataset.chat, visible: node.matches(":focus-visible"), clipped };
  });
  assert.deepEqual(focus, { chat: id, visible: true, clipped: false });
  step("keyboard focus stays on its chat when the list changes, its outline whole");

  const long = "W".repeat(128);
  await a.getByRole("button", { name: "New group" }).click();
  await a.locator("#group-dialog").getByLabel("Name").fill(long);
  await a.getByRole("checkbox", { name: second.name }).check();
  await a.getByRole("button", { name: "Create" }).click();
  await a.locator("#chat-title", { hasText: long }).waitFor();
  await backToChats(b);
  await b.locator(".chat-item", { hasText: long }).waitFor();
  const wide = (page) => page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
  assert.equal(await wide(a), false, "the desktop page scrolls sideways");
  assert.equal(await wide(b), false, "the phone's list scrolls sideways");
  await openChatWith(b, long);
  assert.equal(await wide(b), false, "the phone's chat scrolls sideways");
  step("a 128-character group name does not widen the page");

  await backToChats(b);
  await openChatWith(b, first.name);
  await b.goBack();
  await b.locator("#chat-list").waitFor({ state: "visible" });
  assert.equal(new URL(b.url()).pathname, "/");
  await openChatWith(b, first.name);
  step("on a phone the browser's Back goes from a chat to the list");
}

// Text over the limit is never cut unseen: the box says by how much and
// keeps it; at the limit it goes.
async function tooLong(a, b, second) {
  await openChatWith(a, second.name);
  const box = a.getByLabel("Message", { exact: true });
  const over = `${"word ".repeat(820)}overlong`;
  await box.fill(over);
  await a.locator("#text-limit", { hasText: "too many" }).waitFor();
  await box.press("Enter");
  await a.waitForTimeout(300);
  assert.equal(await box.inputValue(), over);
  const fits = `${"word ".repeat(818)}at the limit`.slice(-4096);
  assert.equal(fits.length, 4096);
  await box.fill(fits);
  await box.press("Enter");
  await messages(b, "at the limit").waitFor();
  assert.equal((await messages(b, "at the limit").textContent()).length, 4096);
  assert.equal(await messages(b, "overlong").count(), 0);
  step("text over 4,096 characters is kept and says so; at the limit it is sent whole");
}

// The title counts what is unread; a hidden tab notifies of new messages
// once the user turned notifications on (offered, never asked unprompted).
async function notifications(browser, base, first, second, a, b) {
  await backToChats(b);
  const count = () => b.evaluate(() => Number(document.title.match(/^\((\d+)\)/)?.[1] ?? 0));
  const before = await count();
  await say(a, "Title check");
  await b.waitForFunction((n) => document.title === `(${n + 1}) Messenger`, before);
  await openChatWith(b, first.name);
  assert.equal(await count(), before);
  step("the unread count shows in the title");

  await backToChats(b);
  await b.locator("#notify-offer").waitFor();
  await b.getByRole("button", { name: "Not now" }).click();
  await b.reload();
  await b.locator("#app-view").waitFor({ state: "visible" });
  assert.equal(await b.locator("#notify-offer").isVisible(), false);
  await openChatWith(b, first.name);

  const page = await newPage(browser);
  await page.addInitScript(() => {
    window.shown = [];
    window.Notification = class {
      static permission = "granted";
      static requestPermission = async () => "granted";
      constructor(title, options) {
        window.shown.push({ title, body: options.body });
      }
      close() {}
    };
    Object.defineProperty(document, "hidden", { get: () => window.away === true });
  });
  await logIn(page, base, second);
  await synced(page);
  await page.evaluate(() => (window.away = true));
  await say(a, "While your tab sleeps");
  await page.waitForFunction(() => window.shown.length > 0);
  assert.deepEqual(await page.evaluate(() => window.shown), [{ title: first.name, body: "While your tab sleeps" }]);
  step("notifications are offered, can be declined, and tell of messages while the tab is hidden");
  await page.context().close();
}

// The owner (desktop) sees the members with their roles, makes one an
// admin, renames the group, adds and removes someone; the admin (phone)
// may rename but not change roles, and leaves.
async function manageGroup(a, b, second) {
  await a.getByRole("button", { name: "Details" }).click();
  const dialog = a.locator("#details-dialog");
  const row = (page, name) => page.locator("#members li", { hasText: name });
  await row(a, "(you)").locator(".role", { hasText: "owner" }).waitFor();
  await accessible(a, "a group's details (desktop)");
  await dialog.getByRole("button", { name: `Make admin: ${second.name}` }).click();
  await row(a, second.name).locator(".role", { hasText: "admin" }).waitFor();
  await dialog.getByLabel("Group name").fill("Weekend trip to the lake");
  await dialog.getByRole("button", { name: "Rename" }).click();
  await b.locator(".chat-item", { hasText: "Weekend trip to the lake" }).waitFor();
  await a.locator("#chat-title", { hasText: "Weekend trip to the lake" }).waitFor();
  const someone = await dialog.locator("#add-person option").first();
  const newcomer = await someone.textContent();
  await dialog.getByLabel("Someone to add").selectOption({ label: newcomer });
  await dialog.getByRole("button", { name: "Add", exact: true }).click();
  await row(a, newcomer).waitFor();
  await dialog.getByRole("button", { name: `Remove ${newcomer}` }).click();
  await row(a, newcomer).waitFor({ state: "detached" });
  step("the owner sees members and roles, makes an admin, renames, adds and removes (desktop)");

  await openChatWith(b, "Weekend trip to the lake");
  await b.getByRole("button", { name: "Details" }).click();
  await row(b, "(you)").locator(".role", { hasText: "admin" }).waitFor();
  assert.equal(await b.locator("#rename-form").isVisible(), true);
  assert.equal(await b.locator("#members").getByRole("button", { name: /^Make/ }).count(), 0);
  await accessible(b, "a group's details (phone)");
  await largeTargets(b, "a group's details (phone)");
  b.once("dialog", (confirm) => confirm.accept());
  await b.getByRole("button", { name: "Leave group" }).click();
  await b.locator("#details-dialog").waitFor({ state: "hidden" });
  await b.locator(".chat-item", { hasText: "Weekend trip to the lake" }).waitFor({ state: "detached" });
  await row(a, second.name).waitFor({ state: "detached" });
  await a.getByRole("button", { name: "Close" }).click();
  step("an admin may rename but not set roles, and leaves (phone)");
}

// Blocking from a personal chat's details: the blocked person's messages
// no longer show; unblocking brings them back, those sent meanwhile too.
async function blocking(blocker, other, where) {
  const name = (page) => page.locator("#me-name").textContent();
  const [blockerName, otherName] = [await name(blocker), await name(other)];
  await openChatWith(blocker, otherName);
  await openChatWith(other, blockerName);
  const [before, during] = [`Before the block (${where})`, `During the block (${where})`];
  await say(other, before);
  await messages(blocker, before).waitFor();
  blocker.once("dialog", (confirm) => confirm.accept());
  await blocker.getByRole("button", { name: "Details" }).click();
  await blocker.getByRole("button", { name: `Block ${otherName}` }).click();
  await blocker.locator("#chat-status", { hasText: "blocked" }).waitFor();
  await blocker.getByRole("button", { name: `Unblock ${otherName}` }).waitFor();
  await blocker.getByRole("button", { name: "Close" }).click();
  await messages(blocker, before).waitFor({ state: "detached" });
  await say(other, during);
  await message(other, during).locator('[data-receipt="sent"]').waitFor();
  await blocker.waitForTimeout(1000);
  assert.equal(await messages(blocker, during).count(), 0);
  step(`a blocked person's messages no longer show (${where})`);

  await blocker.getByRole("button", { name: "Details" }).click();
  await blocker.getByRole("button", { name: `Unblock ${otherName}` }).click();
  await blocker.getByRole("button", { name: `Block ${otherName}` }).waitFor();
  await blocker.getByRole("button", { name: "Close" }).click();
  await messages(blocker, during).waitFor();
  await messages(blocker, before).waitFor();
  step(`unblocking shows their messages again, those sent meanwhile too (${where})`);
}

async function groupsAndLogout(a, b, second) {
  await a.context().setOffline(true);
  await a.locator("#connection", { hasText: "Offline" }).waitFor();
  await a.getByRole("button", { name: "New group" }).click();
  await a.locator("#group-dialog").getByLabel("Name").fill("Weekend trip");
  await a.getByRole("checkbox", { name: second.name }).check();
  await a.getByRole("button", { name: "Create" }).click();
  await a.locator("#group-error", { hasText: "offline" }).waitFor();
  assert.equal(await a.locator("#group-dialog").isVisible(), true);
  step("creating a group while offline says so and keeps the dialog");
  await a.context().setOffline(false);
  await synced(a);
  await a.getByRole("button", { name: "Create" }).click();
  await a.locator("#chat-title", { hasText: "Weekend trip" }).waitFor();
  await backToChats(b);
  await b.locator(".chat-item", { hasText: "Weekend trip" }).waitFor();
  step("a group is created and appears for its member");
  await manageGroup(a, b, second);
  await blocking(b, a, "phone");
  await blocking(a, b, "desktop");
  await backToChats(b);

  await openChatWith(a, second.name);
  await say(a, "Are you there?");
  const item = b.locator(".chat-item", { hasText: "Are you there?" });
  await item.locator(".badge", { hasText: "1" }).waitFor();
  await item.click();
  await messages(b, "Are you there?").waitFor();
  await backToChats(b);
  await item.locator(".badge").waitFor({ state: "hidden" });
  step("unread counts show in the chat list and clear when the chat is read");

  await a.getByRole("button", { name: "Log out" }).click();
  await a.locator("#login-view").waitFor({ state: "visible" });
  await a.reload();
  await a.locator("#login-view").waitFor({ state: "visible" });
  step("logout ends the session");
}

run().then(
  () => console.log("web client: all passed"),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
