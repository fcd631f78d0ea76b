// Owns the printers table: what each printer is, how to reach it on the LAN, and its last known state.
import type { Database } from "bun:sqlite";

export type TlsMode = "pin" | "insecure";
export type PrinterRow = {
  id: number;
  name: string;
  model: string;
  host: string;
  serial: string;
  /** A secret: never logged, never sent to a page or the API. */
  access_code: string;
  mqtt_port: number;
  camera: number;
  camera_port: number;
  /** Where the printer takes files: FTPS with implicit TLS (PRINTERS.md §9). */
  ftps_port: number;
  /** The RTSPS camera's port (X1, P2S, H2, X2D). */
  rtsp_port: number;
  tls: TlsMode;
  tls_fingerprint: string | null;
  /** The FTPS certificate, pinned on first use when it is not the MQTT one (`tls_fingerprint`). */
  ftps_fingerprint: string | null;
  from_config: number;
  state_json: string | null;
  created_at: number;
  /** Room limits that raise reading_high / reading_low (null = none). */
  temp_high: number | null;
  temp_low: number | null;
  hum_high: number | null;
  hum_low: number | null;
};
/** What a printer is set up as: everything but its id, state and pinned certificate. */
export type PrinterSetup = Pick<
  PrinterRow,
  | "name"
  | "model"
  | "host"
  | "serial"
  | "access_code"
  | "mqtt_port"
  | "camera"
  | "camera_port"
  | "ftps_port"
  | "rtsp_port"
  | "tls"
>;
export type PrinterData = { readings: number; frames: number; statuses: number; tokens: number };

export function printerStatements(db: Database) {
  const q = {
    list: db.query<PrinterRow, []>("SELECT * FROM printers ORDER BY id"),
    byId: db.query<PrinterRow, [number]>("SELECT * FROM printers WHERE id = ?"),
    byName: db.query<PrinterRow, [string]>("SELECT * FROM printers WHERE name = ?"),
    insert: db.query<
      { id: number },
      [string, string, string, string, string, number, number, number, number, number, string, number, number]
    >(
      `INSERT INTO printers
        (name, model, host, serial, access_code, mqtt_port, camera, camera_port, ftps_port, rtsp_port, tls,
         from_config, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    ),
    update: db.query<
      never,
      [string, string, string, string, string, number, number, number, number, number, string, number]
    >(
      `UPDATE printers SET name = ?, model = ?, host = ?, serial = ?, access_code = ?, mqtt_port = ?, camera = ?,
        camera_port = ?, ftps_port = ?, rtsp_port = ?, tls = ? WHERE id = ?`,
    ),
    markFromConfig: db.query<never, [number]>("UPDATE printers SET from_config = 1 WHERE id = ?"),
    setLimits: db.query<never, [number | null, number | null, number | null, number | null, number]>(
      "UPDATE printers SET temp_high = ?, temp_low = ?, hum_high = ?, hum_low = ? WHERE id = ?",
    ),
    saveState: db.query<never, [string, number]>("UPDATE printers SET state_json = ? WHERE id = ?"),
    setFingerprint: db.query<never, [string | null, number]>("UPDATE printers SET tls_fingerprint = ? WHERE id = ?"),
    setFtpsFingerprint: db.query<never, [string | null, number]>(
      "UPDATE printers SET ftps_fingerprint = ? WHERE id = ?",
    ),
    delete: db.query<never, [number]>("DELETE FROM printers WHERE id = ?"),
    data: db.query<PrinterData, [number]>(`SELECT
        (SELECT count(*) FROM readings WHERE printer_id = ?1) AS readings,
        (SELECT count(*) FROM frames WHERE printer_id = ?1) AS frames,
        (SELECT count(*) FROM statuses WHERE printer_id = ?1) AS statuses,
        (SELECT count(*) FROM device_tokens t JOIN devices d ON d.id = t.device_id
          WHERE d.printer_id = ?1 AND t.revoked_at IS NULL) AS tokens`),
  };
  const args = (p: PrinterSetup) =>
    [
      p.name,
      p.model,
      p.host,
      p.serial,
      p.access_code,
      p.mqtt_port,
      p.camera,
      p.camera_port,
      p.ftps_port,
      p.rtsp_port,
      p.tls,
    ] as const;
  return {
    list: () => q.list.all(),
    byId: (id: number) => q.byId.get(id),
    byName: (name: string) => q.byName.get(name),
    insert: (p: PrinterSetup, fromConfig = false) => q.insert.get(...args(p), fromConfig ? 1 : 0, Date.now())!.id,
    update: (id: number, p: PrinterSetup) => void q.update.run(...args(p), id),
    markFromConfig: (id: number) => void q.markFromConfig.run(id),
    setLimits: (
      id: number,
      l: { temp_high: number | null; temp_low: number | null; hum_high: number | null; hum_low: number | null },
    ) => void q.setLimits.run(l.temp_high, l.temp_low, l.hum_high, l.hum_low, id),
    saveState: (id: number, stateJson: string) => void q.saveState.run(stateJson, id),
    /** Many printers' state snapshots in one transaction (one commit, not one per printer). */
    saveStates: db.transaction((snapshots: [id: number, stateJson: string][]) => {
      for (const [id, json] of snapshots) q.saveState.run(json, id);
    }),
    setFingerprint: (id: number, fingerprint: string | null) => void q.setFingerprint.run(fingerprint, id),
    setFtpsFingerprint: (id: number, fingerprint: string | null) => void q.setFtpsFingerprint.run(fingerprint, id),
    /** How much a printer holds: what deleting it would remove. */
    data: (id: number) => q.data.get(id)!,
    deleteRow: (id: number) => void q.delete.run(id),
  };
}
