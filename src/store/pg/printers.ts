// Owns the printers table on PostgreSQL: the same methods and results as ../printers.ts (names in any case).
import type { Promisified } from "../async-store.ts";
import type { PrinterData, PrinterRow, PrinterSetup, printerStatements } from "../printers.ts";
import { atomic, one, type Pg, rows } from "./run.ts";

export function pgPrinterStatements(pg: Pg): Promisified<ReturnType<typeof printerStatements>> {
  const { sql } = pg;
  return {
    list: () => rows<PrinterRow>(sql`SELECT * FROM printers ORDER BY id`),
    byId: (id: number) => one<PrinterRow>(sql`SELECT * FROM printers WHERE id = ${id}`),
    byName: (name: string) => one<PrinterRow>(sql`SELECT * FROM printers WHERE name = ${name}`),
    insert: async (p: PrinterSetup, fromConfig = false) =>
      (await one<{ id: number }>(sql`INSERT INTO printers
        (name, model, host, serial, access_code, mqtt_port, camera, camera_port, ftps_port, rtsp_port, tls,
         from_config, created_at)
        VALUES (${p.name}, ${p.model}, ${p.host}, ${p.serial}, ${p.access_code}, ${p.mqtt_port}, ${p.camera},
          ${p.camera_port}, ${p.ftps_port}, ${p.rtsp_port}, ${p.tls}, ${fromConfig ? 1 : 0}, ${Date.now()})
        RETURNING id`))!.id,
    update: async (id: number, p: PrinterSetup) => {
      await sql`UPDATE printers SET name = ${p.name}, model = ${p.model}, host = ${p.host}, serial = ${p.serial},
        access_code = ${p.access_code}, mqtt_port = ${p.mqtt_port}, camera = ${p.camera},
        camera_port = ${p.camera_port}, ftps_port = ${p.ftps_port}, rtsp_port = ${p.rtsp_port}, tls = ${p.tls}
        WHERE id = ${id}`;
    },
    markFromConfig: async (id: number) => {
      await sql`UPDATE printers SET from_config = 1 WHERE id = ${id}`;
    },
    setLimits: async (
      id: number,
      l: { temp_high: number | null; temp_low: number | null; hum_high: number | null; hum_low: number | null },
    ) => {
      await sql`UPDATE printers SET temp_high = ${l.temp_high}::float8, temp_low = ${l.temp_low}::float8,
        hum_high = ${l.hum_high}::float8, hum_low = ${l.hum_low}::float8 WHERE id = ${id}`;
    },
    saveState: async (id: number, stateJson: string) => {
      await sql`UPDATE printers SET state_json = ${stateJson} WHERE id = ${id}`;
    },
    /** Many printers' state snapshots in one transaction (one commit, not one per printer). */
    saveStates: (snapshots: [id: number, stateJson: string][]) =>
      atomic(pg, async (tx) => {
        await Promise.all(
          snapshots.map(([id, json]) => tx.sql`UPDATE printers SET state_json = ${json} WHERE id = ${id}`),
        );
      }),
    setFingerprint: async (id: number, fingerprint: string | null) => {
      await sql`UPDATE printers SET tls_fingerprint = ${fingerprint}::text WHERE id = ${id}`;
    },
    setFtpsFingerprint: async (id: number, fingerprint: string | null) => {
      await sql`UPDATE printers SET ftps_fingerprint = ${fingerprint}::text WHERE id = ${id}`;
    },
    data: async (id: number) =>
      (await one<PrinterData>(sql`SELECT
        (SELECT count(*) FROM readings WHERE printer_id = ${id}) AS readings,
        (SELECT count(*) FROM frames WHERE printer_id = ${id}) AS frames,
        (SELECT count(*) FROM statuses WHERE printer_id = ${id}) AS statuses,
        (SELECT count(*) FROM device_tokens t JOIN devices d ON d.id = t.device_id
          WHERE d.printer_id = ${id} AND t.revoked_at IS NULL) AS tokens`))!,
    deleteRow: async (id: number) => {
      await sql`DELETE FROM printers WHERE id = ${id}`;
    },
  };
}
