// Owns image format facts: which bytes are a JPEG or PNG we accept, and their MIME type.
export type ImageMime = "image/jpeg" | "image/png";

export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The MIME type of a JPEG or PNG by its magic bytes, or null for anything else. */
export function sniffImage(bytes: Uint8Array): ImageMime | null {
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "image/jpeg";
  if (bytes.length >= 16 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return "image/png";
  return null;
}

const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Decodes base64 (standard or URL-safe, optional data: URL prefix), or null when it is not base64. */
export function decodeBase64Image(text: string): Uint8Array | null {
  const body = (text.startsWith("data:") ? text.slice(text.indexOf(",") + 1) : text).replace(/\s+/g, "");
  if (!body || !BASE64_RE.test(body)) return null;
  return Buffer.from(body, body.includes("-") || body.includes("_") ? "base64url" : "base64");
}
