// Owns the browser side of Web Push: the VAPID public key, subscribing this browser and unsubscribing it,
// the service worker (served from the root so it may control every page) and the web app manifest.
import { Elysia } from "elysia";
// @ts-expect-error file import of a script
import serviceWorker from "../../static/sw.js" with { type: "file" };
import { type HttpDeps, jsonResponse, type RequestTools } from "./context.ts";
import { edge } from "./edge.ts";

const isKey = (v: unknown, min: number, max: number) =>
  typeof v === "string" && v.length >= min && v.length <= max && /^[A-Za-z0-9_-]+=*$/.test(v);

/** A push service is https; plain http only on this machine (tests), so no one aims us at the LAN. */
const pushServiceUrl = (u: URL) =>
  u.protocol === "https:" || (u.protocol === "http:" && (u.hostname === "127.0.0.1" || u.hostname === "localhost"));

export function pushRoutes(deps: HttpDeps, tools: RequestTools) {
  return new Elysia({ name: "push-routes" })
    .get("/sw.js", async () => {
      const body = await Bun.file(serviceWorker).arrayBuffer();
      // No long cache: a new version of the worker must reach browsers on their next visit.
      return new Response(body, {
        headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" },
      });
    })
    .get("/manifest.webmanifest", () =>
      jsonResponse(
        {
          name: "layerwatch",
          short_name: "layerwatch",
          start_url: "/",
          display: "standalone",
          background_color: "#0f1216",
          theme_color: "#c2410c",
          icons: [
            { src: "/static/icon-192.png", sizes: "192x192", type: "image/png" },
            { src: "/static/icon-512.png", sizes: "512x512", type: "image/png" },
            { src: "/static/favicon.svg", sizes: "any", type: "image/svg+xml" },
          ],
        },
        200,
        { "content-type": "application/manifest+json" },
      ),
    )
    .use(edge(deps, tools))
    .group("/api/push", (app) =>
      app
        .get("/key", () => jsonResponse({ publicKey: deps.push.publicKey() }), { auth: "api" })
        .post(
          "/subscription",
          async ({ body, session }) => {
            const s = (body ?? {}) as { endpoint?: unknown; keys?: { p256dh?: unknown; auth?: unknown } };
            let endpoint: URL | null = null;
            try {
              endpoint = typeof s.endpoint === "string" && s.endpoint.length < 2048 ? new URL(s.endpoint) : null;
            } catch {}
            if (
              !endpoint ||
              !pushServiceUrl(endpoint) ||
              !isKey(s.keys?.p256dh, 80, 100) ||
              !isKey(s.keys?.auth, 16, 32)
            )
              return jsonResponse({ error: "send a PushSubscription: { endpoint, keys: { p256dh, auth } }" }, 400);
            await deps.push.subscribe(endpoint.href, s.keys!.p256dh as string, s.keys!.auth as string, session.user.id);
            return jsonResponse({ ok: true }, 201);
          },
          { auth: "api" },
        )
        .delete(
          "/subscription",
          async ({ body, request }) => {
            // A body, so JSON only like every API write.
            if (!request.headers.get("content-type")?.startsWith("application/json"))
              return jsonResponse({ error: "send application/json" }, 415);
            const endpoint = (body as { endpoint?: unknown } | null)?.endpoint;
            if (typeof endpoint === "string") await deps.push.unsubscribe(endpoint);
            return jsonResponse({ ok: true });
          },
          { auth: "api" },
        ),
    );
}
