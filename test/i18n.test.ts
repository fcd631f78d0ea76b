// The Finnish dictionary is whole and really Finnish, and locale fi puts pages and messages in Finnish.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { dictionaries } from "../src/i18n.ts";
import { csrfFrom, getPage, login, startApp, type TestApp } from "./helpers.ts";

let app: TestApp;
let cookie: string;
beforeAll(async () => {
  app = await startApp({ locale: "fi" });
  cookie = await login(app);
});
afterAll(async () => {
  await app.close();
});

test("every Finnish string is written, none left empty or copied from English by mistake", () => {
  const copied = Object.entries(dictionaries.fi).filter(
    ([k, v]) =>
      !v ||
      (v === dictionaries.en[k as keyof typeof dictionaries.en] &&
        !["appName", "minimum", "maximum", "unitS", "unitMin", "unitH"].includes(k)),
  );
  expect(copied).toEqual([]);
});

test("with locale fi the pages, the login error and validation messages are in Finnish", async () => {
  const loginPage = await fetch(`${app.url}/login`, {
    method: "POST",
    body: new URLSearchParams({ username: "admin", password: "wrong" }),
  });
  expect(await loginPage.text()).toContain("Väärä käyttäjätunnus tai salasana.");
  const dash = (await getPage(app, "/3d", cookie)).text;
  expect(dash).toContain('<html lang="fi">');
  expect(dash).toContain("Lämpötila");
  expect(dash).toContain("Ei mittauksia tältä päivältä.");
  const settings = (await getPage(app, "/settings", cookie)).text;
  const res = await fetch(`${app.url}/settings/intervals`, {
    method: "POST",
    headers: { cookie, "hx-request": "true" },
    body: new URLSearchParams({ _csrf: csrfFrom(settings), image_delay: "1", temphum_delay: "x", status_delay: "5" }),
  });
  const html = await res.text();
  expect(html).toContain("Vähintään 5 sekuntia.");
  expect(html).toContain("Anna kokonainen määrä sekunteja, vähintään 1.");
});
