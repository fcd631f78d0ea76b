// Owns the capture_intervals table: the one row of intervals devices are told to use.
import type { Database } from "bun:sqlite";

export type Intervals = { image_delay: number; temphum_delay: number; status_delay: number };

export function intervalStatements(db: Database) {
  const q = {
    get: db.query<Intervals, []>("SELECT image_delay, temphum_delay, status_delay FROM capture_intervals WHERE id = 1"),
    set: db.query<never, [number, number, number, number]>(
      "UPDATE capture_intervals SET image_delay = ?, temphum_delay = ?, status_delay = ?, updated_at = ? WHERE id = 1",
    ),
  };
  return {
    get: () => q.get.get()!,
    set: (i: Intervals) => void q.set.run(i.image_delay, i.temphum_delay, i.status_delay, Date.now()),
  };
}
