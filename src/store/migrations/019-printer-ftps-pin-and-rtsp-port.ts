// Migration 19: the printer's FTPS certificate, pinned on first use when it is not the MQTT one (whether a printer
// presents the same certificate on 990 as on 8883 is not known), and the RTSPS camera's port as a printer column
// (until now read from the config file by name, so a printer added in Settings always used 322).
import type { Database } from "bun:sqlite";

export function printerFtpsPinAndRtspPort(db: Database): void {
  db.run("ALTER TABLE printers ADD COLUMN ftps_fingerprint TEXT");
  db.run("ALTER TABLE printers ADD COLUMN rtsp_port INTEGER NOT NULL DEFAULT 322");
}
