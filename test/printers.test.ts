// Two printers on one layerwatch: each printer's devices, pages, API and broadcasts carry only its own data.
import { beforeAll, describe, expect, test } from "bun:test";
import { useApp } from "./app-fixture.ts";
import {
  collect,
  connected,
  connectSocket,
  emitWithAck,
  eventMatching,
  fakeJpeg,
  getPage,
  quietFor,
  until,
} from "./helpers.ts";

/** The parts of GET /api/printers/:id these tests read. */
type PrinterJson = {
  state: Record<string, unknown> & { percent: number; eta: string };
  reading: { temperature: number; humidity: number };
  status: { text: string };
  frame: { id: number };
  sources: { device: string };
};
const fx = useApp({
  config: {
    printers: [
      { name: "A1 left", model: "A1" },
      { name: "P1S right", model: "P1S" },
    ] as never,
  },
});
let token: string;
const json = (path: string, init: RequestInit = {}) =>
  fetch(`${fx.app.url}${path}`, {
    ...init,
    headers: { cookie: fx.cookie, "content-type": "application/json", ...(init.headers ?? {}) },
  });

beforeAll(async () => {
  const res = await json("/api/printers/2/tokens", { method: "POST", body: JSON.stringify({ name: "cam-2" }) });
  expect(res.status).toBe(201);
  token = ((await res.json()) as { token: string }).token;
});

describe("printers from the config", () => {
  test("the first configured printer takes over printer 1; the second is printer 2", async () => {
    const list = (await (await json("/api/printers")).json()) as { id: number; name: string; model: string }[];
    expect(list.map((p) => [p.id, p.name, p.model])).toEqual([
      [1, "A1 left", "A1"],
      [2, "P1S right", "P1S"],
    ]);
  });
});

