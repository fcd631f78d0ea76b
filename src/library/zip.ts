// Owns reading a zip archive on disk without loading it: its central directory (zip64 too), each entry's name
// checked for path tricks, and the few entries asked for inflated (fflate) under caps on each and on all of them
// together, so a zip bomb is refused while it inflates rather than after.
import { Inflate } from "fflate";

export type ZipEntry = {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
};
export type ZipLimits = {
  /** Most entries an archive may list. */
  maxEntries: number;
  /** Most bytes one entry read through `read` may inflate to. */
  maxEntryBytes: number;
  /** Most inflated bytes per compressed byte for an entry above 1 MB. */
  maxRatio: number;
  /** Most bytes all the entries read through `read` may inflate to together. */
  maxTotalBytes: number;
};
export const ZIP_LIMITS: ZipLimits = {
  maxEntries: 20_000,
  maxEntryBytes: 32 * 1024 * 1024,
  maxRatio: 1000,
  maxTotalBytes: 64 * 1024 * 1024,
};

/** Why an archive was refused; `kind` picks the HTTP status at the edge. */
export class ZipRefused extends Error {
  constructor(
    readonly kind: "not_zip" | "hostile",
    message: string,
  ) {
    super(message);
  }
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** A name that could reach outside a folder it was extracted to, or that no tool writes. */
export function unsafeName(name: string): string | null {
  if (!name || name.length > 1024) return "an empty or overlong name";
  if (name.includes("\0")) return "a NUL in a name";
  if (name.includes("\\")) return "a backslash in a name";
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) return "an absolute path";
  if (name.split("/").some((part) => part === "..")) return 'a ".." path';
  return null;
}

/** A cap the caller puts on one entry, below the archive's: past it, refused as `kind`. */
export type EntryCap = { bytes: number; kind: ZipRefused["kind"] };

/** An archive open for reading: its entries by name, and `read` for one entry's bytes. */
export type ZipReader = {
  entries: Map<string, ZipEntry>;
  read(name: string, cap?: EntryCap): Promise<Uint8Array | null>;
};

async function bytesAt(file: Blob, start: number, end: number): Promise<DataView> {
  const buf = await file.slice(start, end).arrayBuffer();
  return new DataView(buf);
}

