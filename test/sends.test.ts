// Sending a library file to a printer (PRINTERS.md §9) against the fake A1: FTPS with implicit TLS whose data
// connection must resume the control connection's session, then MQTT project_file, confirmed by the state. Also
// what is refused before any upload, a missing SD card, a print that never starts, reprint and skipping objects.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { connect } from "node:tls";
import { FtpsCertificateError, ftps } from "../src/lan/ftps-client.ts";
import { useCleanup } from "./app-fixture.ts";
import { startFakePrinter } from "./fakes/bambu-printer.ts";
import { makeCert } from "./fakes/certs.ts";
import { startFakeFtps } from "./fakes/ftps-server.ts";
import {
  apiRequest,
  csrfFrom,
  getPage,
  login,
  printerEntry,
  startApp,
  type TestApp,
  tempDir,
  until,
} from "./helpers.ts";
import { upload } from "./library-helpers.ts";

const cleanup = useCleanup();

type Send = { id: number; status: string; progress: number; reason?: string; error?: string; job_id?: number };

async function setup(opts: Parameters<typeof startFakePrinter>[0] = {}, model = "A1", code?: string) {
  const printer = await startFakePrinter({ commandDelayMs: 30, sentPrint: { layers: 6, stepMs: 150 }, ...opts });
  cleanup.push(() => printer.close());
  const app = await startApp(
    {
      printers: [
        printerEntry(printer, {
          name: "Farm A1",
          model,
          access_code: code ?? printer.accessCode,
          camera: false,
          ftps_port: printer.ftpsPort,
          tls: "pin",
        }),
      ] as never,
    },
    undefined,
    { lanTimings: { backoffMinMs: 100, backoffMaxMs: 500 }, sendTimings: { startWithinMs: 3000, skipWithinMs: 3000 } },
  );
  cleanup.push(() => app.close());
  const cookie = await login(app);
  const csrf = csrfFrom((await getPage(app, "/settings", cookie)).text);
  const json = async (method: string, path: string, body?: unknown) => {
    const res = await apiRequest(app, cookie, method, path, body);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & Send };
  };
  const file = async (name = "cubes-a1.gcode.3mf") =>
    (await (await upload(app, cookie, csrf, name)).json()) as { id: number; plates: { objects: { id: number }[] }[] };
  // The link is up and the printer's first report is in.
  await until(
    () => json("GET", "/api/printers/1"),
    (r) => (r.body as unknown as { state: { gcode_state: string } | null }).state?.gcode_state === "IDLE",
  );
  const finished = (id: number) =>
    until(
      () => json("GET", `/api/sends/${id}`),
      (r) => r.body.status === "started" || r.body.status === "failed",
      15_000,
    ).then((r) => r.body);
  return { printer, app, cookie, json, file, finished };
}

async function jobName(app: TestApp, cookie: string, id: number) {
  const res = await fetch(`${app.url}/api/jobs/${id}`, { headers: { cookie } });
  return ((await res.json()) as { name: string }).name;
}

