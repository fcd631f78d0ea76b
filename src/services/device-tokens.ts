// Owns device tokens: named, shown once, stored hashed, revocable; a token is a device, never a user.
import { randomBytes } from "node:crypto";
import type { EventBus } from "../events.ts";
import { type Message, msg } from "../i18n.ts";
import type { Logger } from "../log.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { DeviceTokenRow } from "../store/store.ts";
import { hashToken } from "./auth.ts";

const TOKEN_PREFIX = "lwd_";
const TOUCH_EVERY_MS = 60 * 1000;
export const MAX_TOKEN_NAME = 64;

export function createDeviceTokenService(deps: { store: AsyncStore; events: EventBus; log: Logger }) {
  const { store, events, log } = deps;
  return {
    /** The device row a printer's cookie (form login) devices report as. */
    loginDevice: (printerId: number) => store.devices.loginDevice(printerId),
    list: (printerId?: number): Promise<DeviceTokenRow[]> => store.deviceTokens.list(printerId),

    async create(
      printerId: number,
      rawName: string,
    ): Promise<{ ok: true; token: string; id: number } | { ok: false; error: Message }> {
      const name = rawName.trim();
      if (!name || name.length > MAX_TOKEN_NAME)
        return { ok: false, error: msg("tokenNameRule", { n: MAX_TOKEN_NAME }) };
      const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
      const id = await store.deviceTokens.insert(printerId, name, hashToken(token));
      log.info("device token created", { name, printer: printerId });
      return { ok: true, token, id };
    },

    /** The live token row for a presented token, or null; notes when it was last used. */
    async resolve(token: unknown): Promise<DeviceTokenRow | null> {
      if (typeof token !== "string" || !token.startsWith(TOKEN_PREFIX) || token.length > 128) return null;
      const row = await store.deviceTokens.byHash(hashToken(token));
      if (!row) return null;
      const now = Date.now();
      if (!row.last_used_at || now - row.last_used_at > TOUCH_EVERY_MS) await store.deviceTokens.touch(row.id, now);
      return row;
    },

    async revoke(id: number): Promise<boolean> {
      const done = await store.deviceTokens.revoke(id);
      if (done) {
        events.emit("tokenRevoked", { tokenId: id });
        log.info("device token revoked", { id });
      }
      return done;
    },
  };
}

export type DeviceTokenService = ReturnType<typeof createDeviceTokenService>;