describe("two printers, each with its own device", () => {
  test("a viewer that joins after a change gets the printer's current state panel without waiting for the next", async () => {
    const tokenDevice = fx.track(connectSocket(fx.app, { auth: { token } }));
    await connected(tokenDevice);
    const status = { status: "PRINTING", gcode_status: "RUNNING", percentage: 64, current_layer: 5, total_layers: 9 };
    expect(await emitWithAck(tokenDevice, "status", status)).toMatchObject({ ok: true });
    // Nobody watched printer 2 when it changed: a page opened now must not wait for the next change.
    const late = fx.track(connectSocket(fx.app, { cookie: fx.cookie, auth: { printer: "2" } }));
    const state = await eventMatching<{ printer_id: number; state: { percent: number }; html: { panel: string } }>(
      late,
      "printer_state",
      (s) => s.printer_id === 2,
      3000,
    );
    expect(state.state.percent).toBe(64);
    expect(state.html.panel).toContain("5/9");
  });

  test("readings, statuses (both forms) and frames reach only their own printer's viewers and API", async () => {
    const viewer1 = fx.track(connectSocket(fx.app, { cookie: fx.cookie, auth: { printer: "1" } }));
    const viewer2 = fx.track(connectSocket(fx.app, { cookie: fx.cookie, auth: { printer: "2" } }));
    const overview = fx.track(connectSocket(fx.app, { cookie: fx.cookie, auth: { view: "overview" } }));
    await Promise.all([connected(viewer1), connected(viewer2), connected(overview)]);
    const seen1 = collect<{ printer_id: number }>(viewer1, "temphum2v");
    const seen2 = collect<{ printer_id: number }>(viewer2, "temphum2v");
    const frames1 = collect<{ printer_id: number }>(viewer1, "image2v");
    const states2 = collect<{ printer_id: number }>(viewer2, "printer_state");
    const cards = collect<{ printer_id: number }>(overview, "printer_card");
    const overviewStates = collect<{ printer_id: number }>(overview, "printer_state");

    const cookieDevice = fx.track(connectSocket(fx.app, { cookie: fx.cookie }));
    const tokenDevice = fx.track(connectSocket(fx.app, { auth: { token } }));
    await Promise.all([connected(cookieDevice), connected(tokenDevice)]);
    expect(await emitWithAck(cookieDevice, "temphum", { temperature: 21.5, humidity: 40 })).toMatchObject({ ok: true });
    expect(await emitWithAck(tokenDevice, "temphum", { temperature: 30.25, humidity: 60 })).toMatchObject({ ok: true });
    expect(await emitWithAck(cookieDevice, "status", { status: "Idle" })).toMatchObject({ ok: true });
    const structured = {
      status: "PRINTING",
      gcode_status: "RUNNING",
      percentage: 42,
      remaining_time: 75,
      current_layer: 17,
      total_layers: 120,
      bed_temperature: 60.2,
      nozzle_temperature: 219.8,
      file_name: "benchy.gcode.3mf",
      print_speed: 2,
      print_error_code: 0,
      nozzle_type: "hardened_steel",
      nozzle_diameter: 0.4,
      running_and_printing: true,
      timelapse_status: true,
      some_future_key: { ignored: true },
    };
    expect(await emitWithAck(tokenDevice, "status", structured)).toMatchObject({ ok: true });
    expect(await emitWithAck(cookieDevice, "image", fakeJpeg(2048, 1))).toMatchObject({ ok: true });
    expect(await emitWithAck(tokenDevice, "image", fakeJpeg(2048, 2))).toMatchObject({ ok: true });

    const state2 = await eventMatching<{ printer_id: number; state: { percent: number }; html: { panel: string } }>(
      viewer2,
      "printer_state",
      (s) => s.printer_id === 2,
    );
    expect(state2.state.percent).toBe(42);
    expect(state2.html.panel).toContain("17/120");
    await eventMatching(overview, "printer_card", (c: { printer_id: number }) => c.printer_id === 1, 3000);
    await until(() => [seen1, seen2, frames1].every((seen) => seen.length > 0), Boolean);
    // Bounded: each viewer has its own printer's events; the other printer's, were they leaking, came with them.
    await quietFor(100);
    expect(seen1.map((e) => e.printer_id)).toEqual([1]);
    expect(seen2.map((e) => e.printer_id)).toEqual([2]);
    expect(frames1.every((f) => f.printer_id === 1) && frames1.length === 1).toBe(true);
    expect(states2.every((s) => s.printer_id === 2)).toBe(true);
    // The overview sees both printers.
    const ids = new Set([...cards, ...overviewStates].map((c) => c.printer_id));
    expect([...ids].sort()).toEqual([1, 2]);

    const p2 = (await (await json("/api/printers/2")).json()) as PrinterJson;
    expect(p2.state).toMatchObject({
      gcode_state: "RUNNING",
      percent: 42,
      layer: 17,
      total_layers: 120,
      remaining_min: 75,
      bed_temp: 60.2,
      nozzle_temp: 219.8,
      file: "benchy.gcode.3mf",
      speed_level: 2,
      error: null,
      timelapse: true,
    });
    expect(Date.parse(p2.state.eta) - Date.now()).toBeGreaterThan(74 * 60_000);
    expect(p2.reading).toMatchObject({ temperature: 30.25, humidity: 60 });
    expect(p2.sources.device).toBe("online");
    const p1 = (await (await json("/api/printers/1")).json()) as PrinterJson;
    expect(p1.reading).toMatchObject({ temperature: 21.5, humidity: 40 });
    expect(p1.status.text).toBe("Idle");
    expect(p1.state).toBeNull();
    expect(p1.frame.id).not.toBe(p2.frame.id);

    const day1 = (await (await json("/api/printers/1/temphum")).json()) as { temperature: number }[];
    const day2 = (await (await json("/api/printers/2/temphum")).json()) as { temperature: number }[];
    expect(day1.map((r) => r.temperature)).toEqual([21.5]);
    expect(day2.map((r) => r.temperature)).toEqual([30.25]);
    const legacy = (await (await json("/api/temphum")).json()) as { temperature: number }[];
    expect(legacy.map((r) => r.temperature)).toEqual([21.5]);
    const sum2 = (await (await json("/api/printers/2/temphum/summary?bucket=day")).json()) as { count: number }[];
    expect(sum2.at(-1)!.count).toBe(1);
  });

  test("each printer's page shows its own state; /3d is printer 1; the overview has a card for each", async () => {
    const page2 = await getPage(fx.app, "/printers/2", fx.cookie);
    expect(page2.status).toBe(200);
    expect(page2.text).toContain("P1S right");
    expect(page2.text).toContain("17/120");
    expect(page2.text).toContain("30.3 °C");
    const page1 = await getPage(fx.app, "/3d", fx.cookie);
    expect(page1.text).toContain("A1 left");
    expect(page1.text).not.toContain("17/120");
    expect(page1.text).toContain("21.5 °C");
    const overview = await getPage(fx.app, "/", fx.cookie);
    expect(overview.text).toContain('id="card-1"');
    expect(overview.text).toContain('id="card-2"');
    expect(overview.text).toContain("42 %");
    expect((await getPage(fx.app, "/printers/99", fx.cookie)).status).toBe(404);
  });

  test("a structured status with a wrong type is refused naming the key, and changes nothing", async () => {
    const device = fx.track(connectSocket(fx.app, { auth: { token } }));
    await connected(device);
    const errors = collect<{ message: string }>(device, "error");
    const ack = await emitWithAck<{ ok: boolean; error: string }>(device, "status", {
      gcode_status: "RUNNING",
      percentage: "fifty",
    });
    expect(ack).toEqual({ ok: false, error: "percentage must be a number or null, got string" });
    const range = await emitWithAck<{ ok: boolean; error: string }>(device, "status", { current_layer: -3 });
    expect(range.error).toContain("current_layer");
    await until(
      () => errors.length,
      (n) => n >= 2,
    );
    expect(errors.map((e) => e.message)).toEqual([
      "status: percentage must be a number or null, got string",
      "status: current_layer -3 is out of range 0..1000000",
    ]);
    const p2 = (await (await json("/api/printers/2")).json()) as PrinterJson;
    expect(p2.state.percent).toBe(42);
  });

  test("a cookie device names its printer in the handshake; an unknown printer is refused", async () => {
    const device = fx.track(connectSocket(fx.app, { cookie: fx.cookie, auth: { printer: "2" } }));
    await connected(device);
    await emitWithAck(device, "temphum", { temperature: 25, humidity: 50 });
    const day2 = (await (await json("/api/printers/2/temphum")).json()) as { temperature: number }[];
    expect(day2.map((r) => r.temperature)).toEqual([30.25, 25]);
    const bad = fx.track(connectSocket(fx.app, { cookie: fx.cookie, auth: { printer: "99" } }));
    await expect(connected(bad)).rejects.toThrow("unknown printer: 99");
  });
});

