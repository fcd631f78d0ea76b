// Owns the notification forms of Settings (admin, CSRF-checked): add and delete targets, send a test with
// the form's values before saving, and a printer's room limits.
import { Elysia } from "elysia";
import { Answer } from "../../views/forms.tsx";
import { ErrorPage } from "../../views/pages.tsx";
import { NotifySection } from "../../views/settings-notify.tsx";
import type { Message } from "../notify/senders.ts";
import type { Session } from "../services/auth.ts";
import { type HttpDeps, htmlResponse, type RequestTools } from "./context.ts";
import { settingsGuard } from "./settings.ts";

const LIMIT_KEYS = ["temp_high", "temp_low", "hum_high", "hum_low"] as const;

export function settingsNotifyRoutes(deps: HttpDeps, tools: RequestTools) {
  const { notifier } = deps;
  const section = (session: Session, flash: { kind: "ok" | "error"; text: string }, status = 200, draft?: string) =>
    htmlResponse(
      NotifySection({ ctx: tools.view(session), targets: notifier.targets(), flash, draft }) as string,
      status,
    );
  const forbidden = (session: Session) =>
    htmlResponse(ErrorPage({ ctx: tools.view(session), title: "403", message: tools.t.forbidden }) as string, 403);
  const back = (to: string) => new Response(null, { status: 303, headers: { location: to } });

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
    .resolve(({ request, set }) => ({ session: tools.sessionFor(request, set) }))
    .onBeforeHandle(({ session, request, body }) => {
      const refused = settingsGuard(deps, tools, session, request, body);
      if (refused) return refused;
      if (session!.user.role !== "admin") return forbidden(session!);
    })
    .post("/settings/notify", ({ session, body, request }) => {
      const url = String((body as { url?: unknown } | null)?.url ?? "").slice(0, 2048);
      const made = notifier.addTarget(url);
      if (request.headers.get("hx-request") !== "true") return back("/settings#notify");
      if (!made.ok) return section(session!, { kind: "error", text: made.error }, 400, url);
      return section(session!, { kind: "ok", text: tools.t.targetAdded });
    })
    .post("/settings/notify/test", async ({ body }) => {
      const url = String((body as { url?: unknown } | null)?.url ?? "").slice(0, 2048);
      const result = await notifier.test(url, sample());
      if (result.ok) return htmlResponse(Answer({ kind: "ok", text: tools.t.testSent }) as string);
      return htmlResponse(Answer({ kind: "error", text: result.error ?? "failed" }) as string);
    })
    .post("/settings/notify/:id/delete", ({ params }) => {
      notifier.removeTarget(Number(params.id));
      return back("/settings#notify");
    })
    .post("/settings/printers/:id/limits", ({ session, params, body }) => {
      const id = Number(params.id);
      if (!deps.printers.exists(id))
        return htmlResponse(
          ErrorPage({ ctx: tools.view(session), title: "404", message: tools.t.noSuchPrinter }) as string,
          404,
        );
      const raw = (body ?? {}) as Record<string, unknown>;
      const limits = {} as Record<(typeof LIMIT_KEYS)[number], number | null>;
      for (const key of LIMIT_KEYS) {
        const text = String(raw[key] ?? "").trim();
        const value = text === "" ? null : Number(text);
        if (value !== null && (!Number.isFinite(value) || value < -50 || value > 150))
          return htmlResponse(
            ErrorPage({ ctx: tools.view(session), title: "400", message: tools.t.limitRule }) as string,
            400,
          );
        limits[key] = value;
      }
      deps.printers.setLimits(id, limits);
      return back(`/settings/printers/${id}`);
    });
}