describe("sending a print", () => {
  test("upload → send → the printer's job opens with the file's name, the file on its SD card", async () => {
    const { printer, app, cookie, json, file, finished } = await setup();
    const f = await file();
    const sent = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1, timelapse: true });
    expect(sent.status).toBe(202);
    const done = await finished(sent.body.send_id as unknown as number);
    expect(done).toMatchObject({ status: "started", progress: 1 });
    expect(await jobName(app, cookie, done.job_id!)).toBe("cubes-a1");
    const stored = printer.ftps.files.get("cubes-a1.gcode.3mf")!;
    expect(stored.bytes).toEqual(await Bun.file(`${app.dir}/media/library/${f.id}.gcode.3mf`).bytes());
    expect(printer.ftps.stats.notReused).toBe(0);
    const command = printer.projectFiles[0]!;
    expect(command).toMatchObject({
      command: "project_file",
      param: "Metadata/plate_1.gcode",
      url: "ftp://cubes-a1.gcode.3mf",
      subtask_name: "cubes-a1",
      task_id: String(done.id),
      timelapse: true,
      bed_leveling: true,
      use_ams: false,
    });
    expect(Number(command.task_id)).toBeLessThanOrEqual(2 ** 31 - 1);
  });

  test("a wrong access code fails the send with the reason, and nothing starts", async () => {
    const { printer, json, file, finished } = await setup();
    const f = await file();
    // The printer's code changed (as toggling LAN Only does); the MQTT session open before it stays up.
    printer.ftps.accessCode = "changed1";
    const s = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1 });
    const done = await finished(s.body.send_id as unknown as number);
    expect(done).toMatchObject({ status: "failed", reason: "upload_refused" });
    expect(done.error).toContain("access code");
    expect(printer.ftps.stats.refusedLogins).toBe(1);
    expect(printer.projectFiles).toEqual([]);
  });

  test("no SD card: FTP 553 fails the send with a clear error", async () => {
    const { printer, json, file, finished } = await setup();
    printer.ftps.sdCard = false;
    const f = await file();
    const s = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1 });
    const done = await finished(s.body.send_id as unknown as number);
    expect(done).toMatchObject({ status: "failed", reason: "upload_refused" });
    expect(done.error).toContain("553");
    expect(printer.projectFiles).toEqual([]);
  });

  test("a printer that never starts the print: not confirmed, and the file is removed from its card", async () => {
    const { printer, json, file, finished } = await setup({ ignoreProjectFile: true });
    const f = await file();
    const s = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1 });
    const done = await finished(s.body.send_id as unknown as number);
    expect(done).toMatchObject({ status: "failed", reason: "not_confirmed" });
    expect(printer.ftps.stats.stores).toBe(1);
    expect([...printer.ftps.files.keys()]).toEqual([]);
  });

  test("a busy printer is refused before any upload", async () => {
    const { printer, json, file } = await setup();
    const f = await file();
    void printer.runPrint({ name: "Other", layers: 50, stepMs: 200 });
    await until(
      () => json("GET", "/api/printers/1"),
      (r) =>
        ["PREPARE", "RUNNING"].includes((r.body as unknown as { state: { gcode_state: string } }).state.gcode_state),
    );
    const s = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1 });
    expect(s.status).toBe(409);
    expect(s.body.reason).toBe("busy");
    expect(printer.ftps.stats.logins).toBe(0);
  });

  test("a file sliced for another model is refused before any upload", async () => {
    const { printer, json, file } = await setup();
    const f = await file("two-plates-a1mini.gcode.3mf");
    const s = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 2 });
    expect(s.status).toBe(422);
    expect(s.body).toMatchObject({ reason: "model_mismatch" });
    expect(String(s.body.error)).toContain("A1 mini");
    expect(printer.ftps.stats.logins).toBe(0);
  });

  test("a file sliced for another nozzle is refused before any upload", async () => {
    const { printer, json, file } = await setup({}, "X1C");
    const f = await file("cubes-x1c-0.6.gcode.3mf");
    const s = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1 });
    expect(s.status).toBe(422);
    expect(String(s.body.error)).toContain("0.6 mm");
    expect(printer.ftps.stats.logins).toBe(0);
  });

  test("under Authorization Control (Developer Mode off) the send is refused with what to change", async () => {
    const { printer, json, file } = await setup({ authorizationControl: true });
    const f = await file();
    const s = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1 });
    expect(s.status).toBe(403);
    expect(s.body.reason).toBe("authorization_control");
    expect(String(s.body.error)).toContain("Developer Mode");
    expect(printer.ftps.stats.logins).toBe(0);
  });

  test("a finished print is reprinted with the same file, plate and options", async () => {
    const { printer, app, cookie, json, file, finished } = await setup();
    const f = await file();
    const first = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1, flow_cali: true });
    const done = await finished(first.body.send_id as unknown as number);
    await until(
      () => json("GET", "/api/printers/1"),
      (r) => (r.body as unknown as { state: { gcode_state: string } }).state.gcode_state === "FINISH",
    );
    const again = await json("POST", `/api/jobs/${done.job_id}/reprint`);
    expect(again.status).toBe(202);
    const second = await finished(again.body.send_id as unknown as number);
    expect(second.status).toBe("started");
    expect(second.job_id).not.toBe(done.job_id);
    expect(await jobName(app, cookie, second.job_id!)).toBe("cubes-a1");
    expect(printer.projectFiles.map((p) => [p.param, p.flow_cali, p.subtask_name])).toEqual([
      ["Metadata/plate_1.gcode", true, "cubes-a1"],
      ["Metadata/plate_1.gcode", true, "cubes-a1"],
    ]);
    expect(Number(printer.projectFiles[1]!.task_id)).not.toBe(Number(printer.projectFiles[0]!.task_id));
  });

  test("skipping one of three objects is confirmed by the printer's skipped list", async () => {
    const { printer, json, file, finished } = await setup({ sentPrint: { layers: 40, stepMs: 150 } });
    const f = await file();
    const s = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1 });
    await finished(s.body.send_id as unknown as number);
    const picker = await json("GET", "/api/printers/1/objects");
    expect((picker.body as unknown as { objects: { id: number }[] }).objects.map((o) => o.id)).toEqual([159, 187, 215]);
    await until(
      () => json("GET", "/api/printers/1"),
      (r) => (r.body as unknown as { state: { gcode_state: string } }).state.gcode_state === "RUNNING",
    );
    const skip = await json("POST", "/api/printers/1/skip", { objects: [187] });
    expect(skip.status).toBe(200);
    expect(skip.body).toMatchObject({ ok: true, skipped: [187] });
    expect(printer.state.s_obj).toEqual([187]);
    expect(printer.commands).toContainEqual({
      print: { sequence_id: expect.any(String), command: "skip_objects", obj_list: [187] },
    });
    // An object that is not on the plate is refused without a command.
    expect((await json("POST", "/api/printers/1/skip", { objects: [999] })).status).toBe(400);
  });
});

