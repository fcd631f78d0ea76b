// Migration 19 on PostgreSQL: as 019-printer-ftps-pin-and-rtsp-port.ts.
import type { PgMigration } from "../pg-migrate.ts";

export const printerFtpsPinAndRtspPort: PgMigration = async (tx) => {
  await tx.unsafe("ALTER TABLE printers ADD COLUMN ftps_fingerprint text");
  await tx.unsafe("ALTER TABLE printers ADD COLUMN rtsp_port bigint NOT NULL DEFAULT 322");
};
