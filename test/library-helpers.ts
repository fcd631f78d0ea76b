// Library test helpers: upload a fixture (test/fixtures/library, made by make-3mf.ts) as the page does.
import { join } from "node:path";

export const LIBRARY_FIXTURES = join(import.meta.dir, "fixtures/library");

/** Posts a file to /api/library as multipart (a field before it, as forms often have), with the CSRF header. */
export async function upload(
  app: { url: string },
  cookie: string,
  csrf: string,
  name: string,
  bytes?: Uint8Array<ArrayBuffer>,
): Promise<Response> {
  const form = new FormData();
  form.append("note", "a field before the file");
  form.append("file", new Blob([bytes ?? (await Bun.file(join(LIBRARY_FIXTURES, name)).bytes())]), name);
  return fetch(`${app.url}/api/library`, { method: "POST", headers: { cookie, "x-csrf-token": csrf }, body: form });
}
