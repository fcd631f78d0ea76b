// Notifications against local fakes that speak each service's real HTTP API (no mocked fetch): ntfy with the
// frame attached, Telegram's sendPhoto, a signed webhook; and the rules: once per real change.
import { describe, expect, test } from "bun:test";
import { useCleanup } from "./app-fixture.ts";
import { startFakePrinter } from "./fakes/bambu-printer.ts";
import { startNotifyServices } from "./fakes/notify-services.ts";
import {
  connected,
  connectSocket,
  deviceToken,
  emitWithAck,
  fakeJpeg,
  login,
  quietFor,
  startApp,
  type TestApp,
  until,
} from "./helpers.ts";

const cleanup = useCleanup();
const SECRET = `whsec_${Buffer.from("a-webhook-secret-of-32-bytes-len").toString("base64")}`;
const FAST = { retryMs: [150, 300, 600], timeoutMs: 2000, tickMs: 50 };

async function setup(
  extra: { lan?: boolean; notify?: (s: Awaited<ReturnType<typeof startNotifyServices>>) => string[] } = {},
) {
  const services = await startNotifyServices({ webhookSecret: SECRET });
  cleanup.push(() => services.close());
  const printer = await startFakePrinter({ commandDelayMs: 30, frameIntervalMs: 100 });
  cleanup.push(() => printer.close());
  const lan = extra.lan
    ? { host: "127.0.0.1", serial: printer.serial, access_code: printer.accessCode, mqtt_port: printer.mqttPort }
    : {};
  const notify = extra.notify?.(services) ?? [
    services.ntfyUrl("printers"),
    `tgram://123456:ABC-def_ghi/-100777`,
    services.webhookUrl(`?secret=${encodeURIComponent(SECRET)}`),
  ];
  const app = await startApp(
    {
      printers: [{ name: "Työpaja A1", model: "A1", camera_port: printer.cameraPort, ...lan }] as never,
      notify: notify as never,
      telegram_api_root: services.telegramRoot as never,
      public_url: "https://printers.example.com" as never,
    },
    undefined,
    { notifyTimings: FAST, ruleTimings: { offlineGraceMs: 300, checkMs: 50 }, deviceStaleMs: 600 },
  );
  cleanup.push(() => app.close());
  const cookie = await login(app);
  const device = await connected(connectSocket(app, { auth: { token: await deviceToken(app, cookie) } }));
  cleanup.push(() => device.disconnect());
  return { services, printer, app, cookie, device };
}

/** Waits for the app's LAN link to the fake printer: the rules only hear a print once it is up. */
const lanConnected = (app: TestApp) =>
  until(
    () => app.printers.get(1)?.lan.state,
    (state) => state === "connected",
  );

describe("each service receives what its API expects", () => {
  test("ntfy gets title, priority, tags, click and the JPEG; Telegram sendPhoto; a signed webhook", async () => {
    const { services, device } = await setup();
    const frame = fakeJpeg(3000, 7);
    await emitWithAck(device, "image", frame);
    await emitWithAck(device, "status", { gcode_status: "RUNNING", file_name: "benchy", total_layers: 10 });
    await until(
      () => services.received.length,
      (n) => n >= 3,
    );
    const [ntfy] = services.of("ntfy");
    expect(ntfy!.path).toBe("/printers");
    expect(ntfy!.headers.title).toBe(`=?UTF-8?B?${Buffer.from("Työpaja A1: print started").toString("base64")}?=`);
    expect(ntfy!.headers.priority).toBe("2");
    expect(ntfy!.headers.tags).toBe("printer");
    expect(ntfy!.headers.click).toMatch(/^https:\/\/printers\.example\.com\/jobs\/\d+$/);
    expect(ntfy!.headers.filename).toBe("frame.jpg");
    expect(ntfy!.body).toEqual(new Uint8Array(frame));
    const [tg] = services.of("telegram");
    expect(tg!.path).toBe("/bot123456:ABC-def_ghi/sendPhoto");
    expect(tg!.fields!.chat_id).toBe("-100777");
    expect(String(tg!.fields!.caption)).toContain("Työpaja A1: print started");
    expect(tg!.fields!.photo).toEqual(new Uint8Array(frame));
    const [hook] = services.of("webhook");
    expect(hook!.headers["webhook-id"]).toMatch(/^msg_\d+$/);
    expect(hook!.json).toMatchObject({ event: "print_started", printer: { id: 1, name: "Työpaja A1" } });
    expect((hook!.json as { job: { name: string } }).job.name).toBe("benchy");
  });

  test("a webhook with a wrong secret is refused by the receiver and the delivery is logged as failed", async () => {
    const wrong = `whsec_${Buffer.from("another-secret-of-32-bytes-long!").toString("base64")}`;
    const { services, app, device } = await setup({
      notify: (s) => [s.webhookUrl(`?secret=${encodeURIComponent(wrong)}`)],
    });
    await emitWithAck(device, "status", { gcode_status: "RUNNING", file_name: "x" });
    const target = async () => (await app.notifier.targets()).find((t) => t.url.startsWith("json://"))!;
    const t = await until(target, (x) => x.log[0]?.status === "failed");
    expect(t.log[0]!.last_error).toContain("401");
    expect(t.url).not.toContain(wrong.slice(10));
    expect(services.of("webhook")).toHaveLength(0);
  });

  test("a target that answers 503 twice then 200 gets the message once, late", async () => {
    const { services, app, device } = await setup({ notify: (s) => [`${s.ntfyUrl("flaky")}?events=print_started`] });
    services.script.ntfy!.push(503, 503);
    await emitWithAck(device, "status", { gcode_status: "RUNNING", file_name: "x" });
    await until(
      () => services.of("ntfy").length,
      (n) => n >= 1,
    );
    // Bounded: a second copy (a retry after the success) would come within the longest retry gap, 600 ms.
    await quietFor(700);
    expect(services.of("ntfy")).toHaveLength(1);
    const log = (await app.notifier.targets()).find((t) => t.url.startsWith("ntfy://"))!.log;
    expect(log[0]).toMatchObject({ status: "sent", attempts: 3 });
  });
});