describe("managing printers through the API", () => {
  test("create, rename and delete with validation; the delete reports what it removed", async () => {
    const bad = await json("/api/printers", {
      method: "POST",
      body: JSON.stringify({ name: "", host: "not a host!", mqtt_port: 70000 }),
    });
    expect(bad.status).toBe(400);
    const errors = ((await bad.json()) as { fields: Record<string, string> }).fields;
    expect(Object.keys(errors).sort()).toEqual(["host", "mqtt_port", "name"]);
    const taken = await json("/api/printers", { method: "POST", body: JSON.stringify({ name: "a1 LEFT" }) });
    expect(((await taken.json()) as { fields: { name: string } }).fields.name).toContain("already exists");
    const made = await json("/api/printers", {
      method: "POST",
      body: JSON.stringify({
        name: "X1C",
        model: "X1C",
        host: "192.168.1.60",
        serial: "00M09A123456789",
        access_code: "abcd1234",
      }),
    });
    expect(made.status).toBe(201);
    const printer = (await made.json()) as { id: number; lan: { host: string } };
    expect(JSON.stringify(printer)).not.toContain("abcd1234");
    const renamed = await json(`/api/printers/${printer.id}`, {
      method: "PATCH",
      body: JSON.stringify({ name: "X1C lab" }),
    });
    expect(((await renamed.json()) as { name: string }).name).toBe("X1C lab");
    const gone = await json(`/api/printers/${printer.id}`, { method: "DELETE" });
    expect(await gone.json()).toEqual({ deleted: printer.id, readings: 0, frames: 0, statuses: 0, tokens: 0 });
    expect((await json(`/api/printers/${printer.id}`)).status).toBe(404);
  });

  test("deleting a printer removes its data and tokens and disconnects its devices", async () => {
    const made = await json("/api/printers", { method: "POST", body: JSON.stringify({ name: "Temp" }) });
    const { id } = (await made.json()) as { id: number };
    const tokenRes = await json(`/api/printers/${id}/tokens`, { method: "POST", body: JSON.stringify({ name: "t" }) });
    const t = ((await tokenRes.json()) as { token: string }).token;
    const device = fx.track(connectSocket(fx.app, { auth: { token: t } }));
    await connected(device);
    await emitWithAck(device, "temphum", { temperature: 20, humidity: 30 });
    await emitWithAck(device, "image", fakeJpeg(512, 9));
    const disconnected = new Promise((r) => device.once("disconnect", r));
    const gone = await json(`/api/printers/${id}`, { method: "DELETE" });
    expect(await gone.json()).toMatchObject({ deleted: id, readings: 1, frames: 1, tokens: 1 });
    await disconnected;
    const left = fx.app.store.db.query("SELECT count(*) AS n FROM readings WHERE printer_id = ?").get(id) as {
      n: number;
    };
    expect(left.n).toBe(0);
    const again = fx.track(connectSocket(fx.app, { auth: { token: t } }));
    await expect(connected(again)).rejects.toThrow("unknown or revoked");
  });

  test("a form post is refused (JSON only); the last printer cannot be deleted", async () => {
    const form = await fetch(`${fx.app.url}/api/printers`, {
      method: "POST",
      headers: { cookie: fx.cookie, "content-type": "application/x-www-form-urlencoded" },
      body: "name=Sneaky",
    });
    expect(form.status).toBe(415);
    await json("/api/printers/2", { method: "DELETE" });
    const last = await json("/api/printers/1", { method: "DELETE" });
    expect(last.status).toBe(409);
  });
});
