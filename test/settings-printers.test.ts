// Printers in Settings: add, edit (the access code write-only), delete with a confirmation naming what goes, a
// token for the chosen printer, and a viewer refused all of it.
import { describe, expect, test } from "bun:test";
import { useApp } from "./app-fixture.ts";
import { addUser, csrfFrom, getPage, postForm } from "./helpers.ts";

const fx = useApp();

const post = (path: string, fields: Record<string, string>, as = fx.cookie) =>
  postForm(fx.app, path, fields, { cookie: as });
const names = () => fx.app.printers.list().map((p) => p.info.name);

describe("printers in settings", () => {
  test("a fresh database has one printer named Printer, listed in settings", async () => {
    expect(names()).toEqual(["Printer"]);
    expect((await getPage(fx.app, "/settings", fx.cookie)).text).toContain('id="printers"');
  });

  test("adding a printer with a bad address shows the message and adds nothing", async () => {
    const res = await post("/settings/printers", { _csrf: fx.csrf, name: "Lab", host: "bad host!" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Address must be a host name or an IP address");
    expect(names()).toEqual(["Printer"]);
  });

  test("without the CSRF token nothing is added", async () => {
    const res = await post("/settings/printers", { name: "Sneaky" });
    expect(res.status).toBe(403);
    expect(names()).not.toContain("Sneaky");
  });

  test("an added printer's access code is stored but never shown back; an empty code on edit keeps it", async () => {
    const res = await post("/settings/printers", {
      _csrf: fx.csrf,
      name: "Lab A1",
      model: "A1",
      host: "192.168.1.70",
      serial: "03919A3B0100254",
      access_code: "secret12",
      camera: "on",
      tls: "pin",
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Printer &quot;Lab A1&quot; added.");
    const id = fx.app.printers.list().find((p) => p.info.name === "Lab A1")!.info.id;
    const edit = await getPage(fx.app, `/settings/printers/${id}`, fx.cookie);
    expect(edit.text).toContain("192.168.1.70");
    expect(edit.text).not.toContain("secret12");
    const saved = await post(`/settings/printers/${id}`, { _csrf: fx.csrf, name: "Lab A1 mini", access_code: "" });
    expect(await saved.text()).toContain("Printer saved.");
    expect((await fx.app.printers.connectionOf(id))!.access_code).toBe("secret12");
    expect(names()).toContain("Lab A1 mini");
    expect((await getPage(fx.app, "/api/printers", fx.cookie)).text).not.toContain("secret12");
  });

  test("the delete form says what goes; deleting removes the printer and its data", async () => {
    const id = fx.app.printers.list().find((p) => p.info.name === "Lab A1 mini")!.info.id;
    fx.app.store.readings.insert(id, fx.app.store.devices.loginDevice(id), Date.now(), 20, 40);
    const edit = await getPage(fx.app, `/settings/printers/${id}`, fx.cookie);
    expect(edit.text).toContain(
      "1 reading, 0 frames, 0 statuses, 0 device tokens, its print history and its share links",
    );
    const wrong = await post(`/settings/printers/${id}/delete`, { _csrf: fx.csrf, confirm: "Printer" });
    expect(wrong.status).toBe(400);
    const res = await post(`/settings/printers/${id}/delete`, { _csrf: fx.csrf, confirm: "Lab A1 mini" });
    expect(await res.text()).toContain("and its data were deleted");
    expect(names()).toEqual(["Printer"]);
    const left = fx.app.store.db.query("SELECT count(*) AS n FROM readings WHERE printer_id = ?").get(id) as {
      n: number;
    };
    expect(left.n).toBe(0);
  });

  test("a token is made for the printer chosen in the form", async () => {
    await post("/settings/printers", { _csrf: fx.csrf, name: "Second" });
    const id = fx.app.printers.list().find((p) => p.info.name === "Second")!.info.id;
    const res = await post("/settings/tokens", { _csrf: fx.csrf, name: "cam", printer_id: String(id) });
    expect(res.status).toBe(200);
    expect(fx.app.store.deviceTokens.list(id).map((t) => t.name)).toEqual(["cam"]);
  });

  test("a viewer cannot add, edit or delete printers", async () => {
    const viewer = await addUser(fx.app, fx.cookie, "ville", "viewer");
    const viewerCsrf = csrfFrom((await getPage(fx.app, "/settings", viewer)).text);
    expect((await post("/settings/printers", { _csrf: viewerCsrf, name: "Nope" }, viewer)).status).toBe(403);
    expect((await post("/settings/printers/1/delete", { _csrf: viewerCsrf, confirm: "Printer" }, viewer)).status).toBe(
      403,
    );
    expect(names()).toContain("Printer");
  });
});
