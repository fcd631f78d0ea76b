// Owns the notification forms of Settings (admin, CSRF-checked): add and delete targets, send a test with
// the form's values before saving, and a printer's room limits.
import { Elysia } from "elysia";
import { Answer } from "../../views/forms.tsx";
import { ErrorPage } from "../../views/pages.tsx";
import { NotifySection } from "../../views/settings-notify.tsx";
import type { Message } from "../notify/senders.ts";
import type { Session } from "../services/auth.ts";
import { type HttpDeps, type RequestTools, redirectTo } from "./context.ts";
import { edge, IdParams } from "./edge.ts";

const LIMIT_KEYS = ["temp_high", "temp_low", "hum_high", "hum_low"] as const;
/** Spread into each route: Elysia rewrites the hook object it is given, so none may be shared. */
const admin = { auth: "form", role: "admin" } as const;

export function settingsNotifyRoutes(deps: HttpDeps, tools: RequestTools) {
  const { notifier } = deps;
  const section = async (session: Session, flash: { kind: "ok" | "error"; text: string }, draft?: string) =>
    NotifySection({ ctx: tools.view(session), targets: await notifier.targets(), flash, draft });

  /** What a test sends: a sample finished print on the first printer. */
  function sample(): Message {
    const p = deps.printers.list()[0]!;
    return {
      event: "print_finished",
      title: `${p.info.name}: test from layerwatch`,
      body: "If you can read this, notifications work.",
      priority: 3,
      tags: ["test_tube"],
      printer: { id: p.info.id, name: p.info.name },
      job: null,
      link: `${deps.config.public_url.replace(/\/$/, "")}/printers/${p.info.id}`,
      frameId: deps.telemetry.latest(p.info.id).frame?.id ?? null,
      at: Date.now(),
    };
  }

  return new Elysia({ name: "settings-notify-routes" })
    .use(edge(deps, tools))
    .post(
      "/settings/notify",
      async ({ session, body, request, set }) => {
        const url = String((body as { url?: unknown } | null)?.url ?? "").slice(0, 2048);
        const made = await notifier.addTarget(url);
        if (request.headers.get("hx-request") !== "true") return redirectTo("/settings#notify");
        if (made.ok) return section(session, { kind: "ok", text: tools.t.targetAdded });
        set.status = 400;
        return section(session, { kind: "error", text: made.error }, url);
      },
      { ...admin },
    )
    .post(
      "/settings/notify/test",
      async ({ body }) => {
        const url = String((body as { url?: unknown } | null)?.url ?? "").slice(0, 2048);
        const result = await notifier.test(url, sample());
        if (result.ok) return Answer({ kind: "ok", text: tools.t.testSent });
        return Answer({ kind: "error", text: result.error ?? "failed" });
      },
      { ...admin },
    )
    .post(
      "/settings/notify/:id/delete",
      async ({ params }) => {
        await notifier.removeTarget(params.id);
        return redirectTo("/settings#notify");
      },
      { ...admin, params: IdParams },
    )
    .post(
      "/settings/printers/:id/limits",
      async ({ session, printer, body, set }) => {
        const raw = (body ?? {}) as Record<string, unknown>;
        const limits = {} as Record<(typeof LIMIT_KEYS)[number], number | null>;
        for (const key of LIMIT_KEYS) {
          const text = String(raw[key] ?? "").trim();
          const value = text === "" ? null : Number(text);
          if (value !== null && (!Number.isFinite(value) || value < -50 || value > 150)) {
            set.status = 400;
            return ErrorPage({ ctx: tools.view(session), title: "400", message: tools.t.limitRule });
          }
          limits[key] = value;
        }
        await deps.printers.setLimits(printer.info.id, limits);
        return redirectTo(`/settings/printers/${printer.info.id}`);
      },
      { ...admin, printer: true },
    );
}
