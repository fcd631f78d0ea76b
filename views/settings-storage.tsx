/** @jsxImportSource @kitajs/html */
// Owns Settings' storage section: the print archive (in the database) and timelapse videos (in media_dir)
// against their budgets.
import type { ViewContext } from "./context.ts";

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** Disk use of the print archive (in the database) and of timelapse videos (in media_dir). */
export function StorageSection(props: {
  ctx: ViewContext;
  storage: { archive: number; archiveQuota: number; media: number; mediaQuota: number };
}) {
  const { t } = props.ctx;
  const s = props.storage;
  const line = (used: number, quota: number) => (quota ? `${mib(used)} / ${mib(quota)}` : mib(used));
  return (
    <section id="storage" class="card" aria-labelledby="h-storage">
      <h2 id="h-storage">{t.storage}</h2>
      <dl class="facts">
        <div>
          <dt>{t.printArchive}</dt>
          <dd>{line(s.archive, s.archiveQuota)}</dd>
        </div>
        <div>
          <dt>{t.timelapseVideos}</dt>
          <dd>{line(s.media, s.mediaQuota)}</dd>
        </div>
      </dl>
      <p class="muted">{t.storageHelp}</p>
    </section>
  );
}
