// The web client end to end, as people use it: the real messenger (core,
// edge, PostgreSQL) and Debian's Chromium, headless, driven by
// playwright-core. Run by `web/tests/run` (which `.ci/run` calls after
// `cargo test`).
//
// Environment: MESSENGER_BIN (`run` sets it to the binary cargo built;
// default target/debug/messenger), CHROMIUM (default /usr/bin/chromium),
// DATABASE_URL (a server where a database of its own is created; without
// it the messenger's embedded cluster runs in a temporary folder),
// SCREENSHOT (default docs/web-client.png; the phone-sized view goes
// beside it as docs/web-client-phone.png).

import { chromium } from "playwright-core";
import { spawn, execFileSync } from "node:child_process";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import assert from "node:assert/strict";

const root = resolve(import.meta.dirname, "../..");
const binary = process.env.MESSENGER_BIN ?? join(root, "target/debug/messenger");
const screenshot = process.env.SCREENSHOT ?? join(root, "docs/web-client.png");
const phoneScreenshot = join(root, "docs/web-client-phone.png");
const patience = 15_000;

async function freePort() {
  return new Promise((done) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

// A database of its own on DATABASE_URL's server, or the embedded cluster
// in a temporary folder.
function database() {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const folder = mkdtempSync(join(tmpdir(), "messenger-web-"));
    const media = join(folder, "media");
    return { env: { LOCAL_DB_DIR: join(folder, "postgres") }, media, drop: () => rmSync(folder, { recursive: true, force: true }) };
  }
  const media = mkdtempSync(join(tmpdir(), "messenger-web-media-"));
  const name = `web_e2e_${process.pid}_${Date.now()}`;
  execFileSync("psql", [url, "-qc", `CREATE DATABASE ${name}`]);
  const own = new URL(url);
  own.pathname = `/${name}`;
  const drop = () => {
    execFileSync("psql", [url, "-qc", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
    rmSync(media, { recursive: true, force: true });
  };
  return { env: { DATABASE_URL: own.toString() }, media, drop };
}

async function startMessenger() {
  const [edgePort, corePort] = [await freePort(), await freePort()];
  const db = database();
  const env = {
    ...process.env,
    ...db.env,
    EDGE_LISTEN: `127.0.0.1:${edgePort}`,
    CORE_LISTEN: `127.0.0.1:${corePort}`,
    DEMO_DATA: join(root, "fake_data.json"),
    MEDIA_URL: `file://${db.media}`,
    RUST_LOG: "warn",
  };
  if (!db.env.DATABASE_URL) delete env.DATABASE_URL;
  const child = spawn(binary, [], { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] });
  const base = `http://127.0.0.1:${edgePort}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const response = await fetch(`${base}/me`);
      if (response.status === 401) break;
    } catch {}
    if (child.exitCode !== null) throw new Error(`the messenger exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error("the messenger did not start in time");
    await new Promise((done) => setTimeout(done, 250));
  }
  const stop = async () => {
    child.kill("SIGINT");
    await new Promise((done) => child.once("exit", done));
    db.drop();
  };
  return { base, stop };
}

// Two users of the demo data who share a personal chat.
function demoPair() {
  const data = JSON.parse(readFileSync(join(root, "fake_data.json"), "utf8"));
  const chat = data.chats.find((c) => c.type === 0);
  const ids = data.chat_members.filter((m) => m.chat_id === chat.id).map((m) => m.user_id);
  const [first, second] = ids.map((id) => data.users.find((u) => u.id === id));
  return { chat, first, second };
}

async function logIn(page, base, user) {
  await page.goto(base);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.locator("#app-view").waitFor({ state: "visible" });
}

async function openChatWith(page, name) {
  await page.locator(".chat-item", { hasText: name }).first().click();
  await page.locator("#composer").waitFor({ state: "visible" });
}

async function say(page, text) {
  await page.getByLabel("Message", { exact: true }).fill(text);
  await page.getByLabel("Message", { exact: true }).press("Enter");
}

function messages(page, text) {
  return page.locator("#messages .message .text", { hasText: text });
}

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
  const { first, second } = demoPair();
  const one = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const other = await browser.newContext({ viewport: { width: 390, height: 780 } });
  const [a, b] = [await one.newPage(), await other.newPage()];
  a.setDefaultTimeout(patience);
  b.setDefaultTimeout(patience);
  await logIn(a, base, first);
  await logIn(b, base, second);
  await openChatWith(a, second.name);
  await openChatWith(b, first.name);
  step("two users log in and open their chat");

  await say(a, "Hello from the browser");
  await messages(b, "Hello from the browser").waitFor();
  step("a message reaches the other user live");
  // The other side has the chat open: it read the message, so the sender
  // sees the receipt.
  await a.locator('[data-receipt="seen"]').last().waitFor();
  step("the read receipt appears");

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
  await b.getByRole("button", { name: "Back to chats" }).click();
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

  // The connection drops: what the other user sends meanwhile arrives
  // after it comes back, and what was typed offline is sent once.
  await one.setOffline(true);
  await a.evaluate(() => window.messenger.socket()?.close());
  await a.locator("#connection", { hasText: "reconnecting" }).waitFor();
  for (const n of [1, 2, 3]) await say(b, `While you were away ${n}`);
  await say(a, "Written offline");
  await a.locator('[data-receipt="pending"]').waitFor();
  await one.setOffline(false);
  for (const n of [1, 2, 3]) await messages(a, `While you were away ${n}`).waitFor();
  await messages(b, "Written offline").waitFor();
  await a.locator('[data-receipt="pending"]').waitFor({ state: "detached" });
  await b.waitForTimeout(500);
  for (const n of [1, 2, 3]) assert.equal(await messages(a, `While you were away ${n}`).count(), 1);
  assert.equal(await messages(b, "Written offline").count(), 1);
  assert.equal(await messages(a, "Written offline").count(), 1);
  step("a dropped connection resumes without loss or doubles");

  await filesAndSearch(a, b);

  await a.screenshot({ path: screenshot });
  await b.screenshot({ path: phoneScreenshot });
  step(`screenshots saved to ${screenshot} and ${phoneScreenshot}`);

  await newcomerFindsSomeone(browser, base, first, second, a);
  await scrollingBack(browser, base, first, second, b, a);
  await groupsAndLogout(a, b, second);
}

