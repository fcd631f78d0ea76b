// Owns one printer's LAN link (Bambu LAN mode, MQTT via mqtt-client.ts over pinned TLS 1.2): pushall on connect
// (at most every 5 minutes), get_version once per connection (the printer names its model and firmware), each
// report read by the printer-state model into the printers service, a watchdog
// for silent links (it drives the MQTT keepalive too), reconnect with backoff, and clear states for a wrong
// access code or a changed certificate instead of a retry storm.
import { randomUUID } from "node:crypto";
import { effectiveModel } from "../bambu-models.ts";
import type { Logger } from "../log.ts";
import {
  type BambuPrint,
  emptyReportMemo,
  type LanHealth,
  stateFromReport,
  stateFromVersion,
} from "../printer-state.ts";
import type { PrinterService } from "../services/printers.ts";
import { type MqttLink, mqttOverTls } from "./mqtt-client.ts";
import { type PinCheck, pinnedTls } from "./tls-pin.ts";

export type LanTimings = {
  /** Silence after which the printer is nudged with `start`, then reconnected. */
  watchdogMs: number;
  /** pushall at most this often (the firmware struggles with more). */
  pushallEveryMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  /** After a refused access code: try again this much later, not in a loop. */
  authRetryMs: number;
  /** While the printer refuses connections outright (bound to farm software): try again this often. */
  refusedRetryMs: number;
};
/** Attempts in a row the printer refuses before the link says so (one refusal is a reboot, not a binding). */
const REFUSALS_TO_TELL = 3;
const REFUSED_TEXT =
  "the printer refuses LAN connections on port 8883 (it is on the network but takes no MQTT client): this is " +
  "what a printer bound to farm software (Bambu Farm Manager) or with LAN mode off does. Check LAN Only mode " +
  "and Developer Mode on its screen; layerwatch keeps trying every few minutes";
export const DEFAULT_TIMINGS: LanTimings = {
  watchdogMs: 60_000,
  pushallEveryMs: 5 * 60_000,
  backoffMinMs: 1000,
  backoffMaxMs: 30_000,
  authRetryMs: 5 * 60_000,
  refusedRetryMs: 2 * 60_000,
};

const PUSHALL = { pushing: { sequence_id: "0", command: "pushall", version: 1, push_target: 1 } };
const START = { pushing: { sequence_id: "0", command: "start" } };
const GET_VERSION = { info: { sequence_id: "0", command: "get_version" } };

