// Spoolman against a fake speaking its REST API on a real socket, with a fake printer printing from its AMS: an
// operator links trays to spools on the printer page, each ended print's filament reaches the right spool in grams
// (from the tray's remain drop, or from the library plate through ams_mapping), and while Spoolman is down the uses
// are kept and sent once it is back: nothing blocks, nothing is lost.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { usesOf } from "../src/integrations/spoolman.ts";
import { type FakePrinter, startFakePrinter } from "./fakes/bambu-printer.ts";
import { type FakeSpoolman, startFakeSpoolman } from "./fakes/spoolman.ts";
import {
  csrfFrom,
  getPage,
  login,
  postForm,
  printerEntry,
  quietFor,
  startApp,
  type TestApp,
  until,
} from "./helpers.ts";

let app: TestApp;
let printer: FakePrinter;
let spoolman: FakeSpoolman;
let cookie: string;
const ID = 1;

const tray = (id: string, tray_type: string, tray_color: string, remain: number) => ({
  id,
  tray_type,
  tray_color,
  remain,
});
const ams = (remains: [number, number], now = "0") => ({
  ams: [
    {
      id: "0",
      humidity: "4",
      temp: "0.0",
      tray: [tray("0", "PLA", "FFFFFFFF", remains[0]), tray("1", "PETG", "0A2989FF", remains[1])],
    },
  ],
  tray_now: now,
});

beforeAll(async () => {
  spoolman = startFakeSpoolman([
    {
      id: 11,
      filament: { id: 1, name: "Basic White", material: "PLA", color_hex: "FFFFFF", vendor: { id: 1, name: "Bambu" } },
      initial_weight: 1000,
      used_weight: 100,
    },
    // No initial_weight: the filament type's weight is the spool's.
    { id: 12, filament: { id: 2, name: "Blue", material: "PETG", color_hex: "0A2989", weight: 750 }, used_weight: 0 },
    { id: 13, filament: { id: 3, name: "Old", material: "PLA", weight: 1000 }, used_weight: 0, archived: true },
  ]);
  printer = await startFakePrinter({ commandDelayMs: 20 });
  app = await startApp(
    {
      spoolman_url: spoolman.url,
      printers: [printerEntry(printer, { camera: false, tls: "pin" })] as never,
    },
    undefined,
    { spoolmanTimings: { retryMs: 150 } },
  );
  cookie = await login(app);
  printer.set({ ams: ams([80, 60]) });
  await until(
    async () => (await (await fetch(`${app.url}/api/printers/${ID}`, { headers: { cookie } })).json()) as never,
    (p: { state?: { ams?: { units: unknown[] } } }) => p.state?.ams?.units.length === 1,
  );
});
afterAll(async () => {
  await app?.close();
  await printer?.close();
  await spoolman?.stop();
});

type Job = { id: number; outcome: string };
const jobs = async () =>
  (await (await fetch(`${app.url}/api/printers/${ID}/jobs`, { headers: { cookie } })).json()) as Job[];
const pending = async () =>
  (
    (await (await fetch(`${app.url}/api/spoolman/pending`, { headers: { cookie } })).json()) as {
      uses: { job_id: number; spool_id: number; grams: number; source: string; attempts: number; last_error: string }[];
    }
  ).uses;

/** Runs one print on the fake printer: started, the AMS at `during`, then `end`; resolves the ended job. */
async function runPrint(name: string, end: [number, number], whileRunning?: (job: Job) => void) {
  const before = (await jobs()).length;
  printer.set({ gcode_state: "RUNNING", subtask_name: name, total_layer_num: 10, layer_num: 1 });
  const [running] = await until(jobs, (j) => j.length === before + 1 && j[0]?.outcome === "running");
  whileRunning?.(running!);
  printer.set({ ams: ams(end, "1"), layer_num: 5 });
  printer.set({ gcode_state: "FINISH", layer_num: 10 });
  const [done] = await until(jobs, (j) => j[0]?.id === running!.id && j[0]?.outcome === "finished");
  printer.set({ gcode_state: "IDLE" });
  return done!;
}

