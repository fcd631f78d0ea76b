// Browser test helpers: Debian's Chromium through playwright-core, a page per test, the login form,
// JPEGs drawn by the browser itself, and the axe audit. Shared by the browser test files.
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { ADMIN } from "./helpers.ts";

// `make screenshots` refreshes the committed ones the README shows; ordinary runs write beside them.
export const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS
  ? join(import.meta.dir, "screenshots")
  : join(import.meta.dir, "../test-artifacts/screenshots");

export type PageOptions = { width?: number; height?: number; dark?: boolean; bypassCSP?: boolean };

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
      "--disable-quic",
    ],
  });
}

/**
 * One browser for a test file. `app` is read at each call, so a test may restart the server.
 * Every page's console errors, uncaught exceptions and CSP violations land in `consoleErrors`.
 */
export function browserKit(app: () => { url: string }, zone: string) {
  let browser: Browser | undefined;
  const consoleErrors: string[] = [];

  async function newPage(opts: PageOptions = {}): Promise<{ page: Page; context: BrowserContext }> {
    if (!browser) throw new Error("browserKit: launch() first");
    const context = await browser.newContext({
      viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
      colorScheme: opts.dark ? "dark" : "light",
      locale: "en-GB",
      timezoneId: zone,
      bypassCSP: opts.bypassCSP,
    });
    const page = await context.newPage();
    // Name the culprit of any CSP violation, so the last test's failure says where it came from.
    await page.addInitScript(() =>
      document.addEventListener("securitypolicyviolation", (e) =>
        console.error(`CSP violation: ${e.violatedDirective} at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`),
      ),
    );
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    return { page, context };
  }

  async function logIn(page: Page, username = ADMIN.username, password = ADMIN.password, path = "/3d") {
    await page.goto(`${app().url}${path}`);
    await page.fill("#username", username);
    await page.fill("#password", password);
    await Promise.all([page.waitForURL(`**${path}`), page.click("button[type=submit]")]);
  }

  return {
    consoleErrors,
    newPage,
    logIn,
    async launch() {
      browser = await launchChromium();
    },
    async close() {
      await browser?.close();
    },
  };
}

/** Console errors worth failing on: refused connections and deliberate 4xx answers are expected. */
export function relevantErrors(errors: string[]): string[] {
  return errors.filter(
    (e) =>
      !/Failed to load resource|ERR_CONNECTION_REFUSED|WebSocket connection|socket\.io/i.test(e) &&
      !/Response Status Error Code/i.test(e),
  );
}

/** Scrolls the whole page so lazy pictures load, then waits until every picture has decoded. */
export async function picturesLoaded(page: Page) {
  await page.evaluate(async () => {
    for (let y = 0; y < document.body.scrollHeight; y += window.innerHeight) {
      window.scrollTo(0, y);
      // Two animation frames: the page has been laid out and rendered here, so lazy pictures in view start.
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    }
    window.scrollTo(0, 0);
  });
  await page.waitForFunction(() => [...document.images].every((i) => i.complete && i.naturalWidth > 0), undefined, {
    timeout: 15000,
  });
}

/**
 * What makes a layout wrong at any width: a page wider than the screen, a card wider than its grid, a
 * card's or the state panel's content outside its box (hidden by overflow: hidden or not) or overflowing.
 */
export async function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const name = (e: Element) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ""}.${e.className}`;
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth) out.push(`page ${root.scrollWidth}px wide in ${root.clientWidth}px`);
    const grid = document.querySelector("#printer-grid")?.getBoundingClientRect();
    for (const box of document.querySelectorAll(".printer-card, #printer-panel")) {
      const b = box.getBoundingClientRect();
      if (grid && b.right > grid.right + 1) out.push(`${name(box)} past the grid`);
      // The outermost culprit only: its children are outside or overflowing because it is.
      const outside = [...box.querySelectorAll("*")].find((el) => {
        const r = el.getBoundingClientRect();
        return r.width && (r.left < b.left - 1 || r.right > b.right + 1);
      });
      if (outside) {
        const r = outside.getBoundingClientRect();
        out.push(`${name(outside)} outside ${name(box)}: ${Math.round(r.left)}..${Math.round(r.right)} px`);
      }
      const over = [...box.querySelectorAll("*")].find(
        (el) => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === "visible",
      );
      if (over) out.push(`${name(over)} overflows: ${over.scrollWidth} px of content in ${over.clientWidth} px`);
    }
    return out;
  });
}

/** A real JPEG, drawn and encoded by the browser itself. */
export async function makeJpeg(page: Page, label: string, hue = 24): Promise<string> {
  return page.evaluate(
    ([text, h]) => {
      const c = document.createElement("canvas");
      c.width = 640;
      c.height = 360;
      const g = c.getContext("2d")!;
      const grad = g.createLinearGradient(0, 0, 640, 360);
      grad.addColorStop(0, "#1e293b");
      grad.addColorStop(1, "#475569");
      g.fillStyle = grad;
      g.fillRect(0, 0, 640, 360);
      g.fillStyle = h === 24 ? "#f97316" : `hsl(${h} 85% 55%)`;
      g.fillRect(220, 250, 200, 30);
      g.fillRect(250, 215, 140, 30);
      g.fillRect(280, 180, 80, 30);
      g.fillStyle = "#e2e8f0";
      g.font = "28px sans-serif";
      g.fillText(String(text), 24, 48);
      return c.toDataURL("image/jpeg", 0.85).split(",")[1]!;
    },
    [label, hue] as const,
  );
}

export type AxeFinding = { id: string; impact: string; help: string; nodes: { target: string; summary: string }[] };

/**
 * Runs axe-core on the page (which must have been opened with bypassCSP: our CSP rightly refuses the
 * injected script) and returns its serious and critical findings, each with its selectors and message.
 */
export async function axeSerious(page: Page): Promise<AxeFinding[]> {
  await page.addScriptTag({ path: require.resolve("axe-core/axe.min.js") });
  return page.evaluate(async () => {
    type Node = { target: string[]; failureSummary?: string };
    type Violation = { id: string; impact: string; help: string; nodes: Node[] };
    const axe = (
      window as unknown as { axe: { run: (c: Document, o: object) => Promise<{ violations: Violation[] }> } }
    ).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary ?? "" })),
      }));
  });
}
