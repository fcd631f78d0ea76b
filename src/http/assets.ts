// Owns the browser assets, embedded in the binary by file imports and served with ETags.
// @elysiajs/static is not used: it reads a cwd-relative folder, which a compiled binary started elsewhere lacks.
import { Elysia } from "elysia";
// Paths into the packages, not their names: their export maps hide these browser builds.
// @ts-expect-error file import of a script
import chartJs from "../../node_modules/chart.js/dist/chart.umd.min.js" with { type: "file" };
// @ts-expect-error file import of a script
import htmxJs from "../../node_modules/htmx.org/dist/htmx.min.js" with { type: "file" };
// @ts-expect-error file import of a script
import socketIoJs from "../../node_modules/socket.io-client/dist/socket.io.min.js" with { type: "file" };
import appCss from "../../static/app.css" with { type: "file" };
// @ts-expect-error file import of a script
import controlsJs from "../../static/controls.js" with { type: "file" };
// A file import gives the file's path (on disk, or inside the binary); TypeScript cannot type a .js that way.
// @ts-expect-error file import of a script
import dashboardJs from "../../static/dashboard.js" with { type: "file" };
import favicon from "../../static/favicon.svg" with { type: "file" };
import historyCss from "../../static/history.css" with { type: "file" };
// @ts-expect-error file import of a script
import historyJs from "../../static/history.js" with { type: "file" };
import icon192 from "../../static/icon-192.png" with { type: "file" };
import icon512 from "../../static/icon-512.png" with { type: "file" };
// @ts-expect-error file import of a script
import jobJs from "../../static/job.js" with { type: "file" };
import libraryCss from "../../static/library.css" with { type: "file" };
// @ts-expect-error file import of a script
import libraryJs from "../../static/library.js" with { type: "file" };
import loginCss from "../../static/login.css" with { type: "file" };
import overviewCss from "../../static/overview.css" with { type: "file" };
import printerCss from "../../static/printer.css" with { type: "file" };
import printerStateCss from "../../static/printer-state.css" with { type: "file" };
// @ts-expect-error file import of a script
import pushJs from "../../static/push.js" with { type: "file" };
import settingsCss from "../../static/settings.css" with { type: "file" };
import statsCss from "../../static/stats.css" with { type: "file" };
// @ts-expect-error file import of a script
import statsJs from "../../static/stats.js" with { type: "file" };

type Asset = { path: string; type: string };

export const ASSETS: Record<string, Asset> = {
  "app.css": { path: appCss, type: "text/css; charset=utf-8" },
  "login.css": { path: loginCss, type: "text/css; charset=utf-8" },
  "printer-state.css": { path: printerStateCss, type: "text/css; charset=utf-8" },
  "overview.css": { path: overviewCss, type: "text/css; charset=utf-8" },
  "printer.css": { path: printerCss, type: "text/css; charset=utf-8" },
  "history.css": { path: historyCss, type: "text/css; charset=utf-8" },
  "settings.css": { path: settingsCss, type: "text/css; charset=utf-8" },
  "library.css": { path: libraryCss, type: "text/css; charset=utf-8" },
  "stats.css": { path: statsCss, type: "text/css; charset=utf-8" },
  "dashboard.js": { path: dashboardJs, type: "text/javascript; charset=utf-8" },
  "controls.js": { path: controlsJs, type: "text/javascript; charset=utf-8" },
  "history.js": { path: historyJs, type: "text/javascript; charset=utf-8" },
  "job.js": { path: jobJs, type: "text/javascript; charset=utf-8" },
  "library.js": { path: libraryJs, type: "text/javascript; charset=utf-8" },
  "push.js": { path: pushJs, type: "text/javascript; charset=utf-8" },
  "stats.js": { path: statsJs, type: "text/javascript; charset=utf-8" },
  "icon-192.png": { path: icon192, type: "image/png" },
  "icon-512.png": { path: icon512, type: "image/png" },
  "favicon.svg": { path: favicon, type: "image/svg+xml" },
  "chart.umd.min.js": { path: chartJs, type: "text/javascript; charset=utf-8" },
  "htmx.min.js": { path: htmxJs, type: "text/javascript; charset=utf-8" },
  "socket.io.min.js": { path: socketIoJs, type: "text/javascript; charset=utf-8" },
};

type Loaded = { bytes: Uint8Array; etag: string; type: string };
const cache = new Map<string, Loaded>();

async function load(name: string): Promise<Loaded | null> {
  const asset = ASSETS[name];
  if (!asset) return null;
  let hit = cache.get(name);
  if (!hit) {
    const bytes = new Uint8Array(await Bun.file(asset.path).arrayBuffer());
    hit = { bytes, etag: `"${Bun.hash(bytes).toString(36)}"`, type: asset.type };
    cache.set(name, hit);
  }
  return hit;
}

export function assetRoutes() {
  return new Elysia({ name: "asset-routes" }).get("/static/:name", async ({ params, request }) => {
    const asset = await load(params.name);
    if (!asset) return new Response("not found", { status: 404 });
    // Revalidate cheaply with the ETag: names carry no version, so an upgrade must not be hidden by a cache.
    const headers = {
      etag: asset.etag,
      "content-type": asset.type,
      "cache-control": "public, max-age=300, must-revalidate",
    };
    if (request.headers.get("if-none-match") === asset.etag) return new Response(null, { status: 304, headers });
    return new Response(asset.bytes as Uint8Array<ArrayBuffer>, { headers });
  });
}
