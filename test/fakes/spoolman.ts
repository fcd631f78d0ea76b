// A fake Spoolman server on a real socket, speaking the part of its REST API layerwatch uses (Donkie/Spoolman,
// spoolman/api/v1/spool.py): GET /api/v1/spool (spools not archived), GET /api/v1/spool/{id}, and
// PUT /api/v1/spool/{id}/use with {"use_weight": g} or {"use_length": mm} (not both), answering the spool; 404
// {"message"} for a spool it lacks (one can be deleted and put back, as a user would in Spoolman). It can go down
// (the port closed) and come back on the same port.
export type FakeSpool = {
  id: number;
  filament: {
    id: number;
    name: string;
    material: string;
    color_hex?: string;
    weight?: number;
    vendor?: { id: number; name: string };
  };
  initial_weight?: number;
  used_weight: number;
  remaining_weight?: number;
  archived?: boolean;
};

export class FakeSpoolman {
  server: ReturnType<typeof Bun.serve> | null = null;
  port = 0;
  /** Every use taken, in order. */
  readonly uses: { spool: number; use_weight: number }[] = [];
  /** Answer 503 to everything while set (Spoolman up but failing). */
  failing = false;
  /** Every request answered 404 for a spool it lacks ("PUT /api/v1/spool/12/use"), in order. */
  readonly missing: string[] = [];

  constructor(readonly spools: FakeSpool[]) {}

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  private answer(req: Request): Response | Promise<Response> {
    const json = (body: unknown, status = 200) => Response.json(body, { status });
    if (this.failing) return json({ message: "database is locked" }, 503);
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path === "/api/v1/spool")
      return json(this.spools.filter((s) => !s.archived).map((s) => this.view(s)));
    const m = /^\/api\/v1\/spool\/(\d+)(\/use)?$/.exec(path);
    const spool = m ? this.spools.find((s) => s.id === Number(m[1])) : undefined;
    if (m && !spool) {
      this.missing.push(`${req.method} ${path}`);
      return json({ message: `No spool with ID ${m[1]} found.` }, 404);
    }
    if (m && spool && !m[2] && req.method === "GET") return json(this.view(spool));
    if (m && spool && m[2] && req.method === "PUT")
      return req.json().then((body: { use_weight?: number; use_length?: number }) => {
        if (body.use_weight !== undefined && body.use_length !== undefined)
          return json({ message: "Only specify either use_weight or use_length." }, 400);
        if (typeof body.use_weight !== "number")
          return json({ message: "Either use_weight or use_length must be specified." }, 400);
        spool.used_weight += body.use_weight;
        this.uses.push({ spool: spool.id, use_weight: body.use_weight });
        return json(this.view(spool));
      });
    return json({ detail: "Not Found" }, 404);
  }

  /** Deletes a spool, as a user would in Spoolman's UI; it is given back to put it back with `restore`. */
  remove(id: number): FakeSpool {
    const i = this.spools.findIndex((s) => s.id === id);
    if (i < 0) throw new Error(`the fake Spoolman has no spool ${id}`);
    return this.spools.splice(i, 1)[0]!;
  }

  restore(spool: FakeSpool) {
    this.spools.push(spool);
  }

  private view(s: FakeSpool) {
    const initial = s.initial_weight ?? s.filament.weight;
    return { ...s, ...(initial !== undefined ? { remaining_weight: Math.max(0, initial - s.used_weight) } : {}) };
  }

  start(): this {
    this.server = Bun.serve({ hostname: "127.0.0.1", port: this.port, fetch: (req) => this.answer(req) });
    this.port = this.server.port as number;
    return this;
  }

  /** Down: the port refuses connections until start() again. */
  async stop() {
    await this.server?.stop(true);
    this.server = null;
  }
}

export const startFakeSpoolman = (spools: FakeSpool[]) => new FakeSpoolman(spools).start();
