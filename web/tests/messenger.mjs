// The real messenger (core, edge, PostgreSQL) for the browser tests: a
// database of its own, free ports, the demo data.

import { spawn, execFileSync } from "node:child_process";
import { readFileSync, mkdtempSync, rmSync, chmodSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const root = resolve(import.meta.dirname, "../..");
const binary = process.env.MESSENGER_BIN ?? join(root, "target/debug/messenger");

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
    // Run as root, the cluster runs as the postgres system user, which
    // must reach its data folder inside this one (made 0700).
    chmodSync(folder, 0o755);
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

export async function startMessenger() {
  const [edgePort, corePort] = [await freePort(), await freePort()];
  const db = database();
  const env = {
    ...process.env,
    ...db.env,
    EDGE_LISTEN: `127.0.0.1:${edgePort}`,
    CORE_LISTEN: `127.0.0.1:${corePort}`,
    DEMO_DATA: join(root, "fake_data.json"),
    MEDIA_URL: `file://${db.media}`,
    // Low, so that a test can fill it (tooManyTabs); more than any other
    // scenario opens for one user.
    MAX_SESSIONS_PER_USER: "12",
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
export function demoPair() {
  const data = JSON.parse(readFileSync(join(root, "fake_data.json"), "utf8"));
  const chat = data.chats.find((c) => c.type === 0);
  const ids = data.chat_members.filter((m) => m.chat_id === chat.id).map((m) => m.user_id);
  const [first, second] = ids.map((id) => data.users.find((u) => u.id === id));
  return { chat, first, second };
}
