// Share links: a read-only link to one print for someone without an account. It shows that print and its frames,
// nothing else (other prints, printers, the API and sockets stay closed); expired and revoked links are refused,
// guessing is throttled per address, each open is counted, and Settings lists and revokes them. Operators make and
// list links too; revoking stays with admins, and viewers do neither.
import { describe, expect, test } from "bun:test";
import { useApp } from "./app-fixture.ts";
import { addUser, apiRequest, connected, connectSocket, csrfFrom, fakeJpeg, getPage, postForm } from "./helpers.ts";

// Each test speaks from its own address (X-Forwarded-For, trusted here), so one test's guesses do not throttle another.
const fx = useApp({ config: { trust_proxy: true } });
let lastAddress = 0;
const fromNewAddress = () => ({ "x-forwarded-for": `10.1.0.${++lastAddress}` });

/** A finished print with two archived frames, stored as the job service stores them. */
function seedJob(name: string) {
  const { store } = fx.app;
  const id = store.jobs.insert(1, name, `${name}.3mf`, Date.now() - 3_600_000);
  const frames = [1, 2].map((n) => store.jobs.addFrame(id, Date.now() - 1000 * n, n, "image/jpeg", fakeJpeg(500, n)));
  store.jobs.close(id, Date.now(), "finished");
  return { id, frames };
}