// A device that has only the newest page loads older messages as the
// user scrolls up, by cursor.
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

  await b.getByRole("button", { name: "Back to chats" }).click();
  await b.getByLabel("Search messages").fill("browser");
  const result = b.locator("#find-results .found-message").first();
  await result.locator("mark", { hasText: "browser" }).waitFor();
  await result.click();
  await b.locator("#messages .message.found", { hasText: "Hello from the browser" }).waitFor();
  step("a message is found by a word and its chat opens at it");
}

async function scrollingBack(browser, base, first, second, b, a) {
  await b.evaluate(() => {
    const { state, socket } = window.messenger;
    for (let n = 1; n <= 80; n++) {
      const frame = { client_id: crypto.randomUUID(), sender_id: state.me.id, chat_id: state.open, text: `Older ${n}` };
      socket().send(JSON.stringify(frame));
    }
  });
  await messages(a, "Older 80").waitFor();
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const page = await context.newPage();
  page.setDefaultTimeout(patience);
  await logIn(page, base, first);
  await openChatWith(page, second.name);
  const oldest = page.locator("#messages .message .text", { hasText: /^Older 1$/ });
  await messages(page, "Older 80").waitFor();
  assert.equal(await oldest.count(), 0);
  for (let tries = 0; tries < 20 && (await oldest.count()) === 0; tries++) {
    await page.locator("#messages").evaluate((box) => (box.scrollTop = 0));
    await page.waitForTimeout(300);
  }
  assert.equal(await oldest.count(), 1);
  step("scrolling up loads older history");
  await context.close();
}

// Registration, finding someone by exact email, a direct chat started
// from the search, then deleted by the newcomer for themself.
async function newcomerFindsSomeone(browser, base, first, second, a) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(patience);
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
  await openChatWith(a, second.name);
  await context.close();
}

async function groupsAndLogout(a, b, second) {
  await a.getByRole("button", { name: "New group" }).click();
  await a.locator("#group-dialog").getByLabel("Name").fill("Weekend trip");
  await a.getByRole("checkbox", { name: second.name }).check();
  await a.getByRole("button", { name: "Create" }).click();
  await a.locator("#chat-title", { hasText: "Weekend trip" }).waitFor();
  await b.getByRole("button", { name: "Back to chats" }).click();
  await b.locator(".chat-item", { hasText: "Weekend trip" }).waitFor();
  step("a group is created and appears for its member");

  await openChatWith(a, second.name);
  await say(a, "Are you there?");
  const item = b.locator(".chat-item", { hasText: "Are you there?" });
  await item.locator(".badge", { hasText: "1" }).waitFor();
  await item.click();
  await messages(b, "Are you there?").waitFor();
  await b.getByRole("button", { name: "Back to chats" }).click();
  await item.locator(".badge").waitFor({ state: "hidden" });
  step("unread counts show in the chat list and clear when the chat is read");

  await a.getByRole("button", { name: "Log out" }).click();
  await a.locator("#login-view").waitFor({ state: "visible" });
  await a.reload();
  await a.locator("#login-view").waitFor({ state: "visible" });
  step("logout ends the session");
}

function step(text) {
  console.log(`ok - ${text}`);
}

run().then(
  () => console.log("web client: all passed"),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
