// Owns the disk-use summary Settings shows: the print archive and the timelapse videos against their budgets.
import type { JobService } from "./jobs.ts";
import type { TimelapseService } from "./timelapses.ts";

/** Bytes used and each budget (0 = no limit). */
export type StorageUsage = { archive: number; archiveQuota: number; media: number; mediaQuota: number };

export function createStorageSummary(deps: {
  jobs: Pick<JobService, "archiveUsage">;
  timelapses: Pick<TimelapseService, "usage">;
}): () => Promise<StorageUsage> {
  return async () => {
    const archive = deps.jobs.archiveUsage();
    const media = await deps.timelapses.usage();
    return { archive: archive.bytes, archiveQuota: archive.quota, media: media.done, mediaQuota: media.quota };
  };
}
