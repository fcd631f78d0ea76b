// Owns the printers JSON API of PRINTERS.md §6: list and one printer with live state, and (admin, JSON
// only) create, change, delete, device tokens.
import { Elysia } from "elysia";
import { dictionary, translate } from "../i18n.ts";
import { ACTIONS, type Action } from "../services/printer-control.ts";
import type { HeldPrinter } from "../services/printers.ts";
import { isoInZone } from "../time.ts";
import { type HttpDeps, jsonFor, jsonResponse, printerIdOf, type RequestTools } from "./context.ts";

export function printersApiRoutes(deps: HttpDeps, tools: RequestTools) {
  const { printers, telemetry, config } = deps;
  const en = dictionary("en");
  const iso = (ms: number | null | undefined) => (ms ? isoInZone(ms, config.timezone) : null);

  /** A printer as the API shows it: live state from memory, newest reading and frame by index. */
  function printerJson(p: HeldPrinter) {
    const id = p.info.id;
    const latest = telemetry.latest(id);
    const device = printers.deviceSource(p);
    const s = p.state;
    return {
      id,
      name: p.info.name,
      model: p.info.model,
      online: p.lan.state === "connected" || device === "online",
      sources: { lan: p.lan.state, device },
      lan: p.info.host
        ? {
            host: p.info.host,
            serial: p.info.serial,
            tls: p.info.tls,
            pinned: !!p.info.tls_fingerprint,
            since: iso(p.lan.since),
            last_message_at: iso(p.lan.last_message_at),
            reconnects: p.lan.reconnects,
            last_error: p.lan.last_error,
            camera_error: p.lan.camera_error ?? null,
          }
        : null,
      state: s.updated_at
        ? {
            gcode_state: s.gcode_state,
            stage: s.stage,
            percent: s.percent,
            layer: s.layer,
            total_layers: s.total_layers,
            remaining_min: s.remaining_min,
            eta: iso(s.eta),
            file: s.file,
            nozzle_temp: s.nozzle_temp,
            nozzle_target: s.nozzle_target,
            bed_temp: s.bed_temp,
            bed_target: s.bed_target,
            speed_level: s.speed_level,
            light: s.light,
            error: s.error,
            hms: s.hms,
            timelapse: s.timelapse,
            updated_at: iso(s.updated_at),
          }
        : null,
      status: latest.status ? { text: latest.status.status, recorded_at: iso(latest.status.last_seen_at) } : null,
      reading: latest.reading
        ? {
            temperature: latest.reading.temperature,
            humidity: latest.reading.humidity,
            recorded_at: iso(latest.reading.recorded_at),
          }
        : null,
      frame: latest.frame
        ? { id: latest.frame.id, recorded_at: iso(latest.frame.recorded_at), url: `/frames/${latest.frame.id}.jpg` }
        : null,
      job: (() => {
        const job = deps.jobs.current(id);
        return job ? { id: job.id, name: job.name, started_at: iso(job.started_at) } : null;
      })(),
    };
  }

  const idOf = (raw: string) => printerIdOf(printers, raw);
  const noPrinter = () => jsonResponse({ error: "no such printer" }, 404);
  const invalid = (errors: Record<string, { key: keyof typeof en; vars?: Record<string, string | number> }>) =>
    jsonResponse(
      {
        error: "invalid printer",
        fields: Object.fromEntries(Object.entries(errors).map(([k, m]) => [k, translate(en, m)])),
      },
      400,
    );

  return (
    new Elysia({ name: "printers-api", prefix: "/api/printers" })
      .resolve(({ request, set }) => ({ session: tools.sessionFor(request, set) }))
      .onBeforeHandle(({ session, request }) => {
        if (!session) return jsonResponse({ error: "unauthorized: log in first" }, 401);
        if (request.method === "GET" || request.method === "HEAD") return;
        // JSON only: a cross-site form cannot send it, so the session cookie alone is safe here.
        if (!request.headers.get("content-type")?.startsWith("application/json") && request.method !== "DELETE")
          return jsonResponse({ error: "send application/json" }, 415);
        if (session.user.role !== "admin") return jsonResponse({ error: "forbidden: admins only" }, 403);
      })
      .get("/", ({ request }) => jsonFor(request, printers.list().map(printerJson)))
      .get("/:id", ({ params }) => {
        const id = idOf(params.id);
        return id === null ? noPrinter() : jsonResponse(printerJson(printers.get(id)!));
      })
      .post("/", ({ body }) => {
        const made = printers.create((body ?? {}) as Record<string, unknown>);
        if (!made.ok) return invalid(made.errors);
        return jsonResponse(printerJson(printers.get(made.id!)!), 201);
      })
      .patch("/:id", ({ params, body }) => {
        const id = idOf(params.id);
        if (id === null) return noPrinter();
        const changed = printers.update(id, (body ?? {}) as Record<string, unknown>);
        if (!changed) return noPrinter();
        if (!changed.ok) return invalid(changed.errors);
        return jsonResponse(printerJson(printers.get(id)!));
      })
      .delete("/:id", ({ params }) => {
        const id = idOf(params.id);
        if (id === null) return noPrinter();
        if (printers.list().length <= 1) return jsonResponse({ error: "the last printer cannot be deleted" }, 409);
        const data = printers.dataOf(id);
        printers.remove(id);
        return jsonResponse({ deleted: id, ...data });
      })
      // Waits for the state that confirms the action (at most 10 s); every attempt is audited.
      .post("/:id/actions", async ({ params, body, session }) => {
        const id = idOf(params.id);
        if (id === null) return noPrinter();
        const { action, level } = (body ?? {}) as { action?: unknown; level?: unknown };
        if (typeof action !== "string" || !(ACTIONS as readonly string[]).includes(action))
          return jsonResponse({ error: `action must be one of ${ACTIONS.join(", ")}` }, 400);
        const result = await deps.control.act(id, action as Action, session!.user.username, Number(level));
        return jsonResponse(result.body, result.status);
      })
      .post("/:id/repin", ({ params }) => {
        const id = idOf(params.id);
        if (id === null) return noPrinter();
        deps.lan.repin(id);
        return jsonResponse({ ok: true });
      })
      .get("/:id/tokens", ({ params }) => {
        const id = idOf(params.id);
        if (id === null) return noPrinter();
        return jsonResponse(
          deps.deviceTokens.list(id).map((t) => ({
            id: t.id,
            name: t.name,
            created_at: iso(t.created_at),
            last_used_at: iso(t.last_used_at),
          })),
        );
      })
      .post("/:id/tokens", ({ params, body }) => {
        const id = idOf(params.id);
        if (id === null) return noPrinter();
        const name = (body as { name?: unknown } | null)?.name;
        const made = deps.deviceTokens.create(id, typeof name === "string" ? name : "");
        if (!made.ok) return jsonResponse({ error: translate(en, made.error) }, 400);
        return jsonResponse({ id: made.id, token: made.token }, 201);
      })
      .delete("/:id/tokens/:tokenId", ({ params }) => {
        const id = idOf(params.id);
        if (id === null) return noPrinter();
        const tokenId = Number(params.tokenId);
        const token = deps.deviceTokens.list(id).find((t) => t.id === tokenId);
        if (!token || !deps.deviceTokens.revoke(tokenId)) return jsonResponse({ error: "no such token" }, 404);
        return jsonResponse({ revoked: tokenId });
      })
  );
}
