// Unit: printer control's pure rules (src/services/printer-control.ts): which actions misfit which states, the
// Bambu LAN command each action sends (PRINTERS.md §4), the state that confirms each, and the edge's reason → status.
import { describe, expect, test } from "bun:test";
import { REFUSAL_STATUS, refusalText } from "../../src/http/printer-actions.ts";
import { dictionaries } from "../../src/i18n.ts";
import { emptyState, type PrinterState } from "../../src/printer-state.ts";
import {
  ACTIONS,
  type Action,
  type ActionRefusal,
  confirmed,
  lanCommand,
  misfit,
} from "../../src/services/printer-control.ts";

const GCODE_STATES = ["IDLE", "PREPARE", "RUNNING", "PAUSE", "FINISH", "FAILED", "SLICING", "INIT", "UNKNOWN"];
const state = (patch: Partial<PrinterState>): PrinterState => ({ ...emptyState(), ...patch });
const inState = (gcode_state: string) => state({ gcode_state });

describe("which actions misfit which states", () => {
  test("pause fits only a print that is running or preparing", () => {
    for (const g of GCODE_STATES) {
      const expected = g === "RUNNING" || g === "PREPARE" ? null : "not_printing";
      expect([g, misfit("pause", inState(g))]).toEqual([g, expected]);
    }
  });

  test("resume fits only a paused print, else not_paused", () => {
    for (const g of GCODE_STATES) {
      expect([g, misfit("resume", inState(g))]).toEqual([g, g === "PAUSE" ? null : "not_paused"]);
    }
  });

  test("stop fits any print under way (paused included) and misfits an idle or ended printer", () => {
    for (const g of ["PREPARE", "RUNNING", "PAUSE", "SLICING"]) expect(misfit("stop", inState(g))).toBeNull();
    for (const g of ["IDLE", "FINISH", "FAILED", "INIT", "UNKNOWN"]) {
      expect([g, misfit("stop", inState(g))]).toEqual([g, "not_printing"]);
    }
  });

  test("light, speed and timelapse fit every state: misfit does not check the speed level", () => {
    for (const action of ["light_on", "light_off", "speed", "timelapse_start", "timelapse_stop"] as const) {
      for (const g of GCODE_STATES) expect(misfit(action, inState(g))).toBeNull();
    }
  });

  test("an unknown state misfits nothing, so the printer itself decides", () => {
    for (const action of ACTIONS) expect(misfit(action, emptyState())).toBeNull();
  });
});

describe("the LAN command for each action (PRINTERS.md §4)", () => {
  test("pause and resume are print commands without a param", () => {
    expect(lanCommand("pause")).toEqual({ print: { sequence_id: "0", command: "pause" } });
    expect(lanCommand("resume")).toEqual({ print: { sequence_id: "0", command: "resume" } });
  });

  test('stop carries param ""', () => {
    expect(lanCommand("stop")).toEqual({ print: { sequence_id: "0", command: "stop", param: "" } });
  });

  test("speed is print_speed with the level as a string", () => {
    for (const level of [1, 2, 3, 4]) {
      expect(lanCommand("speed", level)).toEqual({
        print: { sequence_id: "0", command: "print_speed", param: String(level) },
      });
    }
  });

  test("the chamber light is a system ledctrl with led_on_time 500", () => {
    for (const [action, mode] of [
      ["light_on", "on"],
      ["light_off", "off"],
    ] as const) {
      expect(lanCommand(action)).toEqual({
        system: { sequence_id: "0", command: "ledctrl", led_node: "chamber_light", led_mode: mode, led_on_time: 500 },
      });
    }
  });

  test("the timelapse has no LAN command: only the camera Pi runs it", () => {
    expect(lanCommand("timelapse_start")).toBeNull();
    expect(lanCommand("timelapse_stop")).toBeNull();
  });

  test("every command is plain JSON that survives a round trip", () => {
    for (const action of ACTIONS) {
      const command = lanCommand(action, 2);
      expect(JSON.parse(JSON.stringify(command))).toEqual(command);
    }
  });
});

describe("the state that confirms each action", () => {
  const confirmingStates = (action: Action, level?: number) =>
    GCODE_STATES.filter((g) => confirmed(action, inState(g), level));

  test("a paused state confirms pause, and only that", () => {
    expect(confirmingStates("pause")).toEqual(["PAUSE"]);
  });

  test("RUNNING confirms resume, and only that", () => {
    expect(confirmingStates("resume")).toEqual(["RUNNING"]);
  });

  test("stop is confirmed by any state that is not a print under way (FINISH, FAILED, IDLE...)", () => {
    expect(confirmingStates("stop")).toEqual(["IDLE", "FINISH", "FAILED", "INIT", "UNKNOWN"]);
  });

  test("a state not known yet (a report without gcode_state) does not confirm stop", () => {
    expect(confirmed("stop", state({ gcode_state: null }))).toBe(false);
  });

  test("speed is confirmed by the same level, not another", () => {
    expect(confirmed("speed", state({ speed_level: 3 }), 3)).toBe(true);
    expect(confirmed("speed", state({ speed_level: 2 }), 3)).toBe(false);
    expect(confirmed("speed", state({ speed_level: null }), 3)).toBe(false);
  });

  test("the light is confirmed by its mode", () => {
    expect(confirmed("light_on", state({ light: "on" }))).toBe(true);
    expect(confirmed("light_on", state({ light: "off" }))).toBe(false);
    expect(confirmed("light_off", state({ light: "off" }))).toBe(true);
    expect(confirmed("light_off", state({ light: "on" }))).toBe(false);
    expect(confirmed("light_on", state({ light: null }))).toBe(false);
  });

  test("no state confirms the timelapse: the camera Pi's answer does", () => {
    for (const g of GCODE_STATES) {
      expect(confirmed("timelapse_start", state({ gcode_state: g, timelapse: true }))).toBe(false);
      expect(confirmed("timelapse_stop", state({ gcode_state: g, timelapse: false }))).toBe(false);
    }
  });
});

describe("the HTTP edge's answer for each refusal", () => {
  // Every reason the service can return: REFUSAL_STATUS is typed Record<ActionRefusal, number>, so tsc keeps
  // this list and the table whole; the test holds the list to the table at run time too.
  const REASONS: ActionRefusal[] = [
    "no_printer",
    "bad_level",
    "not_printing",
    "not_paused",
    "link_dropped",
    "authorization_control",
    "unconfirmed",
    "needs_lan",
    "offline",
    "device_silent",
    "device_refused",
    "instance_silent",
  ];

  test("every reason has exactly one status, a client or server error", () => {
    expect(Object.keys(REFUSAL_STATUS).sort()).toEqual([...REASONS].sort());
    for (const reason of REASONS) {
      const status = REFUSAL_STATUS[reason];
      expect([reason, status >= 400 && status < 600]).toEqual([reason, true]);
    }
  });

  test("each reason answers the status PRINTERS.md §6 promises", () => {
    expect(REFUSAL_STATUS).toEqual({
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
    });
  });

  test("every reason has a text in English and Finnish with every placeholder filled", () => {
    for (const [locale, t] of Object.entries(dictionaries)) {
      for (const reason of REASONS) {
        const key = `action_${reason}` as keyof typeof t;
        expect([locale, key, typeof t[key]]).toEqual([locale, key, "string"]);
        const text = refusalText(t, { ok: false, reason, via: "-", gcodeState: "IDLE" }, "pause");
        expect(text.length).toBeGreaterThan(0);
        expect([locale, reason, /\{\w+\}/.test(text)]).toEqual([locale, reason, false]);
      }
    }
  });
});
