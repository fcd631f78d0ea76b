// Owns the printers JSON API of PRINTERS.md §6: list and one printer with live state, and (admin, JSON
// only) create, change, delete, control actions (pause, resume, stop: operators too), re-pin, device tokens.
import { Elysia, t } from "elysia";
import { effectiveModel } from "../bambu-models.ts";
import { dictionary, translate } from "../i18n.ts";
import { ACTIONS, type Action, roleFor } from "../services/printer-control.ts";
import type { HeldPrinter } from "../services/printers.ts";
import { roleAtLeast } from "../services/users.ts";
import type { JobRow } from "../store/store.ts";
import { isoInZone } from "../time.ts";
import { type HttpDeps, jsonFor, jsonResponse, type RequestTools } from "./context.ts";
import { edge, IdParams } from "./edge.ts";
import { REFUSAL_STATUS, refusalText } from "./printer-actions.ts";

export function printersApiRoutes(deps: HttpDeps, tools: RequestTools) {
  const { printers, telemetry, config } = deps;
  const en = dictionary("en");
  const iso = (ms: number | null | undefined) => (ms ? isoInZone(ms, config.timezone) : null);

  /**
   * A printer as the API shows it: live state from memory (relayed from the link's holder), newest reading and
   * frame by index, the open job (from the store when another instance holds the link).
   */
  function printerJson(p: HeldPrinter, openJob: JobRow | undefined) {
    const id = p.info.id;
    const latest = telemetry.latest(id);
    const device = printers.deviceSource(p);
    const s = p.state;
    const model = effectiveModel(s.model, p.info.serial, p.info.model);
    return {
      id,
      name: p.info.name,
      model: model.model,
      model_source: model.source,
      model_configured: p.info.model,
      firmware: s.firmware,
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
            holder: deps.holderOf(id),
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
            chamber_temp: s.chamber_temp,
            sd_card: s.sd_card,
            wifi_dbm: s.wifi_dbm,
            fans: s.fans,
            nozzle_type: s.nozzle_type,
            nozzle_diameter: s.nozzle_diameter,
            extruders: s.extruders,
            ams: s.ams,
            signing_required: s.signing_required,
            skipped_objects: s.skipped_objects,
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
      job: openJob ? { id: openJob.id, name: openJob.name, started_at: iso(openJob.started_at) } : null,
    };
  }

  /** Printers as the API shows them, their open jobs read together. */
  async function printersJson(ps: HeldPrinter[]) {
    const jobs = await deps.jobs.openOf(ps.map((p) => p.info.id));
    return ps.map((p) => printerJson(p, jobs.get(p.info.id)));
  }
  const onePrinterJson = async (p: HeldPrinter) => (await printersJson([p]))[0]!;

  const noPrinter = () => jsonResponse({ error: "no such printer" }, 404);
  const invalid = (errors: Record<string, { key: keyof typeof en; vars?: Record<string, string | number> }>) =>
    jsonResponse(
      {
        error: "invalid printer",
        fields: Object.fromEntries(Object.entries(errors).map(([k, m]) => [k, translate(en, m)])),
      },
      400,
    );

  // Writes are JSON only (the api auth refuses other bodies): a cross-site form cannot send them.
  const api = { auth: "api" } as const;
  const admin = { auth: "api", role: "admin" } as const;
  const operator = { auth: "api", role: "operator" } as const;
  return (
    new Elysia({ name: "printers-api", prefix: "/api/printers" })
      .use(edge(deps, tools))
      .get("/", async ({ request }) => jsonFor(request, await printersJson(printers.list())), {
        ...api,
      })
      .get("/:id", async ({ printer }) => jsonResponse(await onePrinterJson(printer)), { ...api, printer: true })
      .post(
        "/",
        async ({ body }) => {
          const made = await printers.create((body ?? {}) as Record<string, unknown>);
          if (!made.ok) return invalid(made.errors);
          return jsonResponse(await onePrinterJson(printers.get(made.id!)!), 201);
        },
        { ...admin },
      )
      .patch(
        "/:id",
        async ({ printer, body }) => {
          const id = printer.info.id;
          const changed = await printers.update(id, (body ?? {}) as Record<string, unknown>);
          if (!changed) return noPrinter();
          if (!changed.ok) return invalid(changed.errors);
          return jsonResponse(await onePrinterJson(printers.get(id)!));
        },
        { ...admin, printer: true },
      )
      .delete(
        "/:id",
        async ({ printer }) => {
          const id = printer.info.id;
          if (printers.list().length <= 1) return jsonResponse({ error: "the last printer cannot be deleted" }, 409);
          const data = await printers.dataOf(id);
          await printers.remove(id);
          return jsonResponse({ deleted: id, ...data });
        },
        { ...admin, printer: true },
      )
      // Waits for the state that confirms the action (at most 10 s); every attempt is audited.
      .post(
        "/:id/actions",
        async ({ printer, body, session }) => {
          const { action, level } = (body ?? {}) as { action?: unknown; level?: unknown };
          if (typeof action !== "string" || !(ACTIONS as readonly string[]).includes(action))
            return jsonResponse({ error: `action must be one of ${ACTIONS.join(", ")}` }, 400);
          if (!roleAtLeast(session.user.role, roleFor(action as Action)))
            return jsonResponse({ error: "forbidden: admins only" }, 403);
          const result = await deps.control.act(
            printer.info.id,
            action as Action,
            session.user.username,
            Number(level),
          );
          if (result.ok) return jsonResponse({ ok: true, state: result.state });
          const error = refusalText(en, result, action);
          const hms = result.hms ? { hms: result.hms } : {};
          return jsonResponse({ error, reason: result.reason, ...hms }, REFUSAL_STATUS[result.reason]);
        },
        { ...operator, printer: true },
      )
      .post(
        "/:id/repin",
        async ({ printer }) => {
          await deps.lan.repin(printer.info.id);
          return jsonResponse({ ok: true });
        },
        { ...admin, printer: true },
      )
      .get(
        "/:id/tokens",
        async ({ printer }) =>
          jsonResponse(
            (await deps.deviceTokens.list(printer.info.id)).map((t) => ({
              id: t.id,
              name: t.name,
              created_at: iso(t.created_at),
              last_used_at: iso(t.last_used_at),
            })),
          ),
        // Which camera Pis a printer has, and when they were last used: for whoever manages them.
        { ...admin, printer: true },
      )
      .post(
        "/:id/tokens",
        async ({ printer, body }) => {
          const name = (body as { name?: unknown } | null)?.name;
          const made = await deps.deviceTokens.create(printer.info.id, typeof name === "string" ? name : "");
          if (!made.ok) return jsonResponse({ error: translate(en, made.error) }, 400);
          return jsonResponse({ id: made.id, token: made.token }, 201);
        },
        { ...admin, printer: true },
      )
      .delete(
        "/:id/tokens/:tokenId",
        async ({ printer, params }) => {
          const token = (await deps.deviceTokens.list(printer.info.id)).find((t) => t.id === params.tokenId);
          if (!token || !(await deps.deviceTokens.revoke(params.tokenId)))
            return jsonResponse({ error: "no such token" }, 404);
          return jsonResponse({ revoked: params.tokenId });
        },
        { ...admin, printer: true, params: t.Object({ id: IdParams.properties.id, tokenId: IdParams.properties.id }) },
      )
  );
}
