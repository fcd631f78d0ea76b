// Stopping: SIGTERM during a stream of events exits 0 keeping every acknowledged one; after SIGKILL a restart on
// the same file finds them all.
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { connected, connectSocket, login, tempDir, until } from "./helpers.ts";
import { startChild, writeConfig } from "./process.ts";

const MAIN = join(import.meta.dir, "../src/main.ts");
const dir = tempDir("layerwatch-stop-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("SIGTERM during a stream of acknowledged events exits 0 and keeps every acknowledged event", async () => {
  // No per-connection rate limit: the point is a fast stream in flight when the signal lands.
  writeConfig(dir, { device_rate_limit: 0 });
  const child = await startChild([process.execPath, MAIN], dir);
  const device = await connected(connectSocket(child, { cookie: await login(child, "admin", "binary-pass-1") }));
  const acked: number[] = [];
  let stop = false;
  const stream = (async () => {
    for (let i = 0; i < 100000 && !stop; i++) {
      try {
        const ack = (await device
          .timeout(2000)
          .emitWithAck("temphum", { temperature: 20 + (i % 10), humidity: 50 })) as { ok: boolean; id: number };
        if (ack.ok) acked.push(ack.id);
      } catch {
        return; // the server went away: no acknowledgement, no promise made
      }
    }
  })();
  await until(
    () => acked.length,
    (n) => n >= 200,
    20000,
  );
  child.proc.kill("SIGTERM");
  const code = await child.proc.exited;
  stop = true;
  await stream;
  device.disconnect();
  expect(code).toBe(0);
  expect(child.log()).toContain("stopped cleanly");

  const db = new Database(join(dir, "app.db"), { readonly: true });
  const stored = new Set((db.query("SELECT id FROM readings").all() as { id: number }[]).map((r) => r.id));
  db.close();
  expect(acked.length).toBeGreaterThan(200);
  expect(acked.filter((id) => !stored.has(id))).toEqual([]);
}, 60000);

test("SIGKILL after acknowledged events loses none of them: a restart on the same file finds all", async () => {
  const crashDir = tempDir("layerwatch-crash-");
  try {
    writeConfig(crashDir, { device_rate_limit: 0 });
    const child = await startChild([process.execPath, MAIN], crashDir);
    const device = await connected(connectSocket(child, { cookie: await login(child, "admin", "binary-pass-1") }));
    const acked: number[] = [];
    for (let i = 0; i < 300; i++) {
      const ack = (await device.timeout(2000).emitWithAck("temphum", { temperature: 20, humidity: i % 100 })) as {
        ok: boolean;
        id: number;
      };
      expect(ack.ok).toBe(true);
      acked.push(ack.id);
    }
    child.proc.kill("SIGKILL");
    expect(await child.proc.exited).not.toBe(0);
    device.disconnect();

    const again = await startChild([process.execPath, MAIN], crashDir);
    try {
      const cookie = await login(again, "admin", "binary-pass-1");
      const stored = new Set<number>();
      const db = new Database(join(crashDir, "app.db"), { readonly: true });
      for (const r of db.query("SELECT id FROM readings").all() as { id: number }[]) stored.add(r.id);
      db.close();
      expect(acked.filter((id) => !stored.has(id))).toEqual([]);
      expect((await fetch(`${again.url}/api/latest`, { headers: { cookie } })).status).toBe(200);
    } finally {
      again.proc.kill("SIGTERM");
      await again.proc.exited;
    }
  } finally {
    rmSync(crashDir, { recursive: true, force: true });
  }
}, 60000);
