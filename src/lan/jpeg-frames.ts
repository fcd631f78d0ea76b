// Owns splitting a byte stream of back-to-back JPEG images (ffmpeg's image2pipe) into single frames. It walks the
// marker segments by their lengths and scans only the compressed data for the end marker, so an FF D9 inside a
// header (a quantisation table, a comment) does not cut a frame short.

const SOI = Buffer.from([0xff, 0xd8]);
/** A frame larger than this is not a camera frame: dropped, and the stream is read from its next start. */
export const MAX_JPEG_BYTES = 8 * 1024 * 1024;

const NEED_MORE = -1;
const MALFORMED = -2;

/** Feeds chunks in, calls `onFrame` with each whole JPEG (a copy, safe to keep). */
export function jpegFrames(onFrame: (jpeg: Buffer) => void, maxBytes = MAX_JPEG_BYTES) {
  let buf: Buffer = Buffer.alloc(0);
  /** Where reading stopped in `buf`; `buf` starts at a frame's SOI while `synced`. */
  let pos = 0;
  /** Inside entropy-coded data, where only FF followed by a marker byte ends it. */
  let inScan = false;
  let synced = false;
  let dropped = 0;

  function frameEnd(): number {
    for (;;) {
      if (pos >= buf.length) return NEED_MORE;
      if (inScan) {
        let i = buf.indexOf(0xff, pos);
        for (;;) {
          if (i < 0) {
            pos = buf.length;
            return NEED_MORE;
          }
          if (i + 1 >= buf.length) {
            pos = i;
            return NEED_MORE;
          }
          const b = buf[i + 1]!;
          // FF 00 is a stuffed FF, FF D0..D7 a restart marker, FF FF a fill byte: all still the scan.
          if (b === 0x00 || (b >= 0xd0 && b <= 0xd7)) i = buf.indexOf(0xff, i + 2);
          else if (b === 0xff) i++;
          else break;
        }
        pos = i;
        inScan = false;
      }
      if (pos + 2 > buf.length) return NEED_MORE;
      if (buf[pos] !== 0xff) return MALFORMED;
      const marker = buf[pos + 1]!;
      if (marker === 0xff) {
        pos++;
        continue;
      }
      if (marker === 0xd9) return pos + 2;
      if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        pos += 2;
        continue;
      }
      if (pos + 4 > buf.length) return NEED_MORE;
      const length = buf.readUInt16BE(pos + 2);
      if (length < 2) return MALFORMED;
      pos += 2 + length;
      if (marker === 0xda) inScan = true;
    }
  }

  return {
    push(chunk: Buffer) {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        if (!synced) {
          const start = buf.indexOf(SOI);
          if (start < 0) {
            // Keep a last FF: it may be the first half of the next SOI.
            buf = buf[buf.length - 1] === 0xff ? buf.subarray(buf.length - 1) : Buffer.alloc(0);
            return;
          }
          buf = buf.subarray(start);
          pos = 2;
          inScan = false;
          synced = true;
        }
        const end = frameEnd();
        if (end === NEED_MORE) {
          if (buf.length > maxBytes) {
            dropped++;
            synced = false;
            buf = buf.subarray(2);
          }
          return;
        }
        if (end === MALFORMED) {
          dropped++;
          synced = false;
          buf = buf.subarray(2);
          continue;
        }
        onFrame(Buffer.from(buf.subarray(0, end)));
        buf = buf.subarray(end);
        synced = false;
      }
    },
    /** Frames thrown away (too large, or not well formed). */
    dropped: () => dropped,
  };
}