describe("a target that hangs", () => {
  test("holds up only itself: another target gets its message at once", async () => {
    // A webhook receiver that accepts and never answers.
    const hung = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Promise<Response>(() => {}) });
    cleanup.push(() => hung.stop(true));
    const { services, device } = await setup({
      notify: (s) => [`json://127.0.0.1:${hung.port}/hook`, s.ntfyUrl("fine")],
    });
    const t0 = Date.now();
    await emitWithAck(device, "status", { gcode_status: "RUNNING", file_name: "x" });
    await until(
      () => services.of("ntfy").length,
      (n) => n >= 1,
      1500,
    );
    expect(services.of("ntfy")).toHaveLength(1);
    expect(Date.now() - t0).toBeLessThan(1500);
  });
});

describe("rules: once per real change", () => {
  test("a print run on the printer gives exactly print_started then print_finished per target", async () => {
    const { services, printer, app } = await setup({ lan: true });
    await lanConnected(app);
    await printer.runPrint({ name: "cube", layers: 5, stepMs: 60 });
    await until(
      () => (["ntfy", "telegram", "webhook"] as const).map((service) => services.of(service).length),
      (counts) => counts.every((n) => n >= 2),
    );
    // Bounded: a third message to any of them, were one raised, would follow within this.
    await quietFor(300);
    for (const service of ["ntfy", "telegram", "webhook"] as const) {
      const events = services.of(service).map((r) => r.json?.event ?? r.headers.title ?? r.fields?.caption);
      expect(`${service}: ${events.length}`).toBe(`${service}: 2`);
    }
    expect(services.of("webhook").map((r) => r.json!.event)).toEqual(["print_started", "print_finished"]);
  });

  test("a failed print with an HMS error gives hms_error once and print_failed", async () => {
    const { services, printer, app } = await setup({ lan: true, notify: (s) => [s.webhookUrl(`?secret=${SECRET}`)] });
    await lanConnected(app);
    await printer.runPrint({ name: "fail", layers: 4, stepMs: 60, outcome: "fail" });
    printer.set({ wifi_signal: "-60dBm" }); // another report with the same HMS still listed
    await until(
      () => services.of("webhook").length,
      (n) => n >= 3,
    );
    // Bounded: the report repeating the HMS code came before the failure; a second hms_error would follow within this.
    await quietFor(300);
    expect(services.of("webhook").map((r) => r.json!.event)).toEqual(["print_started", "hms_error", "print_failed"]);
  });

  test("a camera Pi going silent gives one camera_stale, and one camera_ok when it returns", async () => {
    const { services, device } = await setup({ notify: (s) => [s.webhookUrl(`?secret=${SECRET}`)] });
    await emitWithAck(device, "temphum", { temperature: 20, humidity: 40 });
    await until(
      () => services.of("webhook").length,
      (n) => n >= 1,
      5000,
    );
    await emitWithAck(device, "temphum", { temperature: 20, humidity: 40 });
    await until(
      () => services.of("webhook").length,
      (n) => n >= 2,
    );
    // Bounded: a repeated camera_stale or camera_ok would come within a few 50 ms checks.
    await quietFor(200);
    expect(services.of("webhook").map((r) => r.json!.event)).toEqual(["camera_stale", "camera_ok"]);
  });
});

describe("rules for every model's extras", () => {
  const ams = (remain: number) => ({
    ams: [
      { id: "0", humidity: "3", temp: "25.0", tray: [{ id: "0", tray_type: "PLA", tray_color: "FF0000FF", remain }] },
    ],
    tray_now: "0",
  });

  test("the tray printing now running out gives filament_runout once; Authorization Control on gives its own", async () => {
    const { services, printer, app } = await setup({ lan: true, notify: (s) => [s.webhookUrl(`?secret=${SECRET}`)] });
    printer.set({ ams: ams(5), fun: "3EC18FFF9CFF" });
    await lanConnected(app);
    await until(
      () => app.printers.get(1)?.state.ams?.tray_now,
      (n) => n === 0,
    );
    printer.set({ gcode_state: "RUNNING", subtask_name: "vase", stg_cur: 0 });
    await until(
      () => services.of("webhook").length,
      (n) => n >= 1,
    );
    printer.set({ ams: ams(0) });
    // The printer then pauses for filament: the same run-out, not a second one.
    printer.set({ gcode_state: "PAUSE", stg_cur: 6 });
    printer.set({ fun: "3EC1AFFF9CFF" });
    await until(
      () => services.of("webhook").length,
      (n) => n >= 4,
    );
    // Bounded: a second filament_runout from the pause would be raised by the same report, within this.
    await quietFor(300);
    const events = services.of("webhook").map((r) => r.json!.event);
    expect(events).toEqual(["print_started", "filament_runout", "print_paused", "authorization_control"]);
    const runout = services.of("webhook").find((r) => r.json!.event === "filament_runout")!.json!;
    expect(JSON.stringify(runout)).toContain("PLA #FF0000FF (tray 0) is empty");
  });
});