/** Opens `file` (a Bun.file or any Blob): reads the directory, checks every name and that no two entries overlap. */
export async function openZip(file: Blob, limits: ZipLimits = ZIP_LIMITS): Promise<ZipReader> {
  const size = file.size;
  if (size < 22) throw new ZipRefused("not_zip", "not a zip archive (too short)");
  const tailStart = Math.max(0, size - 22 - 65_535);
  const tail = await bytesAt(file, tailStart, size);
  let at = -1;
  for (let i = tail.byteLength - 22; i >= 0; i--)
    if (tail.getUint32(i, true) === EOCD) {
      at = i;
      break;
    }
  if (at < 0) throw new ZipRefused("not_zip", "not a zip archive (no end of central directory)");
  let count = tail.getUint16(at + 10, true);
  let dirSize = tail.getUint32(at + 12, true);
  let dirOffset = tail.getUint32(at + 16, true);
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    // zip64: the locator sits just before the end record and names the zip64 end record.
    if (at < 20 || tail.getUint32(at - 20, true) !== EOCD64_LOCATOR)
      throw new ZipRefused("not_zip", "a damaged zip64 archive (no locator)");
    const recordAt = Number(tail.getBigUint64(at - 20 + 8, true));
    if (recordAt + 56 > size) throw new ZipRefused("not_zip", "a damaged zip64 archive");
    const record = await bytesAt(file, recordAt, recordAt + 56);
    if (record.getUint32(0, true) !== EOCD64) throw new ZipRefused("not_zip", "a damaged zip64 archive");
    count = Number(record.getBigUint64(32, true));
    dirSize = Number(record.getBigUint64(40, true));
    dirOffset = Number(record.getBigUint64(48, true));
  }
  if (count > limits.maxEntries) throw new ZipRefused("hostile", `too many entries (${count})`);
  if (dirOffset + dirSize > size) throw new ZipRefused("not_zip", "a damaged zip archive (directory past the end)");
  const dir = await bytesAt(file, dirOffset, dirOffset + dirSize);
  const entries = new Map<string, ZipEntry>();
  const decoder = new TextDecoder("utf-8", { fatal: false });
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > dir.byteLength || dir.getUint32(p, true) !== CENTRAL)
      throw new ZipRefused("not_zip", "a damaged zip archive (bad directory entry)");
    const method = dir.getUint16(p + 10, true);
    const crc = dir.getUint32(p + 16, true);
    let compressedSize = dir.getUint32(p + 20, true);
    let entrySize = dir.getUint32(p + 24, true);
    const nameLen = dir.getUint16(p + 28, true);
    const extraLen = dir.getUint16(p + 30, true);
    const commentLen = dir.getUint16(p + 32, true);
    let localOffset = dir.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen > dir.byteLength) throw new ZipRefused("not_zip", "a damaged zip archive");
    const name = decoder.decode(new Uint8Array(dir.buffer, dir.byteOffset + p + 46, nameLen));
    // zip64 extra field: the values that are all ones in the fixed part, in this order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = dir.getUint16(e, true);
      const len = dir.getUint16(e + 2, true);
      if (id === 0x0001) {
        let f = e + 4;
        const next = () => {
          const v = f + 8 <= e + 4 + len ? Number(dir.getBigUint64(f, true)) : -1;
          f += 8;
          return v;
        };
        if (entrySize === 0xffffffff) entrySize = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localOffset === 0xffffffff) localOffset = next();
      }
      e += 4 + len;
    }
    const problem = unsafeName(name);
    if (problem) throw new ZipRefused("hostile", `${problem}: ${JSON.stringify(name.slice(0, 80))}`);
    if (entries.has(name)) throw new ZipRefused("hostile", `the name ${JSON.stringify(name)} twice`);
    if (compressedSize < 0 || entrySize < 0 || localOffset < 0 || localOffset + compressedSize > size)
      throw new ZipRefused("hostile", "an entry past the end of the archive");
    entries.set(name, { name, method, crc, compressedSize, size: entrySize, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  // Entries that share bytes (the overlapping-file zip bomb) are refused: each starts after the last one ended.
  const byOffset = [...entries.values()].sort((a, b) => a.localOffset - b.localOffset);
  for (let i = 1; i < byOffset.length; i++) {
    const prior = byOffset[i - 1]!;
    if (byOffset[i]!.localOffset < prior.localOffset + 30 + prior.compressedSize)
      throw new ZipRefused("hostile", "entries that overlap");
  }
  // Counted as each read begins, from the declared sizes (an entry inflating past its own is refused).
  let budget = limits.maxTotalBytes;
  return {
    entries,
    read: (name, cap) =>
      readEntry(file, entries.get(name), limits, cap, (entry) => {
        if (entry.size > budget)
          throw new ZipRefused(
            "hostile",
            `the entries read inflate past ${mb(limits.maxTotalBytes)} in all (at ${entry.name})`,
          );
        budget -= entry.size;
      }),
  };
}

const mb = (bytes: number) => `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;

async function readEntry(
  file: Blob,
  entry: ZipEntry | undefined,
  limits: ZipLimits,
  cap: EntryCap | undefined,
  spend: (entry: ZipEntry) => void,
): Promise<Uint8Array | null> {
  if (!entry) return null;
  const head = await bytesAt(file, entry.localOffset, entry.localOffset + 30);
  if (head.byteLength < 30 || head.getUint32(0, true) !== LOCAL)
    throw new ZipRefused("not_zip", `a damaged zip archive (entry ${entry.name})`);
  const start = entry.localOffset + 30 + head.getUint16(26, true) + head.getUint16(28, true);
  const most = Math.min(limits.maxEntryBytes, entry.size);
  const tooBig = () =>
    new ZipRefused("hostile", `${entry.name} inflates past what it declares or ${limits.maxEntryBytes} bytes`);
  if (entry.size > limits.maxEntryBytes) throw tooBig();
  if (entry.size > 1024 * 1024 && entry.size / Math.max(1, entry.compressedSize) > limits.maxRatio)
    throw new ZipRefused("hostile", `${entry.name} would inflate ${Math.round(entry.size / entry.compressedSize)}×`);
  if (cap && entry.size > cap.bytes)
    throw new ZipRefused(cap.kind, `${entry.name} is too large (${mb(entry.size)}; at most ${mb(cap.bytes)})`);
  spend(entry);
  let out: Uint8Array;
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) throw tooBig();
    out = new Uint8Array(await file.slice(start, start + entry.compressedSize).arrayBuffer());
  } else if (entry.method === 8) {
    out = new Uint8Array(most);
    let filled = 0;
    let over = false;
    const inflate = new Inflate((chunk) => {
      if (filled + chunk.length > most) {
        over = true;
        return;
      }
      out.set(chunk, filled);
      filled += chunk.length;
    });
    // Small pieces when little output is allowed: deflate reaches ~1000×, and a piece's output arrives at once.
    const CHUNK = Math.min(64 * 1024, Math.max(512, Math.ceil(most / 1024)));
    for (let at = 0; at < entry.compressedSize && !over; at += CHUNK) {
      const end = Math.min(entry.compressedSize, at + CHUNK);
      const piece = new Uint8Array(await file.slice(start + at, start + end).arrayBuffer());
      try {
        inflate.push(piece, end === entry.compressedSize);
      } catch {
        throw new ZipRefused("not_zip", `a damaged zip archive (${entry.name} does not inflate)`);
      }
    }
    if (over) throw tooBig();
    if (filled !== entry.size) throw new ZipRefused("not_zip", `a damaged zip archive (${entry.name} is short)`);
  } else throw new ZipRefused("not_zip", `${entry.name} uses a compression method no slicer writes (${entry.method})`);
  if (Bun.hash.crc32(out) >>> 0 !== entry.crc >>> 0)
    throw new ZipRefused("not_zip", `a damaged zip archive (${entry.name} fails its checksum)`);
  return out;
}
