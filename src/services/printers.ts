// Owns the printers: their setup (config, Settings, API), their live state held in memory and merged
// from each source, and the health of those sources. Pages and the API read this, never a table scan.
// Held state: setup rows rebuilt from the database (again after a remote change, and when Redis is back); live
// state and LAN health merged here from this instance's sources and taken as they are from other instances'
// (remote printerState and printerHealth events); a device's last word also from remote readings and statuses.
import type { EventBus } from "../events.ts";
import type { Logger } from "../log.ts";
import {
  applyChange,
  type DeviceStatus,
  deviceFieldsOnly,
  emptyState,
  type LanHealth,
  type PrinterState,
  stateChange,
  stateFromDevice,
} from "../printer-state.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { PrinterRow, PrinterSetup } from "../store/store.ts";
import { parsePrinterSetup, type SetupResult } from "./printer-setup.ts";
export type DeviceSource = "never" | "online" | "stale";
/** A printer as pages and the API see it: the access code is never in it. */
export type PrinterInfo = Omit<PrinterRow, "access_code" | "state_json"> & { has_access_code: boolean };
export type HeldPrinter = {
  info: PrinterInfo;
  state: PrinterState;
  deviceSeenAt: number | null;
  lan: LanHealth;
};

/** State snapshots go to SQLite this often, all changed printers in one commit (an SD card, many deltas a second). */
const SNAPSHOT_EVERY_MS = 10_000;

const infoOf = (row: PrinterRow): PrinterInfo => {
  const { access_code, state_json: _, ...rest } = row;
  return { ...rest, has_access_code: access_code !== "" };
};

function restore(json: string | null): PrinterState {
  if (!json) return emptyState();
  try {
    return { ...emptyState(), ...(JSON.parse(json) as Partial<PrinterState>) };
  } catch {
    return emptyState();
  }
}

