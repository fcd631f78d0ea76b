// Owns `layerwatch init`: a fresh config.json with a random secret and admin password, never overwriting.
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import embeddedConfig from "../config.json" with { type: "json" };

export function writeInitialConfig(path: string): { ok: true; password: string } | { ok: false; error: string } {
  if (existsSync(path))
    return { ok: false, error: `${path} already exists; not overwriting it (delete it first to start over)` };
  const password = randomBytes(12).toString("base64url");
  const config = { ...embeddedConfig, web_password: password, secret_key: randomBytes(32).toString("hex") };
  try {
    // Mode 600: the file holds the secret key and the first admin password.
    writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    return { ok: false, error: `cannot write ${path}: ${(err as Error).message}` };
  }
  return { ok: true, password };
}
