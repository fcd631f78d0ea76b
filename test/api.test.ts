// The first printer's JSON API (PROTOCOL.md §3): a local day of readings, gzip and ETags, the capture intervals.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { zonedToUtc } from "../src/time.ts";
import { getPage, login, startApp, type TestApp } from "./helpers.ts";

let app: TestApp;
let cookie: string;
const ZONE = "Europe/Helsinki";
const at = (day: string, h: number, m: number) => {
  const [y, mo, d] = day.split("-").map(Number);
  return zonedToUtc(y!, mo!, d!, ZONE, h, m);
};

beforeAll(async () => {
  app = await startApp({ timezone: ZONE });
  cookie = await login(app);
  // Around midnight in summer (UTC+3) and winter (UTC+2): the old server's UTC filter lost these.
  for (const day of ["2025-07-14", "2025-12-14"]) {
    app.store.readings.insert(1, 1, at(day, 0, 5), 20.5, 41);
    app.store.readings.insert(1, 1, at(day, 12, 0), 22, 45);
    app.store.readings.insert(1, 1, at(day, 23, 55), 19.5, 50);
  }
  app.store.readings.insert(1, 1, at("2025-07-13", 23, 55), 1, 1);
  app.store.readings.insert(1, 1, at("2025-07-15", 0, 5), 2, 2);
});
afterAll(async () => {
  await app.close();
});

const api = async (path: string) => {
  const res = await getPage(app, path, cookie);
  return { status: res.status, body: JSON.parse(res.text), type: res.headers.get("content-type") };
};

describe("GET /api/temphum", () => {
  test("returns exactly one local calendar day, 00:05 and 23:55 included, oldest first", async () => {
    const { status, body } = await api("/api/temphum?date=2025-07-14");
    expect(status).toBe(200);
    expect(body).toEqual([
      { timestamp: "2025-07-14T00:05:00.000+03:00", temperature: 20.5, humidity: 41 },
      { timestamp: "2025-07-14T12:00:00.000+03:00", temperature: 22, humidity: 45 },
      { timestamp: "2025-07-14T23:55:00.000+03:00", temperature: 19.5, humidity: 50 },
    ]);
  });

  test("uses the winter offset in winter", async () => {
    const { body } = await api("/api/temphum?date=2025-12-14");
    expect(body.map((r: { timestamp: string }) => r.timestamp)).toEqual([
      "2025-12-14T00:05:00.000+02:00",
      "2025-12-14T12:00:00.000+02:00",
      "2025-12-14T23:55:00.000+02:00",
    ]);
  });

  test("an empty day is an empty list", async () => {
    expect((await api("/api/temphum?date=2024-02-29")).body).toEqual([]);
  });

  test("without a date it answers today", async () => {
    const now = Date.now();
    app.store.readings.insert(1, 1, now, 23.25, 33);
    const { body } = await api("/api/temphum");
    expect(body.at(-1)).toMatchObject({ temperature: 23.25, humidity: 33 });
  });

  for (const bad of [
    "2025-13-01",
    "2025-02-30",
    "yesterday",
    "2025-1-1",
    "2025-07-14T00:00",
    "%27%3B%20DROP%20TABLE%20readings",
  ]) {
    test(`a malformed date (${decodeURIComponent(bad)}) answers 400 with a JSON error`, async () => {
      const { status, body, type } = await api(`/api/temphum?date=${bad}`);
      expect(status).toBe(400);
      expect(type).toContain("application/json");
      expect(body.error).toContain("YYYY-MM-DD");
    });
  }
});

describe("encoding and caching of a day", () => {
  test("a large day is gzipped for clients that accept it, with an ETag that answers 304 when unchanged", async () => {
    const fill = app.store.db.transaction(() => {
      for (let i = 0; i < 500; i++) app.store.readings.insert(1, 1, at("2025-08-01", 10, 0) + i * 1000, 21, 40);
    });
    fill();
    const res = await fetch(`${app.url}/api/temphum?date=2025-08-01`, {
      headers: { cookie, "accept-encoding": "gzip" },
    });
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(res.headers.get("vary")).toContain("accept-encoding");
    expect(((await res.json()) as unknown[]).length).toBe(500);
    const etag = res.headers.get("etag")!;
    const again = await fetch(`${app.url}/api/temphum?date=2025-08-01`, { headers: { cookie, "if-none-match": etag } });
    expect(again.status).toBe(304);
  });

  test("a late reading for a cached day changes its ETag and its body", async () => {
    const first = await fetch(`${app.url}/api/temphum?date=2025-08-01`, { headers: { cookie } });
    const etag = first.headers.get("etag")!;
    expect(((await first.json()) as unknown[]).length).toBe(500);
    app.store.readings.insert(1, 1, at("2025-08-01", 23, 0), 30, 30);
    const second = await fetch(`${app.url}/api/temphum?date=2025-08-01`, {
      headers: { cookie, "if-none-match": etag },
    });
    expect(second.status).toBe(200);
    expect(second.headers.get("etag")).not.toBe(etag);
    expect(((await second.json()) as unknown[]).length).toBe(501);
  });

  test("a client that does not accept gzip gets plain JSON for a cached day", async () => {
    await fetch(`${app.url}/api/temphum?date=2025-08-01`, { headers: { cookie, "accept-encoding": "gzip" } });
    const res = await fetch(`${app.url}/api/temphum?date=2025-08-01`, {
      headers: { cookie, "accept-encoding": "identity" },
    });
    expect(res.headers.get("content-encoding")).toBeNull();
    expect((JSON.parse(await res.text()) as unknown[]).length).toBeGreaterThan(500);
  });

  test("small answers are not compressed", async () => {
    const res = await fetch(`${app.url}/api/timelapse_config`, { headers: { cookie, "accept-encoding": "gzip" } });
    expect(res.headers.get("content-encoding")).toBeNull();
  });
});

describe("GET /api/timelapse_config", () => {
  test("a fresh database has default intervals (the old server answered 500)", async () => {
    expect((await api("/api/timelapse_config")).body).toEqual({ image_delay: 10, temphum_delay: 10, status_delay: 10 });
  });

  test("PUT with JSON sets valid intervals and refuses invalid ones field by field", async () => {
    const put = (body: unknown, type = "application/json") =>
      fetch(`${app.url}/api/timelapse_config`, {
        method: "PUT",
        headers: { cookie, "content-type": type },
        body: JSON.stringify(body),
      });
    const bad = await put({ image_delay: 4, temphum_delay: 1.5, status_delay: 1 });
    expect(bad.status).toBe(400);
    const err = await bad.json();
    expect(Object.keys(err.fields).sort()).toEqual(["image_delay", "temphum_delay"]);
    expect((await put({ image_delay: 5, temphum_delay: 1, status_delay: 1 }, "text/plain")).status).toBe(415);
    expect((await put({ image_delay: 5, temphum_delay: 1, status_delay: 1 })).status).toBe(200);
    expect((await api("/api/timelapse_config")).body).toEqual({ image_delay: 5, temphum_delay: 1, status_delay: 1 });
  });
});