describe("Spoolman", () => {
  test("the printer page's Spoolman section lists trays and spools; an operator links trays (form and JSON)", async () => {
    const page = await getPage(app, `/printers/${ID}`, cookie);
    expect(page.text).toContain(`hx-get="/printers/${ID}/spoolman"`);
    const section = await getPage(app, `/printers/${ID}/spoolman`, cookie);
    expect(section.status).toBe(200);
    expect(section.text).toContain("Basic White");
    expect(section.text).toContain("Blue");
    expect(section.text).not.toContain("Old");
    const csrf = csrfFrom(section.text);
    const linked = await postForm(
      app,
      `/printers/${ID}/spoolman`,
      { _csrf: csrf, tray: "0", spool_id: "11" },
      { cookie, "hx-request": "true" },
    );
    expect(linked.status).toBe(200);
    expect(await linked.text()).toContain('data-tray="0" data-spool="11"');
    // Without the CSRF token: refused, nothing linked.
    const forged = await postForm(app, `/printers/${ID}/spoolman`, { tray: "1", spool_id: "12" }, { cookie });
    expect(forged.status).toBe(403);
    const put = (trayId: string, body: unknown) =>
      fetch(`${app.url}/api/printers/${ID}/trays/${trayId}/spool`, {
        method: "PUT",
        headers: { cookie, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await put("1", { spool_id: 99 })).status).toBe(422);
    expect((await put("7", { spool_id: 12 })).status).toBe(404);
    expect((await put("1", { spool_id: 12 })).status).toBe(200);
    const links = (await (await fetch(`${app.url}/api/printers/${ID}/spoolman`, { headers: { cookie } })).json()) as {
      links: { tray: number; spool_id: number }[];
    };
    expect(links.links.map((l) => [l.tray, l.spool_id])).toEqual([
      [0, 11],
      [1, 12],
    ]);
  });

  test("a print not from the library: each linked tray's remain drop × the spool's net weight", async () => {
    const job = await runPrint("remain drop", [75, 58]);
    // Tray 0: 80 → 75 % of 1000 g = 50 g; tray 1: 60 → 58 % of 750 g = 15 g.
    await until(
      () => spoolman.uses.length,
      (n) => n === 2,
    );
    expect(spoolman.uses.toSorted((a, b) => a.spool - b.spool)).toEqual([
      { spool: 11, use_weight: 50 },
      { spool: 12, use_weight: 15 },
    ]);
    expect(await pending()).toEqual([]);
    expect(job.outcome).toBe("finished");
  });

  test("Spoolman down: a library print's plate grams are kept, nothing blocks, and they arrive once it is back", async () => {
    await spoolman.stop();
    spoolman.uses.length = 0;
    const started = Date.now();
    // Sent from the library: plate filament 0 (PETG, 7.5 g) to tray 1, filament 1 (PLA, 20.25 g) to tray 0.
    const job = await runPrint("from the library", [70, 50], (running) => {
      const db = app.store.db;
      db.run(
        "INSERT INTO library_files (id, name, size, sha256, uploaded_by, created_at) VALUES (1, 'p', 1, 'x', 'op', 0)",
      );
      db.run(
        `INSERT INTO library_plates (file_id, plate, name, filaments_json, objects_json, thumbnail)
         VALUES (1, 1, 'Plate 1', ?, '[]', 0)`,
        [
          JSON.stringify([
            { type: "PETG", color: "#0A2989", grams: 7.5 },
            { type: "PLA", color: "#FFFFFF", grams: 20.25 },
          ]),
        ],
      );
      db.run(
        `INSERT INTO sends (printer_id, file_id, plate, options_json, task_id, remote_name, status, progress, job_id,
           username, created_at, updated_at) VALUES (?, 1, 1, ?, 1, 'p', 'started', 1, ?, 'op', 0, 0)`,
        [ID, JSON.stringify({ ams_mapping: [1, 0] }), running.id],
      );
    });
    // The print closed as ever while Spoolman was down.
    expect(Date.now() - started).toBeLessThan(8000);
    // Sending stops at the first sign Spoolman is down: the oldest use has been tried, and both are kept.
    const kept = await until(pending, (p) => p.length === 2 && p[0]!.attempts >= 1);
    expect(kept.map((u) => [u.job_id, u.spool_id, u.grams, u.source]).toSorted()).toEqual([
      [job.id, 11, 20.25, "plate"],
      [job.id, 12, 7.5, "plate"],
    ]);
    expect(kept[0]!.last_error).toContain("did not answer");
    expect((await getPage(app, `/printers/${ID}`, cookie)).status).toBe(200);
    const section = await getPage(app, `/printers/${ID}/spoolman`, cookie);
    expect(section.text).toContain("could not be read");
    spoolman.start();
    await until(
      () => spoolman.uses.length,
      (n) => n === 2,
    );
    expect(spoolman.uses.toSorted((a, b) => a.spool - b.spool)).toEqual([
      { spool: 11, use_weight: 20.25 },
      { spool: 12, use_weight: 7.5 },
    ]);
    expect(await until(pending, (p) => p.length === 0)).toEqual([]);
    // Each use was sent once.
    await Bun.sleep(400);
    expect(spoolman.uses.length).toBe(2);
  });

  test("a viewer cannot link a tray", async () => {
    const res = await fetch(`${app.url}/api/printers/${ID}/trays/0/spool`, {
      method: "PUT",
      headers: { cookie: await viewerCookie(), "content-type": "application/json" },
      body: JSON.stringify({ spool_id: null }),
    });
    expect(res.status).toBe(403);
  });
});

async function viewerCookie() {
  const page = await getPage(app, "/settings", cookie);
  const csrf = csrfFrom(page.text);
  await postForm(
    app,
    "/settings/users",
    { _csrf: csrf, username: "viv", password: "viv-password-1", role: "viewer" },
    { cookie },
  );
  return login(app, "viv", "viv-password-1");
}

describe("grams per linked tray", () => {
  const links = [
    { tray: 0, spool_id: 1, spool_grams: 1000 },
    { tray: 1, spool_id: 2, spool_grams: null },
  ];
  const plate = { filaments: [{ type: "PLA", color: "#FFFFFF", grams: 10 }], ams_mapping: [0] };
  const facts = { trays: [], plate };
  const remains = (a: number, b: number) =>
    new Map([
      [0, a],
      [1, b],
    ]);

  test("a print that did not finish counts the plate's grams by the share of layers done", () => {
    const job = { outcome: "failed" as const, layer: 4, total_layers: 10 };
    expect(usesOf({ job, facts, links, remainAtStart: remains(50, 50), remainNow: remains(40, 40) })).toEqual([
      { tray: 0, spool_id: 1, grams: 4, source: "plate" },
    ]);
  });

  test("with the share unknown, the remain drop; a spool of unknown weight reports nothing", () => {
    const job = { outcome: "cancelled" as const, layer: null, total_layers: null };
    expect(usesOf({ job, facts, links, remainAtStart: remains(50, 50), remainNow: remains(47, 40) })).toEqual([
      { tray: 0, spool_id: 1, grams: 30, source: "remain" },
    ]);
  });
});

describe("without spoolman_url", () => {
  test("nothing of Spoolman is there: its routes answer 404 and the printer page has no section", async () => {
    const plain = await startApp({ printers: [{ name: "P" }] as never });
    try {
      const c = await login(plain);
      expect((await fetch(`${plain.url}/api/spoolman/spools`, { headers: { cookie: c } })).status).toBe(404);
      expect((await getPage(plain, "/printers/1/spoolman", c)).status).toBe(404);
      expect((await getPage(plain, "/printers/1", c)).text).not.toContain("/spoolman");
    } finally {
      await plain.close();
    }
  });
});

describe("a use Spoolman refuses for good", () => {
  type RefusedUse = { id: number; job_id: number; spool_id: number; grams: number; last_error: string };
  const refused = async () =>
    ((await (await fetch(`${app.url}/api/spoolman/refused`, { headers: { cookie } })).json()) as { uses: RefusedUse[] })
      .uses;
  const refusedLog = () => app.logs.filter((l) => l.msg.startsWith("Spoolman refused a filament use"));

  test("a use for a spool deleted in Spoolman is refused once, not asked again, and a newer use still arrives", async () => {
    const deleted = spoolman.remove(12);
    spoolman.uses.length = 0;
    try {
      // Tray 1 (spool 12, deleted) drops 50 → 45 % of 750 g.
      const first = await runPrint("deleted spool", [70, 45]);
      const [use] = await until(refused, (r) => r.length === 1);
      expect(use).toMatchObject({ job_id: first.id, spool_id: 12, grams: 37.5 });
      expect(use!.last_error).toContain("404");
      expect(use!.last_error).toContain("No spool with ID 12 found.");
      expect(await pending()).toEqual([]);
      // The retry timer runs every 150 ms in this app: six rounds would each have asked again.
      await quietFor(900);
      expect(spoolman.missing.filter((r) => r === "PUT /api/v1/spool/12/use")).toHaveLength(1);
      expect(refusedLog()).toHaveLength(1);
      expect(refusedLog()[0]!.fields).toMatchObject({ job: first.id, spool: 12 });

      // Tray 0 (spool 11) drops 70 → 65 % of 1000 g: not held up by the refused one.
      await runPrint("after the refusal", [65, 45]);
      await until(
        () => spoolman.uses.length,
        (n) => n === 1,
      );
      expect(spoolman.uses).toEqual([{ spool: 11, use_weight: 50 }]);
      expect(await until(pending, (p) => p.length === 0)).toEqual([]);
      expect((await refused()).map((u) => u.spool_id)).toEqual([12]);
    } finally {
      spoolman.restore(deleted);
    }
  });

  test("Settings lists it with Spoolman's answer; an admin's Try again sends it once the spool exists", async () => {
    const [use] = await refused();
    expect(use?.spool_id).toBe(12);
    const page = (await getPage(app, "/settings", cookie)).text;
    expect(page).toContain('hx-get="/settings/spoolman"');
    const part = await getPage(app, "/settings/spoolman", cookie);
    expect(part.status).toBe(200);
    expect(part.text).toContain("Uses Spoolman refused");
    expect(part.text).toContain("No spool with ID 12 found.");
    expect(part.text).toContain(`action="/settings/spoolman/uses/${use!.id}/retry"`);
    expect(part.text).toContain("Try again");

    // Only admins see it or press it, and only with the form's CSRF token.
    const viewer = await login(app, "viv", "viv-password-1");
    expect((await getPage(app, "/settings/spoolman", viewer)).status).toBe(403);
    const vCsrf = csrfFrom((await getPage(app, "/settings", viewer)).text);
    const byViewer = await postForm(
      app,
      `/settings/spoolman/uses/${use!.id}/retry`,
      { _csrf: vCsrf },
      { cookie: viewer },
    );
    expect(byViewer.status).toBe(403);
    expect((await postForm(app, `/settings/spoolman/uses/${use!.id}/retry`, {}, { cookie })).status).toBe(403);
    expect(await refused()).toHaveLength(1);

    spoolman.uses.length = 0;
    const csrf = csrfFrom(part.text);
    const res = await postForm(
      app,
      `/settings/spoolman/uses/${use!.id}/retry`,
      { _csrf: csrf },
      { cookie, "hx-request": "true" },
    );
    expect(res.status).toBe(200);
    const answer = await res.text();
    expect(answer).toContain("Sent to Spoolman again.");
    expect(answer).not.toContain("No spool with ID 12 found.");
    expect(spoolman.uses).toEqual([{ spool: 12, use_weight: 37.5 }]);
    expect(await refused()).toEqual([]);
    expect(await pending()).toEqual([]);
    // Tried again once: not a refused use any more.
    const again = await postForm(
      app,
      `/settings/spoolman/uses/${use!.id}/retry`,
      { _csrf: csrf },
      { cookie, "hx-request": "true" },
    );
    expect(again.status).toBe(400);
    expect(await again.text()).toContain("No such refused use.");
    // Each round of the retry timer would have sent it again: it went once.
    await quietFor(450);
    expect(spoolman.uses).toHaveLength(1);
  });

  test("Spoolman failing (503) is not a refusal: the use is kept pending and arrives once Spoolman recovers", async () => {
    spoolman.failing = true;
    spoolman.uses.length = 0;
    try {
      // Tray 0 (spool 11) drops 65 → 60 % of 1000 g.
      await runPrint("Spoolman failing", [60, 45]);
      const [kept] = await until(pending, (p) => p.length === 1 && p[0]!.attempts >= 2);
      expect(kept!.last_error).toContain("503");
      expect(await refused()).toEqual([]);
    } finally {
      spoolman.failing = false;
    }
    await until(
      () => spoolman.uses.length,
      (n) => n === 1,
    );
    expect(spoolman.uses).toEqual([{ spool: 11, use_weight: 50 }]);
    expect(await until(pending, (p) => p.length === 0)).toEqual([]);
  });
});
