// The farm across two instances on one PostgreSQL with Redis: a send, a skip and a plate confirmation asked of
// the instance not holding the printer's link are run by the holder (its FTPS upload, its command, its audit and
// log), and the send's progress answers on either instance from the store. Library files live in a media_dir
// both instances share, as README asks of several instances.
import { beforeAll, describe, expect, test } from "bun:test";
import { useInstances } from "./app-fixture.ts";
import { startFakePrinter } from "./fakes/bambu-printer.ts";
import { apiRequest, csrfFrom, getPage, leaseHolder, login, printerEntry, type TestApp, until } from "./helpers.ts";
import { upload } from "./library-helpers.ts";

type Send = { id: number; status: string; progress: number; job_id?: number; reason?: string };

const fx = useInstances({ redis: true });

describe("the farm asked of the instance not holding the printer", () => {
  let printer: Awaited<ReturnType<typeof startFakePrinter>>;
  let holder: TestApp;
  let other: TestApp;
  let cookie: string;
  let fileId: number;
  let jobId: number;
  const json = async <T = Record<string, unknown>>(app: TestApp, method: string, path: string, body?: unknown) => {
    const res = await apiRequest(app, cookie, method, path, body);
    return { status: res.status, body: (await res.json()) as T };
  };

  beforeAll(async () => {
    printer = await startFakePrinter({ commandDelayMs: 30, sentPrint: { layers: 60, stepMs: 200 } });
    fx.atEnd(() => printer.close());
    const entry = printerEntry(printer, { camera: false, ftps_port: printer.ftpsPort, tls: "pin" });
    const config = {
      database_url: await fx.pg.createDatabase(),
      redis_url: fx.redis.url,
      media_dir: fx.dir(),
      printers: [entry] as never,
    };
    const opts = { sendTimings: { startWithinMs: 5000, skipWithinMs: 5000 } };
    const a = await fx.instance(config, { ...opts, instanceName: "left" });
    const b = await fx.instance(config, { ...opts, instanceName: "right" });
    [holder, other] = await leaseHolder(a, b);
    cookie = await login(other);
    await until(
      () => json<{ state: { gcode_state: string } | null }>(other, "GET", "/api/printers/1"),
      (r) => r.body.state?.gcode_state === "IDLE",
      15_000,
    );
  }, 60_000);

  test("a send is uploaded and started by the holder; its progress answers on both instances", async () => {
    const csrf = csrfFrom((await getPage(other, "/settings", cookie)).text);
    const file = (await (await upload(other, cookie, csrf, "cubes-a1.gcode.3mf")).json()) as { id: number };
    fileId = file.id;
    const sent = await json<{ send_id: number }>(other, "POST", "/api/printers/1/print", { file_id: fileId });
    expect(sent.status).toBe(202);
    const id = sent.body.send_id;
    const done = await until(
      () => json<Send>(other, "GET", `/api/sends/${id}`),
      (r) => r.body.status === "started" || r.body.status === "failed",
      20_000,
    );
    expect(done.body).toMatchObject({ id, status: "started", progress: 1 });
    jobId = done.body.job_id!;
    expect((await json<Send>(holder, "GET", `/api/sends/${id}`)).body).toMatchObject({ id, status: "started" });
    expect(printer.projectFiles).toHaveLength(1);
    expect(printer.ftps.files.has("cubes-a1.gcode.3mf")).toBe(true);
    const sends = (l: TestApp) => l.logs.filter((x) => x.msg === "printer action" && x.fields?.action === "send");
    // The audit (and its log line) follows the state that confirmed the start.
    await until(
      () => sends(holder).length,
      (n) => n === 1,
    );
    expect(sends(holder).map((l) => [l.fields?.user, l.fields?.result])).toEqual([["admin", "ok"]]);
    expect(sends(other)).toEqual([]);
  }, 40_000);

  test("the plate's objects show there, and a skip is sent by the holder and confirmed", async () => {
    await until(
      () => json<{ state: { gcode_state: string } }>(other, "GET", "/api/printers/1"),
      (r) => r.body.state.gcode_state === "RUNNING",
      15_000,
    );
    const picker = await json<{ objects: { id: number }[]; skipped: number[] }>(
      other,
      "GET",
      "/api/printers/1/objects",
    );
    expect(picker.body.objects.map((o) => o.id)).toEqual([159, 187, 215]);
    const skip = await json(other, "POST", "/api/printers/1/skip", { objects: [187] });
    expect(skip.status).toBe(200);
    expect(skip.body).toMatchObject({ ok: true, skipped: [187] });
    expect(printer.state.s_obj).toEqual([187]);
    // The state model carries the skipped list to the other instance too.
    await until(
      () => json<{ state: { skipped_objects: number[] } }>(other, "GET", "/api/printers/1"),
      (r) => r.body.state.skipped_objects.includes(187),
    );
    const skips = (l: TestApp) => l.logs.filter((x) => x.msg === "printer action" && x.fields?.action === "skip");
    expect(skips(holder)).toHaveLength(1);
    expect(skips(other)).toEqual([]);
    // What the holder refuses comes back as it said it.
    expect((await json(other, "POST", "/api/printers/1/skip", { objects: [999] })).status).toBe(400);
  }, 30_000);

  test("a plate confirmed clear there is confirmed by the holder", async () => {
    expect((await json(other, "POST", "/api/printers/1/plate-cleared")).status).toBe(200);
    const cleared = (l: TestApp) => l.logs.filter((x) => x.msg === "plate confirmed clear");
    await until(
      () => cleared(holder).length,
      (n) => n === 1,
    );
    expect(cleared(other)).toEqual([]);
    const audit = (await other.asyncStore.printerActions.recent(10)).filter((r) => r.action === "plate_cleared");
    expect(audit.map((r) => [r.username, r.result])).toEqual([["admin", "ok"]]);
  });

  test("a reprint asked there is sent again by the holder", async () => {
    await until(
      () => printer.state.gcode_state,
      (g) => g === "FINISH",
      30_000,
    );
    const again = await json<{ send_id: number }>(other, "POST", `/api/jobs/${jobId}/reprint`);
    expect(again.status).toBe(202);
    await until(
      () => json<Send>(other, "GET", `/api/sends/${again.body.send_id}`),
      (r) => r.body.status === "started",
      20_000,
    );
    expect(printer.projectFiles).toHaveLength(2);
    // The audit (and its log line) follows the state that confirmed the start.
    await until(
      () => holder.logs.filter((x) => x.msg === "printer action" && x.fields?.action === "send").length,
      (n) => n === 2,
    );
    expect(other.logs.some((x) => x.msg === "printer action")).toBe(false);
  }, 60_000);

  // Last: the holder stays cut off from Redis.
  test("with the holder out of reach, a send is answered instance_silent (504), saying it may not have begun", async () => {
    await holder.redis!.close();
    const res = await json<{ reason: string; error: string }>(other, "POST", "/api/printers/1/print", {
      file_id: fileId,
    });
    expect(res.status).toBe(504);
    expect(res.body.reason).toBe("instance_silent");
    expect(res.body.error).toContain("not known");
    expect(printer.projectFiles).toHaveLength(2);
  }, 40_000);
});
