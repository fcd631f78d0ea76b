// Owns share links: a read-only link to one print (or one printer's live view) for someone without an account. The token is shown once (in the
// link) and stored hashed; a link expires, can be revoked, and each open is counted and logged. Guessing is
// throttled per client address: failed tokens count like failed logins (this process's count).
import { randomBytes } from "node:crypto";
import type { Logger } from "../log.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { ShareRow } from "../store/store.ts";
import { hashToken } from "./auth.ts";
import { createLoginLimiter } from "./login-limiter.ts";

const TOKEN_PREFIX = "lws_";
export const SHARE_MIN_S = 60;
export const SHARE_MAX_S = 90 * 24 * 3600;
export const SHARE_DEFAULT_S = 7 * 24 * 3600;
/** How many ended (revoked or expired) links the list keeps as history; live ones are all listed. */
export const ENDED_LISTED = 200;

export type ShareRefusal = "unknown" | "expired" | "revoked" | "rate_limited";
export type ShareLookup = { ok: true; share: ShareRow } | { ok: false; reason: ShareRefusal; retryAfter?: number };

export function createShareService(deps: { store: AsyncStore; log: Logger; now?: () => number }) {
  const { store, log } = deps;
  const now = deps.now ?? Date.now;
  const guesses = createLoginLimiter(now);
  const key = (address: string) => `share:${address}`;

  /** The link's token as it is in its URL (`/s/<token>`): a prefix and 32 random bytes. */
  const looksLikeToken = (token: string) => token.startsWith(TOKEN_PREFIX) && token.length <= 64;

  /** The token is only in what this returns: the table keeps its hash. */
  async function make(target: Pick<ShareRow, "job_id" | "printer_id">, expiresInS: number, by: string) {
    const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
    const at = now();
    const expires_at = at + expiresInS * 1000;
    const token_hash = hashToken(token);
    const id = await store.shares.insert({ token_hash, ...target, created_by: by, created_at: at, expires_at });
    log.info("share link created", { share: id, job: target.job_id, printer: target.printer_id, user: by });
    return { id, token, expires_at };
  }

  return {
    /** A new link to a print, live for `expiresInS` seconds; the token is only in what this returns. */
    create: (jobId: number, expiresInS: number, by: string) =>
      make({ job_id: jobId, printer_id: null }, expiresInS, by),
    /** A new link to a printer's live view, as `create`. */
    createForPrinter: (printerId: number, expiresInS: number, by: string) =>
      make({ job_id: null, printer_id: printerId }, expiresInS, by),
    /** Every live link, and the newest ENDED_LISTED ended ones. */
    list: () => store.shares.list(now(), ENDED_LISTED),
    opens: (id: number) => store.shares.opens(id, 20),
    async revoke(id: number, by: string) {
      const done = await store.shares.revoke(id, now());
      if (done) log.info("share link revoked", { share: id, user: by });
      return done;
    },
    /**
     * The live link a token names, for a request from `address`. Unknown, expired and revoked tokens count as
     * guesses; past the limit the address waits (a valid token too, until the wait is over).
     */
    async resolve(token: string, address: string): Promise<ShareLookup> {
      const wait = guesses.retryAfter([key(address)]);
      if (wait > 0) return { ok: false, reason: "rate_limited", retryAfter: wait };
      const share = looksLikeToken(token) ? await store.shares.byHash(hashToken(token)) : null;
      const reason: ShareRefusal | null = !share
        ? "unknown"
        : share.revoked_at !== null
          ? "revoked"
          : share.expires_at <= now()
            ? "expired"
            : null;
      if (!share || reason) {
        guesses.fail([key(address)]);
        return { ok: false, reason: reason ?? "unknown" };
      }
      return { ok: true, share };
    },
    /** Counts and logs one open of the link's page (its frames and video are not opens). */
    async opened(share: ShareRow, address: string) {
      await store.shares.recordOpen(share.id, now(), address);
      log.info("share link opened", { share: share.id, job: share.job_id, printer: share.printer_id });
    },
  };
}

export type ShareService = ReturnType<typeof createShareService>;
