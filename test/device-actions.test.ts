// Without a LAN link (and always for the timelapse), actions go to the printer's camera Pi as printerAction
// and its answer decides; Settings shows what the archives use; an admin deletes a video from its page.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "socket.io-client";
import { connected, connectSocket, csrfFrom, deviceToken, getPage, login, startApp, type TestApp } from "./helpers.ts";

let app: TestApp;
let cookie: string;
let device: Socket;
const asked: string[] = [];
beforeAll(async () => {
  app = await startApp();
  cookie = await login(app);
  device = await connected(connectSocket(app, { auth: { token: await deviceToken(app, cookie) } }));
  // The camera Pi: it can start its timelapse but not stop it, and pauses the printer through its own link.
  device.on("printerAction", ({ action }: { action: string }) => {
    asked.push(action);
    device.emit("printerAction", { action, result: action !== "timelapse_stop" });
  });
});
afterAll(async () => {
  device.disconnect();
  await app.close();
});

const act = async (action: string) => {
  const res = await fetch(`${app.url}/api/printers/1/actions`, {
    method: "POST",
    headers: { cookie, "content-type": "application/json" },
    body: JSON.stringify({ action }),
  });
  return { status: res.status, body: (await res.json()) as { ok?: boolean; error?: string } };
};

describe("actions through the camera Pi", () => {
  test("its yes is a 200 and its no a 502 with the reason; both are audited", async () => {
    expect(await act("timelapse_start")).toMatchObject({ status: 200, body: { ok: true } });
    const no = await act("timelapse_stop");
    expect(no.status).toBe(502);
    expect(no.body.error).toContain("could not do it");
    expect(await act("pause")).toMatchObject({ status: 200 });
    expect(asked).toEqual(["timelapse_start", "timelapse_stop", "pause"]);
    const audit = app.store.printerActions.recent(3).map((r) => `${r.action} ${r.via} ${r.result}`);
    expect(audit).toEqual(["pause device ok", "timelapse_stop device device_refused", "timelapse_start device ok"]);
  });

  test("the light needs the LAN link: 503 says so", async () => {
    const res = await act("light_on");
    expect(res.status).toBe(503);
    expect(res.body.error).toContain("LAN connection");
  });
});

describe("storage and videos", () => {
  test("settings show the print archive's and the videos' use against their budgets", async () => {
    const page = (await getPage(app, "/settings", cookie)).text;
    expect(page).toContain('id="storage"');
    expect(page).toContain("/ 2048.0 MiB");
  });

  test("deleting a video from its page needs the CSRF token and an admin", async () => {
    const csrf = csrfFrom((await getPage(app, "/settings", cookie)).text);
    const without = await fetch(`${app.url}/timelapses/1/delete`, {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({ back: "/jobs/1" }),
      redirect: "manual",
    });
    expect(without.status).toBe(403);
    const withToken = await fetch(`${app.url}/timelapses/999/delete`, {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({ _csrf: csrf, back: "https://evil.example/" }),
      redirect: "manual",
    });
    expect(withToken.status).toBe(303);
    expect(withToken.headers.get("location")).toBe("/history");
  });
});
