// Owns logging in and server-side sessions: random tokens whose SHA-256 alone is stored, sliding expiry.
import { createHash, randomBytes } from "node:crypto";
import type { EventBus } from "../events.ts";
import type { Logger } from "../log.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { UserRow } from "../store/store.ts";
import { hashPassword, needsRehash, verifyPassword } from "./passwords.ts";

const DAY = 24 * 60 * 60 * 1000;
export const REMEMBER_TTL_MS = 30 * DAY;
/** A browser-session cookie still needs a server-side end, in case the browser never closes. */
export const SESSION_TTL_MS = 1 * DAY;
/** Refresh last_seen at most this often, so page loads do not each write to the SD card. */
const TOUCH_EVERY_MS = 60 * 1000;

/** `renewed`: this request moved the expiry on, so a remembered cookie should be sent again too. */
export type Session = {
  user: UserRow;
  tokenHash: string;
  persistent: boolean;
  expiresAt: number;
  renewed: boolean;
  /** Presented as a personal API token (Authorization: Bearer), not a cookie. */
  bearer?: boolean;
};

export const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");

export function createAuthService(deps: { store: AsyncStore; events: EventBus; log: Logger }) {
  const { store, log } = deps;
  // Verifying against a real hash when the user does not exist keeps response time from revealing names.
  const dummyHash = hashPassword(randomBytes(16).toString("hex"));

  async function checkCredentials(username: string, password: string): Promise<UserRow | null> {
    const user = await store.users.byName(username);
    if (!user) {
      await verifyPassword(password, await dummyHash);
      return null;
    }
    if (!(await verifyPassword(password, user.password_hash))) return null;
    if (needsRehash(user.password_hash)) {
      await store.users.setPasswordHash(user.id, await hashPassword(password));
      log.info("re-hashed an old password to bcrypt", { user: user.username });
    }
    return user;
  }

  async function startSession(userId: number, persistent: boolean): Promise<{ token: string; expiresAt: number }> {
    const token = randomBytes(32).toString("base64url");
    const now = Date.now();
    const expiresAt = now + (persistent ? REMEMBER_TTL_MS : SESSION_TTL_MS);
    await store.sessions.insert({
      token_hash: hashToken(token),
      user_id: userId,
      created_at: now,
      expires_at: expiresAt,
      persistent: persistent ? 1 : 0,
      last_seen_at: now,
    });
    return { token, expiresAt };
  }

  async function resolveSession(token: string | undefined): Promise<Session | null> {
    if (!token || token.length > 128) return null;
    const tokenHash = hashToken(token);
    const row = await store.sessions.byHash(tokenHash);
    if (!row) return null;
    const now = Date.now();
    if (row.expires_at <= now) {
      await store.sessions.delete(tokenHash);
      return null;
    }
    const user = await store.users.byId(row.user_id);
    if (!user) return null;
    let expiresAt = row.expires_at;
    const renewed = now - row.last_seen_at > TOUCH_EVERY_MS;
    if (renewed) {
      expiresAt = now + (row.persistent ? REMEMBER_TTL_MS : SESSION_TTL_MS);
      await store.sessions.touch(tokenHash, now, expiresAt);
    }
    return { user, tokenHash, persistent: row.persistent === 1, expiresAt, renewed };
  }

  return {
    checkCredentials,
    startSession,
    resolveSession,
    async endSession(token: string | undefined): Promise<void> {
      if (!token) return;
      const tokenHash = hashToken(token);
      await store.sessions.delete(tokenHash);
      deps.events.emit("sessionEnded", { tokenHash });
    },
    pruneExpired: () => store.sessions.deleteExpired(Date.now()),
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