describe("the printer page's skip picker", () => {
  test("shows the plate's objects while it prints and skips the chosen one", async () => {
    const { app, cookie, json, file, finished, printer } = await setup({ sentPrint: { layers: 40, stepMs: 150 } });
    const f = await file();
    const s = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1 });
    await finished(s.body.send_id as unknown as number);
    const panel = await getPage(app, "/printers/1/farm", cookie);
    expect(panel.text).toContain('name="objects" value="215"');
    expect(panel.text).toContain("Cube &lt;C&gt; &amp; co");
    const csrf = csrfFrom((await getPage(app, "/library", cookie)).text);
    await until(
      () => json("GET", "/api/printers/1"),
      (r) => (r.body as unknown as { state: { gcode_state: string } }).state.gcode_state === "RUNNING",
    );
    const res = await fetch(`${app.url}/printers/1/skip`, {
      method: "POST",
      headers: { cookie, "x-csrf-token": csrf, "hx-request": "true" },
      body: new URLSearchParams({ objects: "215" }),
    });
    expect(await res.text()).toContain("Skipped.");
    expect(printer.state.s_obj).toEqual([215]);
  });
});

describe("the library pages", () => {
  test("a plate sent from the library page goes to its progress page, which ends showing the print", async () => {
    const { app, cookie, file, finished } = await setup();
    const f = await file();
    const page = await getPage(app, "/library", cookie);
    expect(page.text).toContain("Three cubes");
    expect(page.text).toContain(`action="/library/${f.id}/send"`);
    const csrf = csrfFrom(page.text);
    const res = await fetch(`${app.url}/library/${f.id}/send`, {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({ _csrf: csrf, printer: "1", plate: "1", bed_leveling: "on" }),
      redirect: "manual",
    });
    expect(res.status).toBe(303);
    const location = res.headers.get("location")!;
    expect(location).toMatch(/^\/sends\/\d+$/);
    const done = await finished(Number(location.split("/").pop()));
    const status = await getPage(app, `${location}/status`, cookie);
    expect(status.text).toContain(`/jobs/${done.job_id}`);
    // The print's page offers it again once it has ended.
    await until(
      () => getPage(app, `/jobs/${done.job_id}`, cookie),
      (p) => p.text.includes(`action="/jobs/${done.job_id}/reprint"`),
      15_000,
    );
  });

  test("a refused send from the page says why, in a page", async () => {
    const { app, cookie, file } = await setup();
    const f = await file("two-plates-a1mini.gcode.3mf");
    const csrf = csrfFrom((await getPage(app, "/library", cookie)).text);
    const res = await fetch(`${app.url}/library/${f.id}/send`, {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({ _csrf: csrf, printer: "1", plate: "1" }),
      redirect: "manual",
    });
    expect(res.status).toBe(422);
    expect(await res.text()).toContain("sliced for A1 mini");
  });
});

