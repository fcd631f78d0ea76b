// The print queue (PRINTERS.md §9) against two fake A1s: items for a printer or by rule, started in order on idle
// printers; after a queued print the printer waits for its plate to be cleared; the queue survives a restart.
import { describe, expect, test } from "bun:test";
import { useCleanup } from "./app-fixture.ts";
import { type FakePrinter, startFakePrinter } from "./fakes/bambu-printer.ts";
import {
  apiRequest,
  csrfFrom,
  getPage,
  login,
  printerEntry,
  quietFor,
  startApp,
  type TestApp,
  tempDir,
  until,
} from "./helpers.ts";
import { upload } from "./library-helpers.ts";

const cleanup = useCleanup();

type Item = { id: number; status: string; position: number; assigned_printer: number | null; send_id: number | null };

const entry = (name: string, p: FakePrinter, model = "A1") =>
  printerEntry(p, { name, model, camera: false, ftps_port: p.ftpsPort, tls: "pin" });

async function open(fakes: FakePrinter[], dir = tempDir(), model = "A1") {
  const app = await startApp({ printers: fakes.map((p, i) => entry(`A1 ${i + 1}`, p, model)) as never }, dir, {
    lanTimings: { backoffMinMs: 100, backoffMaxMs: 500 },
    sendTimings: { startWithinMs: 5000 },
    queueTickMs: 200,
  });
  const cookie = await login(app);
  const json = async (method: string, path: string, body?: unknown) => {
    const res = await apiRequest(app, cookie, method, path, body);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const items = async () => (await json("GET", "/api/queue")).body.items as Item[];
  const itemIs = (id: number, ok: (i: Item) => boolean, ms = 15_000) =>
    until(items, (all) => ok(all.find((i) => i.id === id)!), ms).then((all) => all.find((i) => i.id === id)!);
  for (let id = 1; id <= fakes.length; id++)
    await until(
      () => json("GET", `/api/printers/${id}`),
      (r) => (r.body as { state: { gcode_state: string } | null }).state?.gcode_state === "IDLE",
    );
  return { app, cookie, json, items, itemIs };
}

async function printers(n: number, layers = 4) {
  const made: FakePrinter[] = [];
  for (let i = 0; i < n; i++) {
    const p = await startFakePrinter({ commandDelayMs: 30, sentPrint: { layers, stepMs: 150 } });
    cleanup.push(() => p.close());
    made.push(p);
  }
  return made;
}

async function libraryFile(app: TestApp, cookie: string) {
  const csrf = csrfFrom((await getPage(app, "/settings", cookie)).text);
  return ((await (await upload(app, cookie, csrf, "cubes-a1.gcode.3mf")).json()) as { id: number }).id;
}

describe("the queue", () => {
  test("three items on two printers start in order, each after its printer's plate is confirmed clear", async () => {
    const [a, b] = await printers(2);
    const { app, cookie, json, items, itemIs } = await open([a!, b!]);
    cleanup.push(() => app.close());
    const file = await libraryFile(app, cookie);
    await json("POST", "/api/queue/pause", { paused: true });
    const first = (await json("POST", "/api/queue", { file_id: file, plate: 1, printer_id: 1 })).body as Item;
    const second = (await json("POST", "/api/queue", { file_id: file, plate: 1, printer_id: 2 })).body as Item;
    const third = (await json("POST", "/api/queue", { file_id: file, plate: 1, rule: { model: "A1" } })).body as Item;
    expect([first.position, second.position, third.position]).toEqual([1, 2, 3]);
    expect(first.status).toBe("queued");
    await json("POST", "/api/queue/pause", { paused: false });
    // Both printers take their own item; the third waits for a free printer.
    expect((await itemIs(first.id, (i) => i.status === "printing")).assigned_printer).toBe(1);
    expect((await itemIs(second.id, (i) => i.status === "printing")).assigned_printer).toBe(2);
    await itemIs(first.id, (i) => i.status === "done");
    await itemIs(second.id, (i) => i.status === "done");
    // Both plates wait to be cleared: the third item does not start.
    expect((await items()).find((i) => i.id === third.id)!.status).toBe("queued");
    expect(a!.projectFiles.length + b!.projectFiles.length).toBe(2);
    expect((await json("POST", "/api/printers/2/plate-cleared")).status).toBe(200);
    expect((await itemIs(third.id, (i) => i.status === "printing")).assigned_printer).toBe(2);
    await itemIs(third.id, (i) => i.status === "done");
    expect([a!.projectFiles.length, b!.projectFiles.length]).toEqual([1, 2]);
  }, 30_000);

  test("a rule reads the printer's state: the model it says it is, its nozzle, and the filament it has loaded", async () => {
    // Both are configured as P1S by mistake; each says it is an A1 (get_version). Only the first has PETG loaded.
    const a1 = [{ name: "ota", product_name: "Bambu Lab A1", sw_ver: "01.04.00.00", hw_ver: "OTA", sn: "", flag: 3 }];
    const made: FakePrinter[] = [];
    for (const tray of ["PETG", "PLA"]) {
      const p = await startFakePrinter({
        commandDelayMs: 30,
        sentPrint: { layers: 4, stepMs: 150 },
        modules: a1,
        state: { vt_tray: { id: "254", tray_type: tray, tray_color: "FF0000FF", remain: 80 } },
      });
      cleanup.push(() => p.close());
      made.push(p);
    }
    const { app, cookie, json, itemIs } = await open(made, tempDir(), "P1S");
    cleanup.push(() => app.close());
    await until(
      () => json("GET", "/api/printers/2"),
      (r) => (r.body as { model: string }).model === "A1",
    );
    const file = await libraryFile(app, cookie);
    const rule = { model: "A1", nozzle_mm: 0.4, filament: "petg" };
    const item = (await json("POST", "/api/queue", { file_id: file, plate: 1, rule })).body as Item;
    expect((await itemIs(item.id, (i) => i.status === "printing" || i.status === "done")).assigned_printer).toBe(1);
    expect([made[0]!.projectFiles.length, made[1]!.projectFiles.length]).toEqual([1, 0]);
    // No printer has a 0.6 mm nozzle: that item waits.
    const wide = (await json("POST", "/api/queue", { file_id: file, plate: 1, rule: { nozzle_mm: 0.6 } })).body as Item;
    await quietFor(1000); // five queue rounds
    expect((await itemIs(wide.id, () => true)).status).toBe("queued");
  }, 30_000);

  test("a printer's next item shows as waiting for the plate, and reorder, cancel and retry change the queue", async () => {
    const [a] = await printers(1);
    const { app, cookie, json, items, itemIs } = await open([a!]);
    cleanup.push(() => app.close());
    const file = await libraryFile(app, cookie);
    const one = (await json("POST", "/api/queue", { file_id: file, plate: 1, printer_id: 1 })).body as Item;
    await itemIs(one.id, (i) => i.status === "done");
    const two = (await json("POST", "/api/queue", { file_id: file, plate: 1, printer_id: 1 })).body as Item;
    const three = (await json("POST", "/api/queue", { file_id: file, plate: 1, printer_id: 1 })).body as Item;
    expect((await items()).find((i) => i.id === two.id)!.status).toBe("waiting_plate");
    // The third goes first; the second is cancelled, then queued again.
    expect(((await json("PATCH", `/api/queue/${three.id}`, { position: 1 })).body as Item).position).toBe(1);
    expect(((await json("PATCH", `/api/queue/${two.id}`, { status: "cancelled" })).body as Item).status).toBe(
      "cancelled",
    );
    expect(((await json("PATCH", `/api/queue/${two.id}`, { status: "queued" })).body as Item).status).toBe("queued");
    await json("POST", "/api/printers/1/plate-cleared");
    await itemIs(three.id, (i) => i.status === "printing");
    expect((await items()).find((i) => i.id === two.id)!.status).toBe("queued");
    expect((await json("DELETE", `/api/queue/${three.id}`)).status).toBe(409);
  }, 30_000);

  test("a restart mid-queue: the print under way is followed to its end, then the next item waits for the plate", async () => {
    const [a] = await printers(1, 20);
    const dir = tempDir();
    const first = await open([a!], dir);
    const file = await libraryFile(first.app, first.cookie);
    const one = (await first.json("POST", "/api/queue", { file_id: file, plate: 1, printer_id: 1 })).body as Item;
    const two = (await first.json("POST", "/api/queue", { file_id: file, plate: 1, printer_id: 1 })).body as Item;
    await first.itemIs(one.id, (i) => i.status === "printing");
    await first.app.stop();
    const second = await open([a!], dir);
    cleanup.push(() => second.app.close());
    await second.itemIs(one.id, (i) => i.status === "done", 20_000);
    expect((await second.items()).find((i) => i.id === two.id)!.status).toBe("waiting_plate");
    expect(a!.projectFiles.length).toBe(1);
    await second.json("POST", "/api/printers/1/plate-cleared");
    await second.itemIs(two.id, (i) => i.status === "printing");
    expect(a!.projectFiles.length).toBe(2);
  }, 60_000);

  test("from the pages: a plate queued from the library, then the plate-cleared button starts the next", async () => {
    const [a] = await printers(1);
    const { app, cookie, items, itemIs } = await open([a!]);
    cleanup.push(() => app.close());
    const file = await libraryFile(app, cookie);
    const library = await getPage(app, "/library", cookie);
    const csrf = csrfFrom(library.text);
    expect(library.text).toContain('value="any:A1"');
    const post = (path: string, fields: Record<string, string>) =>
      fetch(`${app.url}${path}`, {
        method: "POST",
        headers: { cookie },
        body: new URLSearchParams({ _csrf: csrf, ...fields }),
        redirect: "manual",
      });
    expect((await post(`/library/${file}/queue`, { plate: "1", target: "any:A1" })).status).toBe(303);
    expect((await post(`/library/${file}/queue`, { plate: "1", target: "1" })).status).toBe(303);
    const [one, two] = await items();
    await itemIs(one!.id, (i) => i.status === "done");
    const page = await getPage(app, "/queue", cookie);
    expect(page.text).toContain("the plate waits to be cleared");
    expect(page.text).toContain('action="/printers/1/plate-cleared"');
    const farm = await getPage(app, "/printers/1/farm", cookie);
    expect(farm.text).toContain('hx-post="/printers/1/plate-cleared"');
    expect((await post("/printers/1/plate-cleared", {})).status).toBe(303);
    await itemIs(two!.id, (i) => i.status === "printing");
  }, 30_000);

  test("the overview card's plate-cleared button: for operators while the plate waits, and it starts the next", async () => {
    const [a] = await printers(1);
    const { app, cookie, json, items, itemIs } = await open([a!]);
    cleanup.push(() => app.close());
    const file = await libraryFile(app, cookie);
    const csrf = csrfFrom((await getPage(app, "/settings", cookie)).text);
    for (const [username, role] of [
      ["opal", "operator"],
      ["vic", "viewer"],
    ] as const)
      await fetch(`${app.url}/settings/users`, {
        method: "POST",
        headers: { cookie },
        body: new URLSearchParams({ _csrf: csrf, username, password: `${username}-password`, role }),
      });
    const operator = await login(app, "opal", "opal-password");
    const viewer = await login(app, "vic", "vic-password");
    const plates = (who: string) => fetch(`${app.url}/partials/plates`, { headers: { cookie: who } });

    // No plate waits yet: the operator's overview asks for the slots, and they are empty.
    const overview = await getPage(app, "/", operator);
    expect(overview.text).toContain('hx-get="/partials/plates"');
    expect(overview.text).toContain('id="card-1-plate"');
    expect(await (await plates(operator)).text()).not.toContain("plate-cleared");

    await json("POST", "/api/queue", { file_id: file, plate: 1, printer_id: 1 });
    await json("POST", "/api/queue", { file_id: file, plate: 1, printer_id: 1 });
    const [one, two] = await items();
    await itemIs(one!.id, (i) => i.status === "done");
    const slots = await (await plates(operator)).text();
    expect(slots).toContain('id="card-1-plate" hx-swap-oob="true"');
    expect(slots).toContain('hx-post="/printers/1/plate-cleared"');
    expect(slots).toContain('aria-label="Plate is clear: A1 1"');

    // A viewer sees no button and may not fetch them.
    expect((await getPage(app, "/", viewer)).text).not.toContain("/partials/plates");
    expect((await plates(viewer)).status).toBe(403);
    expect((await getPage(app, "/printers/1/farm", viewer)).text).not.toContain("plate-cleared");

    // The button answers with its slot, now empty, and the next item starts.
    const opCsrf = csrfFrom(overview.text);
    const res = await fetch(`${app.url}/printers/1/plate-cleared`, {
      method: "POST",
      headers: { cookie: operator, "x-csrf-token": opCsrf, "hx-request": "true", "hx-target": "card-1-plate" },
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('<div class="card-plate" id="card-1-plate"></div>');
    await itemIs(two!.id, (i) => i.status === "printing" || i.status === "done");
    const audit = (await app.asyncStore.printerActions.recent(20)).filter((r) => r.action === "plate_cleared");
    expect(audit.map((r) => r.username)).toEqual(["opal"]);
  }, 30_000);

  test("a viewer may look at the queue but not change it", async () => {
    const [a] = await printers(1);
    const { app, json } = await open([a!]);
    cleanup.push(() => app.close());
    expect((await json("GET", "/api/queue")).status).toBe(200);
    await json("POST", "/api/queue/pause", { paused: false });
    const admin = await login(app);
    const csrf = csrfFrom((await getPage(app, "/settings", admin)).text);
    await fetch(`${app.url}/settings/users`, {
      method: "POST",
      headers: { cookie: admin },
      body: new URLSearchParams({ _csrf: csrf, username: "viv", password: "viv-password", role: "viewer" }),
    });
    const viewer = await login(app, "viv", "viv-password");
    const res = await fetch(`${app.url}/api/queue/pause`, {
      method: "POST",
      headers: { cookie: viewer, "content-type": "application/json" },
      body: JSON.stringify({ paused: true }),
    });
    expect(res.status).toBe(403);
  });
});

describe("a send not from the queue", () => {
  test("keeps its printer out of the queue until it ends", async () => {
    const p = await startFakePrinter({ commandDelayMs: 30, ignoreProjectFile: true });
    cleanup.push(() => p.close());
    const { app, cookie, json, items, itemIs } = await open([p]);
    cleanup.push(() => app.close());
    const file = await libraryFile(app, cookie);
    const manual = await json("POST", "/api/printers/1/print", { file_id: file, plate: 1 });
    expect(manual.status).toBe(202);
    const item = (await json("POST", "/api/queue", { file_id: file, plate: 1, printer_id: 1 })).body as Item;
    // The printer stays IDLE (it swallows project_file) while the send waits up to startWithinMs (5 s) for the
    // start: five queue rounds of 200 ms would have taken the item.
    await quietFor(1000);
    expect((await items()).find((i) => i.id === item.id)).toMatchObject({ status: "queued", send_id: null });
    // Once that send has ended (not confirmed), the queue sends the item.
    const taken = await itemIs(item.id, (i) => i.send_id !== null);
    expect(taken.send_id).not.toBe(manual.body.send_id);
  }, 25_000);
});