export async function createPrinterService(deps: {
  store: AsyncStore;
  events: EventBus;
  log: Logger;
  /** How long a device may stay silent before its source counts as stale (ms). */
  deviceStaleAfter: () => number;
}) {
  const { store, events, log } = deps;
  const held = new Map<number, HeldPrinter & { dirty: boolean }>();
  const offLan = (): LanHealth => ({
    state: "off",
    since: Date.now(),
    last_message_at: null,
    reconnects: 0,
    last_error: null,
  });

  function load(row: PrinterRow) {
    const prior = held.get(row.id);
    held.set(row.id, {
      info: infoOf(row),
      state: prior?.state ?? restore(row.state_json),
      deviceSeenAt: prior?.deviceSeenAt ?? null,
      lan: prior?.lan ?? offLan(),
      dirty: prior?.dirty ?? false,
    });
  }
  for (const row of await store.printers.list()) load(row);
  const reload = async (id: number) => {
    const row = await store.printers.byId(id);
    if (row) load(row);
  };

  /** Saves every changed printer's state in one commit (each its own would be an fsync per printer). */
  let saving: Promise<void> = Promise.resolve();
  function snapshotAll(): Promise<void> {
    saving = saving.then(async () => {
      const due = [...held.entries()].filter(([, p]) => p.dirty);
      if (!due.length) return;
      // Cleared before the write: a change that lands while it is in flight marks the printer for the next one.
      for (const [, p] of due) p.dirty = false;
      try {
        await store.printers.saveStates(due.map(([id, p]) => [id, JSON.stringify(p.state)]));
      } catch (err) {
        for (const [, p] of due) p.dirty = true;
        log.warn("saving printer state failed", { printers: due.map(([id]) => id).join(","), error: err as Error });
      }
    });
    return saving;
  }
  const timer = setInterval(snapshotAll, SNAPSHOT_EVERY_MS);
  timer.unref?.();

  // Another instance's view of a printer, as it announced it: its state there is the one to show here. The
  // instance that merged it saves the snapshot, so it is not marked dirty here.
  events.on(
    "printerState",
    ({ printerId, state }, remote) => {
      const p = held.get(printerId);
      if (remote && p) p.state = state;
    },
    { remote: true },
  );
  events.on(
    "printerHealth",
    ({ printerId, lan }, remote) => {
      const p = held.get(printerId);
      if (remote && p) p.lan = lan;
    },
    { remote: true },
  );
  // A camera Pi connected to another instance is as present as one connected here.
  const seenElsewhere = (printerId: number, at: number, remote: boolean) => {
    const p = held.get(printerId);
    if (remote && p && at > (p.deviceSeenAt ?? 0)) p.deviceSeenAt = at;
  };
  events.on("reading", (r, remote) => seenElsewhere(r.printer_id, r.recorded_at, remote), { remote: true });
  events.on("status", (s, remote) => seenElsewhere(s.printer_id, s.last_seen_at, remote), { remote: true });

  /** Applies a source's fields to a printer's state; announces only what really changed. */
  function merge(id: number, patch: Partial<PrinterState>, source: "lan" | "device", now: number) {
    const p = held.get(id);
    if (!p) return;
    const changed = stateChange(p.state, patch, now);
    if (!changed) return;
    p.state = applyChange(p.state, changed, now);
    p.dirty = true;
    events.emit("printerState", { printerId: id, state: p.state, changed, source });
  }

  async function forgetPins(id: number) {
    await store.printers.setFingerprint(id, null);
    await store.printers.setFtpsFingerprint(id, null);
  }

  async function setup(id: number): Promise<PrinterSetup | undefined> {
    const row = await store.printers.byId(id);
    return row ? { ...row } : undefined;
  }

  return {
    list: (): HeldPrinter[] => [...held.values()],
    get: (id: number): HeldPrinter | undefined => held.get(id),
    exists: (id: number) => held.has(id),
    /** The full row, secrets included: for the LAN connection only. */
    connectionOf: (id: number) => store.printers.byId(id),
    deviceSource(p: HeldPrinter, now = Date.now()): DeviceSource {
      if (p.deviceSeenAt === null) return "never";
      return now - p.deviceSeenAt <= deps.deviceStaleAfter() ? "online" : "stale";
    },
    deviceSeen(id: number, at = Date.now()) {
      const p = held.get(id);
      if (p) p.deviceSeenAt = at;
    },
    /** A camera Pi's structured status. While the LAN connection is up it only adds the device's own fields. */
    applyDeviceStatus(id: number, status: DeviceStatus, now = Date.now()) {
      const p = held.get(id);
      if (!p) return;
      const patch = stateFromDevice(status);
      merge(id, p.lan.state === "connected" ? deviceFieldsOnly(patch) : patch, "device", now);
    },
    /** Printer fields from the printer itself (Bambu LAN). */
    applyLan(id: number, patch: Partial<PrinterState>, now = Date.now()) {
      const p = held.get(id);
      if (p) p.lan.last_message_at = now;
      merge(id, patch, "lan", now);
    },
    /**
     * Forgets what the printer is doing (its gcode state), as held from a snapshot or another instance: the link
     * this instance has just gained says it afresh, and a progress report that comes before that full one must not
     * read as the old state (a stale IDLE would end the print under way). Announces nothing.
     */
    stateUnknown(id: number) {
      const p = held.get(id);
      if (p) p.state = { ...p.state, gcode_state: null };
    },
    setLanHealth(id: number, change: Partial<LanHealth>) {
      const p = held.get(id);
      if (!p) return;
      const next = { ...p.lan, ...change };
      if (change.state && change.state !== p.lan.state) next.since = Date.now();
      p.lan = next;
      events.emit("printerHealth", { printerId: id, lan: next });
    },

    async create(raw: Record<string, unknown>): Promise<SetupResult & { id?: number }> {
      const parsed = parsePrinterSetup(raw);
      if (!parsed.ok) return parsed;
      if (await store.printers.byName(parsed.value.name))
        return { ok: false, errors: { name: { key: "printerNameTaken", vars: { name: parsed.value.name } } } };
      const id = await store.printers.insert(parsed.value);
      await reload(id);
      log.info("printer added", { printer: id, name: parsed.value.name });
      events.emit("printersChanged", { printerId: id });
      return { ...parsed, id };
    },
    async update(id: number, raw: Record<string, unknown>): Promise<SetupResult | null> {
      const base = await setup(id);
      if (!base) return null;
      const parsed = parsePrinterSetup(raw, base);
      if (!parsed.ok) return parsed;
      const other = await store.printers.byName(parsed.value.name);
      if (other && other.id !== id)
        return { ok: false, errors: { name: { key: "printerNameTaken", vars: { name: parsed.value.name } } } };
      await store.printers.update(id, parsed.value);
      // A new address or code is a new printer as far as trust goes: pin its certificates afresh.
      if (parsed.value.host !== base.host || parsed.value.serial !== base.serial) await forgetPins(id);
      await reload(id);
      log.info("printer changed", { printer: id, name: parsed.value.name });
      events.emit("printersChanged", { printerId: id });
      return parsed;
    },
    /** What deleting a printer removes, for the confirmation. */
    dataOf: async (id: number) => (held.has(id) ? store.printers.data(id) : null),
    async remove(id: number): Promise<boolean> {
      if (!held.has(id)) return false;
      const name = held.get(id)!.info.name;
      await store.printers.delete(id);
      held.delete(id);
      log.info("printer removed", { printer: id, name });
      events.emit("printersChanged", { printerId: id, removed: true });
      return true;
    },
    /**
     * Takes up another instance's change to a printer (before the event is re-emitted here): its row again, or
     * its removal.
     */
    async refresh(id: number, removed = false) {
      if (removed) held.delete(id);
      else await reload(id);
    },
    /** Every setup row again (added, changed, removed elsewhere), after Redis was down. */
    async refreshAll() {
      const rows = await store.printers.list();
      const ids = new Set(rows.map((r) => r.id));
      for (const id of held.keys()) if (!ids.has(id)) held.delete(id);
      for (const row of rows) load(row);
    },
    /** Room limits for notifications; null clears one. */
    async setLimits(id: number, limits: Parameters<AsyncStore["printers"]["setLimits"]>[1]) {
      await store.printers.setLimits(id, limits);
      await reload(id);
      events.emit("printerLimits", { printerId: id });
    },
    limits(id: number) {
      const i = held.get(id)?.info;
      return {
        temp_high: i?.temp_high ?? null,
        temp_low: i?.temp_low ?? null,
        hum_high: i?.hum_high ?? null,
        hum_low: i?.hum_low ?? null,
      };
    },
    async pin(id: number, fingerprint: string | null) {
      await store.printers.setFingerprint(id, fingerprint);
      await reload(id);
    },
    /** The FTPS certificate learned on a first send (when it is not the MQTT one). */
    async pinFtps(id: number, fingerprint: string) {
      await store.printers.setFtpsFingerprint(id, fingerprint);
      await reload(id);
    },
    /** Forgets both pinned certificates (re-pin): the next connections trust what they see. */
    async forgetPins(id: number) {
      await forgetPins(id);
      await reload(id);
    },

    /**
     * Creates or updates the config's printers by name. On a database whose printer 1 is still the
     * unnamed default, the first configured printer takes it over (with the data it already holds).
     */
    async syncConfig(entries: PrinterSetup[]) {
      for (const [i, entry] of entries.entries()) {
        const existing = await store.printers.byName(entry.name);
        if (existing) {
          await store.printers.update(existing.id, {
            ...entry,
            access_code: entry.access_code || existing.access_code,
          });
          await store.printers.markFromConfig(existing.id);
          await reload(existing.id);
          continue;
        }
        const first = await store.printers.byId(1);
        const claimDefault =
          i === 0 &&
          first &&
          !first.from_config &&
          first.name === "Printer" &&
          !entries.some((e) => e.name === "Printer");
        if (claimDefault) {
          await store.printers.update(1, entry);
          await store.printers.markFromConfig(1);
          await reload(1);
          continue;
        }
        let id: number;
        try {
          id = await store.printers.insert(entry, true);
        } catch (err) {
          // Another instance starting at the same moment added it first: one row, which this one takes up.
          const raced = await store.printers.byName(entry.name);
          if (!raced) throw err;
          id = raced.id;
        }
        await reload(id);
      }
    },
    async stop() {
      clearInterval(timer);
      await snapshotAll();
    },
  };
}

export type PrinterService = Awaited<ReturnType<typeof createPrinterService>>;
