// Owns personal API tokens: a user makes and revokes their own, shown once and stored hashed; a token acts as
// its user, with its user's role as it is now.
import { randomBytes } from "node:crypto";
import { type Message, msg } from "../i18n.ts";
import type { Logger } from "../log.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { ApiTokenRow, UserRow } from "../store/store.ts";
import { hashToken } from "./auth.ts";
import { MAX_TOKEN_NAME } from "./device-tokens.ts";

/** Tells a personal token from a device token (lwd_) and a session token at a glance. */
export const API_TOKEN_PREFIX = "lwu_";
const TOUCH_EVERY_MS = 60 * 1000;

export function createApiTokenService(deps: { store: AsyncStore; log: Logger }) {
  const { store, log } = deps;
  return {
    ofUser: (userId: number): Promise<ApiTokenRow[]> => store.apiTokens.ofUser(userId),

    async create(
      user: UserRow,
      rawName: string,
    ): Promise<{ ok: true; token: string; id: number } | { ok: false; error: Message }> {
      const name = rawName.trim();
      if (!name || name.length > MAX_TOKEN_NAME)
        return { ok: false, error: msg("tokenNameRule", { n: MAX_TOKEN_NAME }) };
      const token = API_TOKEN_PREFIX + randomBytes(32).toString("base64url");
      const id = await store.apiTokens.insert(user.id, name, hashToken(token), Date.now());
      log.info("API token created", { name, user: user.username });
      return { ok: true, token, id };
    },

    /** The user a presented token acts as, or null (unknown, revoked, or its user gone); notes its last use. */
    async resolve(token: string): Promise<{ user: UserRow; tokenHash: string } | null> {
      if (!token.startsWith(API_TOKEN_PREFIX) || token.length > 128) return null;
      const tokenHash = hashToken(token);
      const found = await store.apiTokens.byHash(tokenHash);
      if (!found) return null;
      const now = Date.now();
      const last = found.token.last_used_at;
      if (!last || now - last > TOUCH_EVERY_MS) await store.apiTokens.touch(found.token.id, now);
      return { user: found.user, tokenHash };
    },

    /** Revokes one of the user's own tokens; false when it is not theirs or already revoked. */
    async revoke(user: UserRow, id: number): Promise<boolean> {
      const done = await store.apiTokens.revoke(id, user.id, Date.now());
      if (done) log.info("API token revoked", { id, user: user.username });
      return done;
    },
  };
}

export type ApiTokenService = ReturnType<typeof createApiTokenService>;
