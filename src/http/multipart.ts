// Owns reading one file field out of a multipart/form-data body as it streams (RFC 7578), so a large upload goes
// to disk piece by piece instead of into memory as a whole form.

/** The boundary of a multipart/form-data Content-Type, or null. */
export function boundaryOf(contentType: string | null): string | null {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]!) : null;
}

export type FilePart = { filename: string; chunks: AsyncIterable<Uint8Array> };
export class MultipartError extends Error {}

/**
 * The first part named `field` that carries a filename. Parts before it are skipped; its bytes are read only as
 * `chunks` is iterated, and a body that ends before its closing boundary throws MultipartError there.
 */
export async function filePart(body: ReadableStream<Uint8Array>, boundary: string, field: string): Promise<FilePart> {
  const reader = body.getReader();
  let buf: Buffer = Buffer.alloc(0);
  let ended = false;
  async function more(): Promise<boolean> {
    if (ended) return false;
    const r = await reader.read();
    if (r.done) {
      ended = true;
      return false;
    }
    buf = buf.length ? Buffer.concat([buf, r.value]) : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length);
    return true;
  }
  /** Waits until `what` is in the buffer; its index. */
  async function find(what: Buffer, limit: number): Promise<number> {
    for (;;) {
      const at = buf.indexOf(what);
      if (at >= 0) return at;
      if (buf.length > limit) throw new MultipartError("a form field too long");
      if (!(await more())) throw new MultipartError("the body ended inside the form");
    }
  }
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // The first boundary has no CRLF before it.
  const first = await find(Buffer.from(`--${boundary}`), 64 * 1024);
  buf = buf.subarray(first + boundary.length + 2);
  for (let parts = 0; parts < 20; parts++) {
    const headEnd = await find(Buffer.from("\r\n\r\n"), 16 * 1024);
    const head = buf.subarray(0, headEnd).toString("utf8");
    buf = buf.subarray(headEnd + 4);
    const disposition = /^content-disposition:\s*form-data(.*)$/im.exec(head)?.[1] ?? "";
    const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
    const filename = /;\s*filename="([^"]*)"/i.exec(disposition)?.[1];
    if (name === field && filename !== undefined) {
      return {
        filename,
        chunks: (async function* () {
          for (;;) {
            const at = buf.indexOf(delimiter);
            if (at >= 0) {
              if (at > 0) yield buf.subarray(0, at);
              buf = Buffer.alloc(0);
              await reader.cancel().catch(() => {});
              return;
            }
            // Keep what could be the start of the delimiter; hand on the rest.
            const keep = delimiter.length - 1;
            if (buf.length > keep) {
              yield buf.subarray(0, buf.length - keep);
              buf = buf.subarray(buf.length - keep);
            }
            if (!(await more())) throw new MultipartError("the upload ended before the file did");
          }
        })(),
      };
    }
    // Another field: skip to the next part.
    const at = await find(delimiter, 1024 * 1024);
    buf = buf.subarray(at + delimiter.length);
    if (buf.length < 2) await more();
    if (buf.subarray(0, 2).toString() === "--") break;
    buf = buf.subarray(2);
  }
  await reader.cancel().catch(() => {});
  throw new MultipartError(`no file in the form field "${field}"`);
}
