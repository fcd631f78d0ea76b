// Owns user accounts and their rules: the seeded admin, never deleting yourself or the last admin.
import type { EventBus } from "../events.ts";
import { type Message, msg } from "../i18n.ts";
import type { Logger } from "../log.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { Role, UserRow } from "../store/store.ts";
import { hashPassword, passwordProblem, verifyPassword } from "./passwords.ts";

export type Result<T = void> = { ok: true; value: T } | { ok: false; error: Message };
const fail = (error: Message): Result<never> => ({ ok: false, error });

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
export const ROLES = ["viewer", "operator", "admin"] as const satisfies readonly Role[];
/** Whether a user of `role` may do what `needs` may: each role can do all that the ones below it can. */
export const roleAtLeast = (role: Role | undefined, needs: Role) => !!role && RANK[role] >= RANK[needs];
/** A role named in a form or on the command line, or null when it names none. */
export const roleNamed = (text: unknown): Role | null =>
  typeof text === "string" && (ROLES as readonly string[]).includes(text) ? (text as Role) : null;

export const USERNAME_RE = /^[\p{L}\p{N}._@-]{1,64}$/u;

export function createUserService(deps: { store: AsyncStore; events: EventBus; log: Logger }) {
  const { store, events, log } = deps;

  return {
    list: (): Promise<UserRow[]> => store.users.list(),

    /** Creates the config's admin on first start; an existing user of that name is left alone. */
    async ensureAdmin(username: string, password: string): Promise<void> {
      if (await store.users.byName(username)) return;
      const hash = await hashPassword(password);
      try {
        await store.users.insert(username, hash, "admin");
      } catch (err) {
        // Another instance starting at the same moment created it first: one row, as wanted.
        if (await store.users.byName(username)) return;
        throw err;
      }
      log.info("created the admin user from the config", { user: username });
    },

    async add(input: { username: string; password: string; role: Role }): Promise<Result<number>> {
      const username = input.username.trim();
      if (!USERNAME_RE.test(username)) return fail(msg("usernameRule"));
      const problem = passwordProblem(input.password);
      if (problem) return fail(problem);
      if (await store.users.byName(username)) return fail(msg("userExists", { name: username }));
      const id = await store.users.insert(username, await hashPassword(input.password), input.role);
      log.info("user added", { user: username, role: input.role });
      return { ok: true, value: id };
    },

    async delete(actor: UserRow, targetId: number): Promise<Result> {
      const target = await store.users.byId(targetId);
      if (!target) return fail(msg("noSuchUser"));
      if (target.id === actor.id) return fail(msg("cannotDeleteSelf"));
      if (target.role === "admin" && (await store.users.countAdmins()) <= 1) return fail(msg("cannotDeleteLastAdmin"));
      await store.users.delete(target.id);
      events.emit("sessionsRevoked", { userId: target.id });
      log.info("user deleted", { user: target.username, by: actor.username });
      return { ok: true, value: undefined };
    },

    /**
     * Changes a password (the current one is required) and ends the user's other sessions; with `revokeApiTokens`
     * their personal API tokens stop working too. The value is how many tokens were revoked.
     */
    async changePassword(
      user: UserRow,
      current: string,
      next: string,
      keepTokenHash: string,
      opts: { revokeApiTokens: boolean },
    ): Promise<Result<number>> {
      if (!(await verifyPassword(current, user.password_hash))) return fail(msg("wrongCurrentPassword"));
      const problem = passwordProblem(next);
      if (problem) return fail(problem);
      await store.users.setPasswordHash(user.id, await hashPassword(next));
      await store.sessions.deleteForUser(user.id, keepTokenHash);
      const revoked = opts.revokeApiTokens ? await store.apiTokens.revokeAllOfUser(user.id, Date.now()) : 0;
      events.emit("sessionsRevoked", { userId: user.id, exceptTokenHash: keepTokenHash });
      log.info("password changed", { user: user.username, api_tokens_revoked: revoked });
      return { ok: true, value: revoked };
    },

    /**
     * An admin sets another user's password: whoever may have learnt the old one is shut out, so every session
     * of that user ends and every personal API token of theirs is revoked. The value is how many tokens were.
     */
    async resetPassword(
      actor: UserRow,
      targetId: number,
      next: string,
    ): Promise<Result<{ user: UserRow; revoked: number }>> {
      const target = await store.users.byId(targetId);
      if (!target) return fail(msg("noSuchUser"));
      if (target.id === actor.id) return fail(msg("resetOwnPassword"));
      const problem = passwordProblem(next);
      if (problem) return fail(problem);
      await store.users.setPasswordHash(target.id, await hashPassword(next));
      await store.sessions.deleteForUser(target.id);
      const revoked = await store.apiTokens.revokeAllOfUser(target.id, Date.now());
      events.emit("sessionsRevoked", { userId: target.id });
      log.info("password reset by an admin", {
        user: target.username,
        by: actor.username,
        api_tokens_revoked: revoked,
      });
      return { ok: true, value: { user: target, revoked } };
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
