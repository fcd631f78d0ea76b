// Owns the backup worker thread: one `VACUUM INTO` copy of the SQLite file (backup.ts) off the server's event loop.
// Its own entry point, so the compiled binary carries it (deploy/build.ts lists it).
import { type BackupResult, backupSqliteFile } from "./backup.ts";

declare const self: Worker;

self.onmessage = (e: MessageEvent<{ from: string; to: string }>) => {
  let answer: { ok: true; result: BackupResult } | { ok: false; error: string };
  try {
    answer = { ok: true, result: backupSqliteFile(e.data.from, e.data.to) };
  } catch (err) {
    answer = { ok: false, error: (err as Error).message };
  }
  postMessage(answer);
};
