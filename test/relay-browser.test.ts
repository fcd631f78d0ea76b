// Two instances on one PostgreSQL and one Redis, with real clients at both ends: the newer camera client (Debian's
// python-socketio) connected to A, and a browser (Debian's Chromium) on B's printer page showing its reading and
// its printer's state live, without a reload.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { useInstances } from "./app-fixture.ts";
import { browserKit, relevantErrors } from "./browser-helpers.ts";
import { deviceToken, login, type TestApp } from "./helpers.ts";
import { requirePython } from "./python.ts";

// A browser on 2 shared cores can be slow; a timed-out test also takes Chromium down with it.
setDefaultTimeout(60_000);

const ZONE = "Europe/Helsinki";
const fx = useInstances({ redis: true });
let a: TestApp;
let b: TestApp;
const kit = browserKit(() => b, ZONE);

beforeAll(async () => {
  requirePython(["socketio", "websocket"]);
  const config = { database_url: await fx.pg.createDatabase(), redis_url: fx.redis.url, timezone: ZONE };
  a = await fx.instance(config);
  b = await fx.instance(config);
  // Registered last, so the browser closes before the instances stop.
  fx.atEnd(() => kit.close());
  await kit.launch();
}, 60_000);

describe("a Python camera client on A, a browser on B", () => {
  test("B's printer page shows the reading and the printer's state the client sends to A, live", async () => {
    const cookie = await login(a);
    const headers = { cookie, "content-type": "application/json" };
    const made = await fetch(`${a.url}/api/printers`, { method: "POST", headers, body: '{"name":"Relay A1"}' });
    expect(made.status).toBe(201);
    const { id } = (await made.json()) as { id: number };
    const token = await deviceToken(a, cookie, "pi", id);

    const { page, context } = await kit.newPage();
    // The printer made on A is known on B (B read its row before it re-emitted the change).
    await kit.logIn(page, undefined, undefined, `/printers/${id}`);
    expect(await page.textContent("h1")).toBe("Relay A1");
    await page.waitForSelector("#conn[data-state=live]");
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 17;
    });

    const t0 = performance.now();
    // Async: the server answering it runs in this same process.
    const script = join(import.meta.dir, "fixtures/new_device.py");
    const proc = Bun.spawn(["/usr/bin/python3", script, a.url, token], { stdout: "pipe", stderr: "pipe" });
    await page.waitForFunction(
      () => document.querySelector("#tile-temperature .value")?.textContent === "23.4 °C",
      undefined,
      { timeout: 10_000 },
    );
    const shownMs = performance.now() - t0;
    const [out, err] = [await new Response(proc.stdout).text(), await new Response(proc.stderr).text()];
    expect(err).toBe("");
    expect(JSON.parse(out).temphum).toMatchObject({ ok: true });
    expect(await page.textContent("#tile-humidity .value")).toBe("38.0 %");
    // The structured status became the printer's state on A; B's panel follows it.
    await page.waitForFunction(() => document.body.textContent?.includes("gear_box.3mf"), undefined, {
      timeout: 5000,
    });
    expect(await page.evaluate(() => (window as unknown as { marker: number }).marker)).toBe(17);
    expect(relevantErrors(kit.consoleErrors)).toEqual([]);
    console.log(`reading from the Python client on A shown in Chromium on B ${shownMs.toFixed(0)} ms after spawn`);
    await context.close();
  });
});