describe("the fake printer's FTPS", () => {
  test("refuses a data connection that does not resume the control connection's TLS session", async () => {
    const printer = await startFakePrinter();
    cleanup.push(() => printer.close());
    const target = { host: "127.0.0.1", port: printer.ftpsPort, accessCode: printer.accessCode };
    // Our client resumes it: stored.
    const path = join(tempDir(), "ok.gcode.3mf");
    await Bun.write(path, "G28\n");
    await ftps.upload(target, "ok.gcode.3mf", path, () => {});
    expect(printer.ftps.files.has("ok.gcode.3mf")).toBe(true);
    // A client that opens the data connection afresh is refused (522), as the printers' vsftpd does.
    const control = connect({ host: "127.0.0.1", port: printer.ftpsPort, rejectUnauthorized: false });
    const lines: string[] = [];
    control.setEncoding("utf8");
    control.on("data", (t: string) => lines.push(...t.trim().split("\r\n")));
    const say = async (line: string, code: string) => {
      control.write(`${line}\r\n`);
      await until(
        () => lines.at(-1) ?? "",
        (l) => l.startsWith(code),
      );
      return lines.at(-1)!;
    };
    await until(
      () => lines.length,
      (n) => n > 0,
    );
    await say("USER bblp", "331");
    await say(`PASS ${printer.accessCode}`, "230");
    const pasv = await say("PASV", "227");
    const [, hi, lo] = /(\d+),(\d+)\)/.exec(pasv)!;
    const data = connect({ host: "127.0.0.1", port: Number(hi) * 256 + Number(lo), rejectUnauthorized: false });
    data.on("error", () => {});
    expect(await say("STOR fresh.gcode.3mf", "522")).toContain("session reuse required");
    expect(printer.ftps.stats.notReused).toBe(1);
    control.destroy();
    data.destroy();
  });
});

describe("one send at a time per printer", () => {
  test("two sends at once: one starts, the other is refused as busy, and the printer gets one print", async () => {
    const { printer, json, file, finished } = await setup();
    const f = await file();
    const [a, b] = await Promise.all([
      json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1 }),
      json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1 }),
    ]);
    expect([a.status, b.status].sort()).toEqual([202, 409]);
    const [taken, refused] = a.status === 202 ? [a, b] : [b, a];
    expect(refused.body).toMatchObject({ reason: "busy", error: expect.stringContaining("another send") });
    expect(await finished(taken.body.send_id as unknown as number)).toMatchObject({ status: "started" });
    expect(printer.projectFiles).toHaveLength(1);
    expect(printer.ftps.stats.stores).toBe(1);
  });

  test("a send asked for while another is under way is refused as busy, and taken once it has ended", async () => {
    const { printer, json, file, finished } = await setup({ ignoreProjectFile: true });
    const f = await file();
    const first = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1 });
    expect(first.status).toBe(202);
    // The printer stays IDLE (it swallows project_file): only the first send's being under way refuses this one.
    const second = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1 });
    expect([second.status, second.body.reason]).toEqual([409, "busy"]);
    expect(await finished(first.body.send_id as unknown as number)).toMatchObject({ reason: "not_confirmed" });
    expect(printer.ftps.stats.stores).toBe(1);
    // Once it has ended, the printer takes a send again.
    const third = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1 });
    expect(third.status).toBe(202);
    await finished(third.body.send_id as unknown as number);
    // Two sends each wait startWithinMs (3 s) for a start that never comes.
  }, 20_000);
});

