// Owns the control buttons on printer and print pages (CSRF-checked; pause, resume, stop for operators, the rest
// for admins): printer control through the same service as the API, its answer shown in place, and deleting a
// print's timelapse video.
import { Elysia } from "elysia";
import { Answer } from "../../views/forms.tsx";
import { type Dictionary, translate } from "../i18n.ts";
import {
  ACTIONS,
  type Action,
  type ActionRefusal,
  type ActionRefused,
  CONFIRM_WITHIN_MS,
  roleFor,
} from "../services/printer-control.ts";
import { roleAtLeast } from "../services/users.ts";
import { type HttpDeps, type RequestTools, redirectTo } from "./context.ts";
import { edge, IdParams, wholeNumber } from "./edge.ts";

/** Spread into each route: Elysia rewrites the hook object it is given, so none may be shared. */
const admin = { auth: "form", role: "admin" } as const;
const operator = { auth: "form", role: "operator" } as const;

/** Where the delete button sends the browser back to: the print's page it was on, else the history. */
const backTo = (back: unknown) =>
  typeof back === "string" && back.startsWith("/jobs/") && wholeNumber(back.slice("/jobs/".length)) !== null
    ? back
    : "/history";

/** The HTTP status of each reason an action was not done. */
export const REFUSAL_STATUS: Record<ActionRefusal, number> = {
  no_printer: 404,
  bad_level: 400,
  not_printing: 409,
  not_paused: 409,
  link_dropped: 503,
  authorization_control: 403,
  unconfirmed: 504,
  needs_lan: 503,
  offline: 503,
  device_silent: 504,
  device_refused: 502,
  instance_silent: 504,
};

/** Why an action was not done, in `t`'s language; `action` is how that language names the action. */
export const refusalText = (t: Dictionary, r: ActionRefused, action: string, state = "") =>
  translate(t, {
    key: `action_${r.reason}`,
    vars: { action, state: state || (r.gcodeState ?? ""), seconds: CONFIRM_WITHIN_MS / 1000 },
  });

/** The button's words for an action, lower-case first letter, to go inside a sentence. */
const ACTION_WORDS = {
  pause: "pause",
  resume: "resume",
  stop: "stop",
  light_on: "lightOn",
  light_off: "lightOff",
  speed: "speed",
  timelapse_start: "timelapseStart",
  timelapse_stop: "timelapseStop",
} as const satisfies Record<Action, keyof Dictionary>;
/** A gcode state's dictionary key (`state_RUNNING`); unknown states fall back to the code itself. */
const stateKey = (gcode: string) => `state_${gcode}` as keyof Dictionary;
const actionWord = (t: Dictionary, action: Action) => {
  const word = t[ACTION_WORDS[action]];
  return word.charAt(0).toLowerCase() + word.slice(1);
};

export function printerActionRoutes(deps: HttpDeps, tools: RequestTools) {
  return new Elysia({ name: "printer-action-routes" })
    .use(edge(deps, tools))
    .post(
      "/timelapses/:id/delete",
      async ({ session, params, body }) => {
        await deps.removeTimelapse(params.id, session.user.username);
        return redirectTo(backTo((body as { back?: unknown } | null)?.back));
      },
      { ...admin, params: IdParams },
    )
    .post(
      "/printers/:id/actions",
      async ({ session, printer, body, request, set }) => {
        const id = printer.info.id;
        const { action, level } = (body ?? {}) as { action?: unknown; level?: unknown };
        if (typeof action !== "string" || !(ACTIONS as readonly string[]).includes(action)) {
          set.status = 400;
          return Answer({ kind: "error", text: tools.t.badRequest });
        }
        if (!roleAtLeast(session.user.role, roleFor(action as Action))) {
          set.status = 403;
          return Answer({ kind: "error", text: tools.t.forbidden });
        }
        const result = await deps.control.act(id, action as Action, session.user.username, Number(level));
        // htmx shows the answer in place (200, so it swaps); a plain form goes back to the page.
        if (request.headers.get("hx-request") !== "true") return redirectTo(`/printers/${id}`);
        const word = actionWord(tools.t, action as Action);
        if (result.ok) return Answer({ kind: "ok", text: tools.t.actionDone.replace("{action}", word) });
        const state = result.gcodeState ? (tools.t[stateKey(result.gcodeState)] ?? result.gcodeState) : "";
        return Answer({ kind: "error", text: refusalText(tools.t, result, word, state) });
      },
      { ...operator, printer: true },
    );
}
