// Owns password hashing: bcrypt for new hashes, and checking the old server's Werkzeug hashes.

import { pbkdf2Sync, scryptSync, timingSafeEqual } from "node:crypto";
import { hash as bcryptHash, verify as bcryptVerify } from "@node-rs/bcrypt";
import { type Message, msg } from "../i18n.ts";

export const BCRYPT_COST = 10;
export const MAX_PASSWORD_BYTES = 72;
export const MIN_PASSWORD_LENGTH = 8;

/** Why a new password is unacceptable, or null. bcrypt silently truncates past 72 bytes, so we refuse. */
export function passwordProblem(password: string): Message | null {
  if (password.length < MIN_PASSWORD_LENGTH) return msg("passwordTooShort", { n: MIN_PASSWORD_LENGTH });
  if (new TextEncoder().encode(password).length > MAX_PASSWORD_BYTES)
    return msg("passwordTooLong", { n: MAX_PASSWORD_BYTES });
  return null;
}

export function hashPassword(password: string): Promise<string> {
  return bcryptHash(password, BCRYPT_COST);
}

function equalHex(a: Buffer, hex: string): boolean {
  const b = Buffer.from(hex, "hex");
  return b.length === a.length && b.length > 0 && timingSafeEqual(a, b);
}

/** Werkzeug's generate_password_hash formats: pbkdf2:sha256:ITER$salt$hex and scrypt:N:r:p$salt$hex. */
function verifyWerkzeug(password: string, stored: string): boolean {
  const [method, salt, hex] = stored.split("$");
  if (!method || salt === undefined || !hex) return false;
  const parts = method.split(":");
  if (parts[0] === "pbkdf2") {
    const digest = parts[1] ?? "sha256";
    const iterations = Number(parts[2] ?? 600000);
    if (!["sha256", "sha512", "sha1"].includes(digest) || !Number.isInteger(iterations) || iterations < 1) return false;
    const len = Buffer.from(hex, "hex").length;
    return equalHex(pbkdf2Sync(password, salt, iterations, len, digest), hex);
  }
  if (parts[0] === "scrypt") {
    const [N, r, p] = [Number(parts[1] ?? 32768), Number(parts[2] ?? 8), Number(parts[3] ?? 1)];
    if (![N, r, p].every(Number.isInteger)) return false;
    const key = scryptSync(password, salt, Buffer.from(hex, "hex").length, { N, r, p, maxmem: 256 * N * r * p });
    return equalHex(key, hex);
  }
  return false;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (stored.startsWith("$2")) return bcryptVerify(password, stored).catch(() => false);
  try {
    return verifyWerkzeug(password, stored);
  } catch {
    return false;
  }
}

/** True when a stored hash is not our current bcrypt and should be replaced after a good login. */
export function needsRehash(stored: string): boolean {
  return !stored.startsWith("$2");
}