describe("the printer's FTPS certificate under tls pin", () => {
  test("a send accepts the MQTT pin's certificate on FTPS and pins nothing more", async () => {
    const { app, json, file, finished } = await setup();
    const f = await file();
    const s = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1 });
    expect(await finished(s.body.send_id as unknown as number)).toMatchObject({ status: "started" });
    expect((await app.printers.connectionOf(1))!.ftps_fingerprint).toBeNull();
  });

  test("another FTPS certificate is learned on the first send; a changed one is refused before PASS until re-pinned", async () => {
    const { printer, app, cookie, json, file, finished } = await setup();
    const printerState = async () =>
      (await json("GET", "/api/printers/1")).body as unknown as {
        state: { gcode_state: string };
        sources: { lan: string };
        lan: { pinned: boolean };
      };
    const learned = printer.changeFtpsCertificate();
    const f = await file();
    const first = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1 });
    expect(await finished(first.body.send_id as unknown as number)).toMatchObject({ status: "started" });
    expect((await app.printers.connectionOf(1))!.ftps_fingerprint).toBe(learned.fingerprint256);
    await until(printerState, (p) => p.state.gcode_state === "FINISH");

    // A machine in the middle (or a replaced printer) on 990: refused before the access code goes out.
    printer.changeFtpsCertificate();
    const passes = printer.ftps.stats.passes;
    const refused = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1 });
    const failed = await finished(refused.body.send_id as unknown as number);
    expect(failed).toMatchObject({ status: "failed", reason: "upload_refused" });
    expect(failed.error).toBe(
      "the printer's file-transfer certificate changed: re-pin it in Settings if you replaced the printer",
    );
    expect(printer.ftps.stats.passes).toBe(passes);
    expect(printer.projectFiles).toHaveLength(1);

    // Re-pinning forgets both pins: the link pins MQTT's again, and the next send learns the new FTPS one.
    expect((await apiRequest(app, cookie, "POST", "/api/printers/1/repin", {})).status).toBe(200);
    expect((await app.printers.connectionOf(1))!.ftps_fingerprint).toBeNull();
    await until(printerState, (p) => p.sources.lan === "connected" && p.lan.pinned && !!p.state.gcode_state, 8000);
    const again = await json("POST", "/api/printers/1/print", { file_id: f.id, plate: 1 });
    expect(await finished(again.body.send_id as unknown as number)).toMatchObject({ status: "started" });
    expect((await app.printers.connectionOf(1))!.ftps_fingerprint).toBe(printer.ftpsFingerprint256);
    expect(printer.projectFiles).toHaveLength(2);
  });
});

describe("the FTPS client's certificate checks", () => {
  test("a data connection with another certificate than the control one is refused before the file goes", async () => {
    const cert = makeCert("01S00C000000001");
    const ftpsServer = await startFakeFtps({ accessCode: "12345678", cert, dataCert: makeCert("01S00C000000001", 1) });
    cleanup.push(() => ftpsServer.close());
    const path = join(tempDir(), "cube.gcode.3mf");
    await Bun.write(path, "G28\n");
    const checked: string[] = [];
    const target = {
      host: "127.0.0.1",
      port: ftpsServer.port,
      accessCode: "12345678",
      checkCertificate: async (seen: string) => {
        checked.push(seen);
        return null;
      },
    };
    const err = await ftps.upload(target, "cube.gcode.3mf", path, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FtpsCertificateError);
    expect((err as Error).message).toContain("data connection presented another certificate");
    expect(checked).toEqual([cert.fingerprint256]);
    expect(ftpsServer.files.size).toBe(0);
  });
});
