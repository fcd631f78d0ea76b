/** @jsxImportSource @kitajs/html */
// Owns Settings' instances section (admins): this instance, its database and Redis with their health, and which
// instance holds each printer's LAN link. It asks for itself again every 5 s (htmx), so an outage shows as it
// happens.
import type { RedisStatus } from "../src/cluster/redis.ts";
import type { DatabaseHealth } from "../src/services/database-health.ts";
import { formatStamp, type ViewContext } from "./context.ts";

export type InstancesView = {
  instance: string;
  database: DatabaseHealth;
  /** null without redis_url. */
  redis: RedisStatus | null;
  /** Printers with a LAN address, each with its holder (null: none holds it now). */
  holders: { id: number; name: string; holder: string | null }[];
};

const ENGINE = { sqlite: "SQLite", postgres: "PostgreSQL" } as const;

export function InstancesSection(props: { ctx: ViewContext; view: InstancesView }) {
  const { ctx, view } = props;
  const { t } = ctx;
  const health = (up: boolean, since: number) =>
    (up ? t.healthUpSince : t.healthDownSince).replace("{time}", formatStamp(since, ctx));
  const redis = view.redis;
  return (
    <section
      id="instances"
      class="card"
      aria-labelledby="h-instances"
      hx-get="/settings/instances"
      hx-trigger="every 5s"
      hx-swap="outerHTML"
    >
      <h2 id="h-instances">{t.instances}</h2>
      <dl class="facts">
        <div>
          <dt>{t.thisInstance}</dt>
          <dd safe>{view.instance}</dd>
        </div>
        <div>
          <dt>{t.database}</dt>
          <dd class={view.database.up ? "" : "error"}>
            {`${ENGINE[view.database.engine]} · ${health(view.database.up, view.database.since)}`}
          </dd>
        </div>
        <div>
          <dt>{t.redis}</dt>
          <dd class={redis && !redis.up ? "error" : ""} safe>
            {redis
              ? `${health(redis.up, redis.since)}${!redis.up && redis.error ? ` (${redis.error})` : ""}`
              : t.redisOff}
          </dd>
        </div>
      </dl>
      {view.holders.length ? (
        <table class="log">
          <thead>
            <tr>
              <th scope="col">{t.printers}</th>
              <th scope="col">{t.heldBy}</th>
            </tr>
          </thead>
          <tbody>
            {view.holders.map((p) => (
              <tr>
                <td safe>{p.name}</td>
                <td safe>
                  {p.holder === null
                    ? t.holderNone
                    : `${p.holder}${p.holder === view.instance ? ` (${t.thisInstance})` : ""}`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        ""
      )}
      <p class="muted">{t.instancesHelp}</p>
    </section>
  );
}
