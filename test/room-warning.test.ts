// The room warning: prints run by camera Pis (status and readings over Socket.IO) leave a printer with a humidity
// band where prints failed markedly more often. When the room is in that band, the printer's page and the
// print_started notification say so; a printer whose bad band has only a few prints gets no warning.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "socket.io-client";
import { startNotifyServices } from "./fakes/notify-services.ts";
import {
  connected,
  connectSocket,
  deviceToken,
  emitWithAck,
  getPage,
  login,
  startApp,
  type TestApp,
  until,
} from "./helpers.ts";

let app: TestApp;
let cookie: string;
let services: Awaited<ReturnType<typeof startNotifyServices>>;
const devices: Socket[] = [];

beforeAll(async () => {
  services = await startNotifyServices();
  app = await startApp(
    {
      printers: [{ name: "A1 workshop" }, { name: "A1 mini" }] as never,
      notify: [services.webhookUrl()] as never,
    },
    undefined,
    { notifyTimings: { retryMs: [150, 300], timeoutMs: 2000, tickMs: 50 } },
  );
  cookie = await login(app);
  for (const printer of [1, 2]) {
    devices.push(
      await connected(connectSocket(app, { auth: { token: await deviceToken(app, cookie, "pi", printer) } })),
    );
  }
});
afterAll(async () => {
  for (const d of devices) d.disconnect();
  await app?.close();
  await services?.close();
});

/** One print as a camera Pi reports it: running, a room reading, then finished or failed. */
async function print(printer: number, humidity: number, failed: boolean) {
  const device = devices[printer - 1]!;
  await emitWithAck(device, "status", { gcode_status: "RUNNING", file_name: "part" });
  await emitWithAck(device, "temphum", { temperature: 22, humidity });
  await emitWithAck(device, "status", { gcode_status: failed ? "FAILED" : "FINISH", file_name: "part" });
}
async function prints(printer: number, humidity: number, n: number, failures: number) {
  for (let i = 0; i < n; i++) await print(printer, humidity, i < failures);
}
type Band = { humidity_min: number; prints: number; failed: number; ci_low: number; enough: boolean };
const room = async (printer: number) =>
  (await (await fetch(`${app.url}/api/stats/room?printer_id=${printer}`, { headers: { cookie } })).json()) as {
    bands: Band[];
  };
const startedFor = (printer: number) =>
  services
    .of("webhook")
    .filter((r) => r.json?.event === "print_started" && (r.json.printer as { id: number }).id === printer);

describe("the room warning", () => {
  test("fires for the band where this printer's prints failed markedly more often, on its page and notification", async () => {
    // 70–80 %: 8 of 12 failed; 40–50 %: 2 of 20.
    await prints(1, 75, 12, 8);
    await prints(1, 45, 20, 2);
    const bands = (
      await until(
        () => room(1),
        (r) => r.bands.reduce((n, b) => n + b.prints, 0) === 32,
      )
    ).bands;
    expect(bands.map((b) => [b.humidity_min, b.prints, b.failed, b.enough])).toEqual([
      [40, 20, 2, true],
      [70, 12, 8, true],
    ]);
    expect(bands[1]!.ci_low).toBeGreaterThan(2 / 20);

    // The room is in the bad band now.
    await emitWithAck(devices[0]!, "temphum", { temperature: 22, humidity: 76 });
    const page = await getPage(app, "/printers/1", cookie);
    expect(page.text).toContain('id="room-warning"');
    expect(page.text).toContain("8 of 12 prints failed");
    const before = startedFor(1).length;
    await emitWithAck(devices[0]!, "status", { gcode_status: "RUNNING", file_name: "next" });
    const [started] = (
      await until(
        () => startedFor(1),
        (r) => r.length > before,
      )
    ).slice(before);
    expect(String(started!.json!.body)).toContain("Room warning");
    expect(String(started!.json!.body)).toContain("70–80 %");
    await emitWithAck(devices[0]!, "status", { gcode_status: "FINISH", file_name: "next" });
  });

  test("does not fire in a good band", async () => {
    await emitWithAck(devices[0]!, "temphum", { temperature: 22, humidity: 44 });
    const page = await getPage(app, "/printers/1", cookie);
    expect(page.text).not.toContain('id="room-warning"');
  });

  test("does not fire for a small sample, however bad", async () => {
    // 70–80 %: 4 of 4 failed, too few to rely on; 40–50 %: 2 of 20.
    await prints(2, 75, 4, 4);
    await prints(2, 45, 20, 2);
    const bands = (
      await until(
        () => room(2),
        (r) => r.bands.reduce((n, b) => n + b.prints, 0) === 24,
      )
    ).bands;
    expect(bands.find((b) => b.humidity_min === 70)).toMatchObject({ prints: 4, failed: 4, enough: false });
    await emitWithAck(devices[1]!, "temphum", { temperature: 22, humidity: 76 });
    expect((await getPage(app, "/printers/2", cookie)).text).not.toContain('id="room-warning"');
    const before = startedFor(2).length;
    await emitWithAck(devices[1]!, "status", { gcode_status: "RUNNING", file_name: "next" });
    const [started] = (
      await until(
        () => startedFor(2),
        (r) => r.length > before,
      )
    ).slice(before);
    expect(String(started!.json!.body)).not.toContain("Room warning");
  });
});