export function createPrinterLink(
  printerId: number,
  deps: {
    printers: PrinterService;
    log: Logger;
    timings: LanTimings;
    /** Each report's `print` object as it came, for what the state model does not keep (send and skip facts). */
  },
) {
  const { printers, log, timings } = deps;
  let client: MqttLink | null = null;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let attempt = 0;
  /** Attempts in a row the printer refused outright (connection refused or closed before any MQTT answer). */
  let refusals = 0;
  const memo = emptyReportMemo();
  let lastPushallAt = 0;
  let lastMessageAt = 0;
  let nudgedAt = 0;
  let serial = "";
  const health = (change: Partial<LanHealth>) => printers.setLanHealth(printerId, change);
  const pinSeen = (fingerprint: string) =>
    printers.pin(printerId, fingerprint).catch((err) => {
      log.error("pinning the printer's certificate failed", { printer: printerId, error: err as Error });
    });

  const watchdog = setInterval(
    () => {
      if (!client?.connected) return;
      const now = Date.now();
      client.keepalive(now);
      if (now - lastMessageAt < timings.watchdogMs) return;
      if (!nudgedAt) {
        nudgedAt = now;
        client.publish(`device/${serial}/request`, JSON.stringify(START));
      } else if (now - nudgedAt > timings.watchdogMs / 4) {
        log.warn("printer went silent; reconnecting", { printer: printerId });
        health({ last_error: `no message for ${Math.round((now - lastMessageAt) / 1000)} s` });
        client.end();
      }
    },
    Math.min(5000, timings.watchdogMs / 4),
  );
  watchdog.unref?.();

  function schedule(ms: number) {
    clearTimeout(retry);
    if (!stopped) retry = setTimeout(connect, ms);
  }

  function connect() {
    void open().catch((err) => {
      log.error("connecting to the printer failed", { printer: printerId, error: err as Error });
      schedule(timings.backoffMaxMs);
    });
  }

  /** Reads the printer's address and secrets (they are not held in memory), then connects. */
  async function open() {
    const row = await printers.connectionOf(printerId);
    if (stopped || !row?.host || !row.serial || !row.access_code) return;
    serial = row.serial;
    // What is real in a report (a chamber thermometer, fans) depends on the model: the best guess until it answers.
    memo.model = effectiveModel(printers.get(printerId)?.state.model ?? null, row.serial, row.model).model;
    // Turning Developer Mode on changes the access code, so it comes with a new connection: what a refused
    // command's echo said is forgotten then (a `fun` in the reports is read afresh anyway).
    if (memo.signingFromEcho) {
      memo.signingFromEcho = false;
      printers.applyLan(printerId, { signing_required: null }, Date.now());
    }
    let refused: { state: LanHealth["state"]; error: string; code?: string } | null = null;
    let answered = false;
    const pin: PinCheck =
      row.tls === "insecure" || !row.tls_fingerprint
        ? { mode: "learn", onSeen: (fp) => void (row.tls === "pin" && pinSeen(fp)) }
        : {
            mode: "pinned",
            fingerprint: row.tls_fingerprint,
            onMismatch: (seen) => {
              refused = {
                state: "tls_mismatch",
                error:
                  `the printer's certificate changed (now ${seen.slice(0, 23)}…); nothing was sent to it. ` +
                  "If the printer was replaced or reset, re-pin it in Settings.",
              };
            },
          };
    health({ state: "connecting" });
    const socket = pinnedTls(row.host, row.mqtt_port, pin);
    const options = {
      username: "bblp",
      password: row.access_code,
      clientId: `layerwatch-${randomUUID().slice(0, 8)}`,
      keepaliveS: 30,
      connectTimeoutMs: 10_000,
    };
    const c: MqttLink = mqttOverTls(socket, options, {
      connect() {
        answered = true;
        refusals = 0;
        attempt = 0;
        lastMessageAt = Date.now();
        nudgedAt = 0;
        health({ state: "connected", last_error: null });
        log.info("printer connected over LAN", { printer: printerId });
        // Only the report topic: P1/A1 firmware drops clients that subscribe to the request topic.
        c.subscribe(`device/${serial}/report`);
        // Once per connection: the answer names the model (the config's is only a hint) and the firmware.
        c.publish(`device/${serial}/request`, JSON.stringify(GET_VERSION));
        if (Date.now() - lastPushallAt >= timings.pushallEveryMs) {
          lastPushallAt = Date.now();
          c.publish(`device/${serial}/request`, JSON.stringify(PUSHALL));
        }
      },
      message(_topic, text) {
        const now = Date.now();
        lastMessageAt = now;
        nudgedAt = 0;
        let message: { print?: BambuPrint; info?: Record<string, unknown> } | null;
        try {
          message = JSON.parse(text);
        } catch {
          return;
        }
        const info = message?.info;
        if (info && typeof info === "object" && info.command === "get_version" && Array.isArray(info.module)) {
          printers.applyLan(printerId, stateFromVersion(info, memo), now);
          return;
        }
        const print = message?.print;
        if (!print || typeof print !== "object" || Array.isArray(print)) return;
        const current = printers.get(printerId)?.state;
        printers.applyLan(printerId, stateFromReport(print, memo, current), now);
      },
      error(err) {
        if (err.code === 4 || err.code === 5)
          refused = {
            state: "auth_failed",
            error:
              "the printer refused the access code: check the LAN access code on its screen " +
              "(it changes when LAN-only or Developer Mode is switched) and the serial number",
          };
        else if (!refused)
          refused = { state: "error", error: err.message, code: (err as { code?: unknown }).code as string };
      },
      close() {
        if (client !== c || stopped) return;
        client = null;
        const why = refused as { state: LanHealth["state"]; error: string; code?: string } | null;
        const prior = printers.get(printerId)?.lan;
        // Refused outright (not a timeout: a printer switched off answers nothing at all) before any MQTT answer.
        const outright = !answered && (!why || why.code === "ECONNREFUSED" || why.code === "ECONNRESET");
        refusals = outright ? refusals + 1 : 0;
        if (refusals >= REFUSALS_TO_TELL) {
          if (prior?.state !== "refused") log.warn("printer refuses LAN connections", { printer: printerId });
          health({ state: "refused", last_error: REFUSED_TEXT });
          schedule(timings.refusedRetryMs);
          return;
        }
        if (why?.state === "tls_mismatch") {
          log.warn("printer refused: certificate changed", { printer: printerId });
          health({ state: "tls_mismatch", last_error: why.error });
          return; // until an admin re-pins
        }
        if (why?.state === "auth_failed") {
          if (prior?.state !== "auth_failed") log.warn("printer refused the access code", { printer: printerId });
          health({ state: "auth_failed", last_error: why.error });
          schedule(timings.authRetryMs);
          return;
        }
        attempt++;
        health({ state: "connecting", reconnects: (prior?.reconnects ?? 0) + 1, last_error: why?.error ?? "closed" });
        schedule(Math.min(timings.backoffMaxMs, timings.backoffMinMs * 2 ** Math.min(attempt - 1, 10)));
      },
    });
    client = c;
  }

  return {
    start: () => connect(),
    /** Publishes a command to the request topic; false when not connected. */
    send(command: object): boolean {
      if (!client?.connected) return false;
      client.publish(`device/${serial}/request`, JSON.stringify(command));
      return true;
    },
    connected: () => !!client?.connected,
    stop() {
      stopped = true;
      clearTimeout(retry);
      clearInterval(watchdog);
      client?.end();
      client = null;
      health({ state: "off" });
    },
  };
}

export type PrinterLink = ReturnType<typeof createPrinterLink>;