async function share(jobId: number, body: unknown = {}) {
  return fetch(`${fx.app.url}/api/jobs/${jobId}/share`, {
    method: "POST",
    headers: { cookie: fx.cookie, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}
async function newLink(jobId: number, expires_in_s = 3600) {
  const res = await share(jobId, { expires_in_s });
  expect(res.status).toBe(201);
  const made = (await res.json()) as { id: number; url: string; expires_at: string };
  return { ...made, path: new URL(made.url).pathname };
}
const anon = (path: string, headers: Record<string, string> = fromNewAddress()) =>
  fetch(`${fx.app.url}${path}`, { headers, redirect: "manual" });

describe("making links", () => {
  test("an admin makes a link to a print; it is listed without its token and expires when asked", async () => {
    const { id } = seedJob("listed");
    const before = Date.now();
    const link = await newLink(id, 7200);
    expect(link.url).toMatch(/\/s\/lws_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(link.expires_at) - before).toBeGreaterThanOrEqual(7_200_000 - 5);
    const list = (await (await fetch(`${fx.app.url}/api/shares`, { headers: { cookie: fx.cookie } })).json()) as {
      id: number;
      job_id: number;
      state: string;
    }[];
    expect(list.find((s) => s.id === link.id)).toMatchObject({ job_id: id, state: "live", opened: 0 });
    expect(JSON.stringify(list)).not.toContain(link.path.slice(3));
    const stored = fx.app.store.db.query("SELECT token_hash FROM share_links WHERE id = ?").get(link.id) as {
      token_hash: string;
    };
    expect(stored.token_hash).not.toContain(link.path.slice(3));
  });

  test("a lifetime out of range, a missing print and a session-less request are refused", async () => {
    const { id } = seedJob("refused");
    expect((await share(id, { expires_in_s: 5 })).status).toBe(400);
    expect((await share(id, { expires_in_s: 1e9 })).status).toBe(400);
    expect((await share(id, { expires_in_s: "soon" })).status).toBe(400);
    expect((await share(999_999)).status).toBe(404);
    const anonymous = await fetch(`${fx.app.url}/api/jobs/${id}/share`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(anonymous.status).toBe(401);
  });
});

describe("what a link opens", () => {
  test("the link shows that print read-only, with its frames under the token, and counts the open", async () => {
    const { id, frames } = seedJob("shared-benchy");
    const link = await newLink(id);
    const res = await anon(link.path);
    expect(res.status).toBe(200);
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("set-cookie")).toBeNull();
    const html = await res.text();
    expect(html).toContain("shared-benchy");
    expect(html).toContain(`${link.path}/frames/${frames[0]}.jpg`);
    // Read-only: no link to the printer, the history, settings, no form at all.
    expect(html).not.toContain(`/jobs/${id}/`);
    expect(html).not.toContain("/printers/");
    expect(html).not.toContain("/settings");
    expect(html).not.toContain("<form");
    const img = await anon(`${link.path}/frames/${frames[0]}.jpg`);
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/jpeg");
    expect(new Uint8Array(await img.arrayBuffer())).toEqual(fakeJpeg(500, 1));
    const row = (await (await fetch(`${fx.app.url}/api/shares`, { headers: { cookie: fx.cookie } })).json()) as {
      id: number;
      opened: number;
    }[];
    expect(row.find((s) => s.id === link.id)?.opened).toBe(1);
    expect(fx.app.logs.some((l) => l.msg === "share link opened" && l.fields?.share === link.id)).toBe(true);
  });

  test("nothing else is reachable: another print's frames, other pages, the API and sockets are refused", async () => {
    const mine = seedJob("mine");
    const other = seedJob("other");
    const link = await newLink(mine.id);
    const headers = fromNewAddress();
    expect((await anon(`${link.path}/frames/${other.frames[0]}.jpg`, headers)).status).toBe(404);
    expect((await anon(`${link.path}/timelapse.mp4`, headers)).status).toBe(404);
    expect((await anon(`${link.path}/live`, headers)).status).toBe(404);
    expect((await anon(`/jobs/${mine.id}`, headers)).status).toBe(303);
    expect((await anon(`/jobs/${mine.id}/frames/${mine.frames[0]}.jpg`, headers)).status).toBe(303);
    expect((await anon(`/api/jobs/${mine.id}`, headers)).status).toBe(401);
    expect((await anon("/api/printers", headers)).status).toBe(401);
    expect(
      (await anon(`/api/jobs/${mine.id}`, { ...headers, authorization: `Bearer ${link.path.slice(3)}` })).status,
    ).toBe(401);
    const socket = fx.track(connectSocket(fx.app, { auth: { token: link.path.slice(3) } }));
    await expect(connected(socket)).rejects.toThrow();
  });

  test("an expired link and a revoked one are refused", async () => {
    const { id } = seedJob("gone");
    const expired = await newLink(id);
    fx.app.store.db.run("UPDATE share_links SET expires_at = ? WHERE id = ?", [Date.now() - 1, expired.id]);
    expect((await anon(expired.path)).status).toBe(410);
    const revoked = await newLink(id);
    const del = await fetch(`${fx.app.url}/api/shares/${revoked.id}`, {
      method: "DELETE",
      headers: { cookie: fx.cookie, "content-type": "application/json" },
    });
    expect(del.status).toBe(200);
    const page = await anon(revoked.path);
    expect(page.status).toBe(410);
    expect(await page.text()).not.toContain("gone.3mf");
    expect((await anon(`${revoked.path}/frames/1.jpg`)).status).toBe(410);
    const again = await fetch(`${fx.app.url}/api/shares/${revoked.id}`, {
      method: "DELETE",
      headers: { cookie: fx.cookie, "content-type": "application/json" },
    });
    expect(again.status).toBe(404);
  });

  test("guessing tokens is throttled per address: past five misses even a valid link waits", async () => {
    const { id } = seedJob("guarded");
    const link = await newLink(id);
    const headers = fromNewAddress();
    for (let i = 0; i < 5; i++) expect((await anon(`/s/lws_guess${i}`, headers)).status).toBe(404);
    const limited = await anon(link.path, headers);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    // Another address is not held up by that one's guesses.
    expect((await anon(link.path)).status).toBe(200);
  });
});

describe("in Settings and on the print's page", () => {
  test("Settings lists the links and revokes one with its form", async () => {
    const { id } = seedJob("in-settings");
    const link = await newLink(id);
    const page = await getPage(fx.app, "/settings", fx.cookie);
    expect(page.text).toContain(`/settings/shares/${link.id}/revoke`);
    const res = await postForm(
      fx.app,
      `/settings/shares/${link.id}/revoke`,
      { _csrf: csrfFrom(page.text) },
      {
        cookie: fx.cookie,
      },
    );
    expect(res.status).toBe(200);
    expect((await anon(link.path)).status).toBe(410);
    const withoutCsrf = await postForm(fx.app, `/settings/shares/${link.id}/revoke`, {}, { cookie: fx.cookie });
    expect(withoutCsrf.status).toBe(403);
  });

  test("the print's page makes a link an admin can hand out", async () => {
    const { id } = seedJob("from-page");
    const page = await getPage(fx.app, `/jobs/${id}`, fx.cookie);
    const res = await postForm(
      fx.app,
      `/jobs/${id}/share`,
      { _csrf: csrfFrom(page.text), days: "1" },
      {
        cookie: fx.cookie,
        "hx-request": "true",
      },
    );
    expect(res.status).toBe(200);
    const url = /id="share-url">([^<]+)</.exec(await res.text())?.[1];
    expect(url).toMatch(/\/s\/lws_/);
    expect((await anon(new URL(url!).pathname)).status).toBe(200);
  });
});

describe("who may make and list links", () => {
  const api = (cookie: string, method: string, path: string, body?: unknown) =>
    apiRequest(fx.app, cookie, method, path, body);

  test("an operator makes a link by the API and from the print's page, and lists them; only admins revoke", async () => {
    const cookie = await addUser(fx.app, fx.cookie, "opal", "operator");
    const { id } = seedJob("by-operator");
    const made = await api(cookie, "POST", `/api/jobs/${id}/share`, { expires_in_s: 3600 });
    expect(made.status).toBe(201);
    const link = (await made.json()) as { id: number; url: string };
    expect((await anon(new URL(link.url).pathname)).status).toBe(200);

    const page = await getPage(fx.app, `/jobs/${id}`, cookie);
    expect(page.text).toContain(`action="/jobs/${id}/share"`);
    const boxed = await postForm(
      fx.app,
      `/jobs/${id}/share`,
      { _csrf: csrfFrom(page.text), days: "1" },
      { cookie, "hx-request": "true" },
    );
    expect(boxed.status).toBe(200);
    expect(/id="share-url">([^<]+)</.exec(await boxed.text())?.[1]).toMatch(/\/s\/lws_/);

    const list = (await (await api(cookie, "GET", "/api/shares")).json()) as { id: number; created_by: string }[];
    expect(list.filter((s) => s.created_by === "opal")).toHaveLength(2);
    // Settings lists them for the operator, without the admin's revoke button.
    const settings = await getPage(fx.app, "/settings", cookie);
    expect(settings.text).toContain('id="shares"');
    expect(settings.text).toContain(`data-share="${link.id}"`);
    expect(settings.text).not.toContain(`/settings/shares/${link.id}/revoke`);
    expect((await api(cookie, "DELETE", `/api/shares/${link.id}`)).status).toBe(403);
    const revoke = await postForm(
      fx.app,
      `/settings/shares/${link.id}/revoke`,
      { _csrf: csrfFrom(settings.text) },
      { cookie },
    );
    expect(revoke.status).toBe(403);
    expect((await anon(new URL(link.url).pathname)).status).toBe(200);
  });

  test("a viewer may neither make nor list links, and sees no box or list", async () => {
    const cookie = await addUser(fx.app, fx.cookie, "vera", "viewer");
    const { id } = seedJob("by-viewer");
    expect((await api(cookie, "POST", `/api/jobs/${id}/share`, {})).status).toBe(403);
    expect((await api(cookie, "GET", "/api/shares")).status).toBe(403);
    const page = await getPage(fx.app, `/jobs/${id}`, cookie);
    expect(page.text).not.toContain(`/jobs/${id}/share`);
    const form = await postForm(fx.app, `/jobs/${id}/share`, { _csrf: csrfFrom(page.text), days: "1" }, { cookie });
    expect(form.status).toBe(403);
    expect((await getPage(fx.app, "/settings", cookie)).text).not.toContain('id="shares"');
  });
});

describe("a printer's live view", () => {
  async function printerLink(printerId = 1, expires_in_s = 3600) {
    const res = await fetch(`${fx.app.url}/api/printers/${printerId}/share`, {
      method: "POST",
      headers: { cookie: fx.cookie, "content-type": "application/json" },
      body: JSON.stringify({ expires_in_s }),
    });
    expect(res.status).toBe(201);
    const made = (await res.json()) as { id: number; url: string; expires_at: string };
    return { ...made, path: new URL(made.url).pathname };
  }

  test("the link shows that printer's state, newest frame and room reading, polled live, and nothing else", async () => {
    const by = { printerId: 1, deviceId: 1 };
    await fx.app.telemetry.recordReading(by, 21.5, 40.25);
    const first = await fx.app.telemetry.recordFrame(by, "image/jpeg", fakeJpeg(400, 7));
    const link = await printerLink();
    const res = await anon(link.path);
    expect(res.status).toBe(200);
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await res.text();
    expect(html).toContain(fx.app.printers.get(1)!.info.name);
    expect(html).toContain(`${link.path}/frames/${first}.jpg`);
    expect(html).toContain("21.5 °C");
    expect(html).toContain(`hx-get="${link.path}/live"`);
    expect(html).not.toContain("/printers/");
    expect(html).not.toContain("/settings");
    expect(html).not.toContain("/api/");
    expect(html).not.toContain("<form");
    expect(html).not.toContain("socket.io");
    const img = await anon(`${link.path}/frames/${first}.jpg`);
    expect(img.status).toBe(200);
    expect(new Uint8Array(await img.arrayBuffer())).toEqual(fakeJpeg(400, 7));
    // A new frame and reading show in the polled part.
    const second = await fx.app.telemetry.recordFrame(by, "image/jpeg", fakeJpeg(400, 8));
    await fx.app.telemetry.recordReading(by, 23, 41);
    const live = await anon(`${link.path}/live`);
    expect(live.status).toBe(200);
    const part = await live.text();
    expect(part).toContain(`${link.path}/frames/${second}.jpg`);
    expect(part).toContain("23.0 °C");
    expect(part).not.toContain("<html");
    const list = (await (await fetch(`${fx.app.url}/api/shares`, { headers: { cookie: fx.cookie } })).json()) as {
      id: number;
      printer_id: number | null;
      printer_name: string | null;
      opened: number;
    }[];
    const name = fx.app.printers.get(1)!.info.name;
    expect(list.find((s) => s.id === link.id)).toMatchObject({ printer_id: 1, printer_name: name, opened: 1 });
    // Not a print link: no print, no timelapse, no other page or API with the token.
    const headers = fromNewAddress();
    expect((await anon(`${link.path}/timelapse.mp4`, headers)).status).toBe(404);
    expect((await anon("/printers/1", headers)).status).toBe(303);
    expect((await anon("/api/printers/1", { ...headers, authorization: `Bearer ${link.path.slice(3)}` })).status).toBe(
      401,
    );
    const socket = fx.track(connectSocket(fx.app, { auth: { token: link.path.slice(3) } }));
    await expect(connected(socket)).rejects.toThrow();
  });

  test("a missing printer, a bad lifetime and a session-less request are refused", async () => {
    const post = (id: number, body: unknown) =>
      fetch(`${fx.app.url}/api/printers/${id}/share`, {
        method: "POST",
        headers: { cookie: fx.cookie, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await post(999_999, {})).status).toBe(404);
    expect((await post(1, { expires_in_s: 5 })).status).toBe(400);
    const anonymous = await fetch(`${fx.app.url}/api/printers/1/share`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(anonymous.status).toBe(401);
  });

  test("once expired or revoked the page is refused and the live part stops the polling", async () => {
    const frame = await fx.app.telemetry.recordFrame({ printerId: 1, deviceId: 1 }, "image/jpeg", fakeJpeg(300, 9));
    const expired = await printerLink();
    fx.app.store.db.run("UPDATE share_links SET expires_at = ? WHERE id = ?", [Date.now() - 1, expired.id]);
    expect((await anon(expired.path)).status).toBe(410);
    const gone = await anon(`${expired.path}/live`);
    expect(gone.status).toBe(286);
    const text = await gone.text();
    expect(text).not.toContain("/frames/");
    expect((await anon(`${expired.path}/frames/${frame}.jpg`)).status).toBe(410);
    const revoked = await printerLink();
    expect((await anon(`${revoked.path}/live`)).status).toBe(200);
    const del = await fetch(`${fx.app.url}/api/shares/${revoked.id}`, {
      method: "DELETE",
      headers: { cookie: fx.cookie, "content-type": "application/json" },
    });
    expect(del.status).toBe(200);
    expect((await anon(revoked.path)).status).toBe(410);
    expect((await anon(`${revoked.path}/live`)).status).toBe(286);
    const settings = await getPage(fx.app, "/settings", fx.cookie);
    expect(settings.text).toContain(`data-share="${revoked.id}" data-state="revoked"`);
  });
});

describe("after a printer is deleted", () => {
  const addPrinter = async (name: string) => {
    const res = await postForm(fx.app, "/settings/printers", { _csrf: fx.csrf, name }, { cookie: fx.cookie });
    expect(res.status).toBe(200);
    return fx.app.printers.list().find((p) => p.info.name === name)!.info.id;
  };
  const deletePrinter = async (id: number, name: string) => {
    const res = await postForm(
      fx.app,
      `/settings/printers/${id}/delete`,
      { _csrf: fx.csrf, confirm: name },
      { cookie: fx.cookie },
    );
    expect(res.status).toBe(200);
  };

  test("its live view link does not open the next printer given its id", async () => {
    const id = await addPrinter("Shared then gone");
    const made = await fetch(`${fx.app.url}/api/printers/${id}/share`, {
      method: "POST",
      headers: { cookie: fx.cookie, "content-type": "application/json" },
      body: "{}",
    });
    expect(made.status).toBe(201);
    const path = new URL(((await made.json()) as { url: string }).url).pathname;
    expect((await anon(path)).status).toBe(200);
    await deletePrinter(id, "Shared then gone");
    // SQLite hands the highest deleted id out again.
    expect(await addPrinter("Next in line")).toBe(id);
    const res = await anon(path);
    expect([404, 410]).toContain(res.status);
    expect(await res.text()).not.toContain("Next in line");
    expect((await anon(`${path}/live`)).status).toBe(286);
    await deletePrinter(id, "Next in line");
  });

  test("a link to one of its prints does not open the next print given that id", async () => {
    const id = await addPrinter("Printed then gone");
    const job = fx.app.store.jobs.insert(id, "gone-cube", "gone-cube.3mf", Date.now());
    const link = await newLink(job);
    expect((await anon(link.path)).status).toBe(200);
    await deletePrinter(id, "Printed then gone");
    const next = fx.app.store.jobs.insert(1, "next-cube", "next-cube.3mf", Date.now());
    expect(next).toBe(job);
    const res = await anon(link.path);
    expect([404, 410]).toContain(res.status);
    expect(await res.text()).not.toContain("next-cube");
  });
});

describe("the list of links", () => {
  test("a live link older than the ended history is still listed and revoked from Settings", async () => {
    const { id } = seedJob("long-lived");
    const link = await newLink(id);
    // More ended links than the list keeps as history, all newer than the live one.
    const { store } = fx.app;
    for (let i = 0; i < 210; i++) {
      const ended = store.shares.insert({
        token_hash: `ended-${i}`,
        job_id: id,
        printer_id: null,
        created_by: "admin",
        created_at: Date.now(),
        expires_at: Date.now() + 3_600_000,
      });
      store.shares.revoke(ended, Date.now());
    }
    const list = (await (await fetch(`${fx.app.url}/api/shares`, { headers: { cookie: fx.cookie } })).json()) as {
      id: number;
      state: string;
    }[];
    expect(list.find((s) => s.id === link.id)).toMatchObject({ state: "live" });
    expect(list.filter((s) => s.state !== "live")).toHaveLength(200);
    const live = store.db
      .query("SELECT count(*) AS n FROM share_links WHERE revoked_at IS NULL AND expires_at > ?")
      .get(Date.now()) as { n: number };
    expect(list.filter((s) => s.state === "live")).toHaveLength(live.n);
    const page = await getPage(fx.app, "/settings", fx.cookie);
    expect(page.text).toContain(`/settings/shares/${link.id}/revoke`);
    const res = await postForm(
      fx.app,
      `/settings/shares/${link.id}/revoke`,
      { _csrf: csrfFrom(page.text) },
      { cookie: fx.cookie },
    );
    expect(res.status).toBe(200);
    expect((await anon(link.path)).status).toBe(410);
  });
});

describe("a printer link's frames", () => {
  test("serve the newest frame and those since the link was made, never an older one", async () => {
    const by = { printerId: 1, deviceId: 1 };
    const before = await fx.app.telemetry.recordFrame(by, "image/jpeg", fakeJpeg(300, 21));
    const newest = await fx.app.telemetry.recordFrame(by, "image/jpeg", fakeJpeg(300, 22));
    // Both were recorded a minute before the link is made.
    fx.app.store.db.run("UPDATE frames SET recorded_at = recorded_at - 60000 WHERE id IN (?, ?)", [before, newest]);
    const made = await fetch(`${fx.app.url}/api/printers/1/share`, {
      method: "POST",
      headers: { cookie: fx.cookie, "content-type": "application/json" },
      body: "{}",
    });
    const path = new URL(((await made.json()) as { url: string }).url).pathname;
    const headers = fromNewAddress();
    expect(await (await anon(path, headers)).text()).toContain(`${path}/frames/${newest}.jpg`);
    expect((await anon(`${path}/frames/${newest}.jpg`, headers)).status).toBe(200);
    expect((await anon(`${path}/frames/${before}.jpg`, headers)).status).toBe(404);
    const since = await fx.app.telemetry.recordFrame(by, "image/jpeg", fakeJpeg(300, 23));
    const later = await fx.app.telemetry.recordFrame(by, "image/jpeg", fakeJpeg(300, 24));
    expect((await anon(`${path}/frames/${since}.jpg`, headers)).status).toBe(200);
    expect((await anon(`${path}/frames/${later}.jpg`, headers)).status).toBe(200);
    // No longer the newest, and from before the link: no longer served.
    expect((await anon(`${path}/frames/${newest}.jpg`, headers)).status).toBe(404);
  });
});
