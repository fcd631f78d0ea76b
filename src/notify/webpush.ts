// Owns Web Push without a library: VAPID keys and JWT (RFC 8292), aes128gcm encryption (RFC 8291, 8188), the POST.
import {
  createCipheriv,
  createECDH,
  createHmac,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from "node:crypto";

/** What the browser's `PushSubscription.toJSON()` gives; keys are base64url. */
export type PushSubscription = { endpoint: string; keys: { p256dh: string; auth: string } };
/** publicKey: base64url of the 65-byte uncompressed P-256 point (the browser's `applicationServerKey`);
 *  privateKey: base64url of the 32-byte scalar d (the same format as the `web-push` npm package). */
export type VapidKeys = { publicKey: string; privateKey: string };
export type Urgency = "very-low" | "low" | "normal" | "high";
export type PushOptions = {
  /** Seconds the push service keeps an undelivered message; default 1 day (a stale print alert helps nobody). */
  ttl?: number;
  urgency?: Urgency;
  /** Whole request, default 10 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
};
export type PushResult = { status: number; gone: boolean; error?: string };

/** Largest plaintext in one push: the body (86-byte header + plaintext + 1 delimiter + 16 tag) must fit the
 *  4096 bytes every push service is obliged to accept (RFC 8291 §4). */
export const MAX_PAYLOAD_BYTES = 4096 - 86 - 1 - 16;
const RECORD_SIZE = 4096;
const DEFAULT_TTL = 86_400;
const DEFAULT_TIMEOUT_MS = 10_000;
/** RFC 8292 allows 24 h; 12 h leaves room for a push service whose clock runs ahead. */
const MAX_JWT_LIFETIME = 12 * 3600;

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
// Node's base64url decoder also accepts the standard alphabet and padding, which some clients send.
const unb64u = (text: string) => Buffer.from(text, "base64url");
const utf8 = (text: string) => Buffer.from(text, "utf8");

/** A fresh VAPID keypair (see `VapidKeys` for the formats). */
export function generateVapidKeys(): VapidKeys {
  // JWK export pads d, x and y to 32 bytes; ECDH.getPrivateKey() can drop a leading zero byte.
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = privateKey.export({ format: "jwk" });
  const point = Buffer.concat([Uint8Array.of(4), unb64u(jwk.x!), unb64u(jwk.y!)]);
  return { publicKey: b64u(point), privateKey: jwk.d! };
}

/** HKDF-SHA256 (RFC 5869); every output here is at most 32 bytes, so one expand block suffices. */
function hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, length: number): Buffer {
  const prk = createHmac("sha256", salt).update(ikm).digest();
  return createHmac("sha256", prk).update(info).update(Uint8Array.of(1)).digest().subarray(0, length);
}

/**
 * Encrypts one push message for `sub` (RFC 8291 with RFC 8188's aes128gcm, one record). Throws on a malformed
 * subscription key or a payload over MAX_PAYLOAD_BYTES. `fixed` pins the salt and the sender's ephemeral private
 * key (32-byte d); it exists only to reproduce RFC 8291 Appendix A in tests: never reuse them for real messages.
 */
export function encryptPayload(
  payload: Uint8Array,
  sub: PushSubscription,
  fixed?: { salt: Uint8Array; asPrivateKey: Uint8Array },
): { body: Uint8Array<ArrayBuffer> } {
  const uaPublic = unb64u(sub.keys?.p256dh ?? "");
  const auth = unb64u(sub.keys?.auth ?? "");
  if (uaPublic.length !== 65 || uaPublic[0] !== 4) throw new Error("subscription p256dh is not a P-256 public key");
  if (auth.length !== 16) throw new Error("subscription auth secret is not 16 bytes");
  if (payload.length > MAX_PAYLOAD_BYTES)
    throw new Error(`payload is ${payload.length} bytes; Web Push carries at most ${MAX_PAYLOAD_BYTES}`);

  // A new ephemeral key per message: it is the only thing making two messages' keys differ besides the salt.
  const ecdh = createECDH("prime256v1");
  if (fixed) ecdh.setPrivateKey(fixed.asPrivateKey);
  else ecdh.generateKeys();
  const asPublic = ecdh.getPublicKey();
  const shared = ecdh.computeSecret(uaPublic); // throws if the point is not on the curve

  // RFC 8291 §3.4: mix the auth secret and both public keys in, so only this subscription can derive the key.
  const ikm = hkdf(auth, shared, Buffer.concat([utf8("WebPush: info\0"), uaPublic, asPublic]), 32);
  const salt = fixed?.salt ?? randomBytes(16);
  const cek = hkdf(salt, ikm, utf8("Content-Encoding: aes128gcm\0"), 16);
  const nonce = hkdf(salt, ikm, utf8("Content-Encoding: nonce\0"), 12);

  // One record, so the sequence number is 0 and the nonce is used as is; 0x02 marks the last record, no padding.
  const cipher = createCipheriv("aes-128-gcm", cek, nonce);
  const sealed = [cipher.update(payload), cipher.update(Uint8Array.of(2)), cipher.final(), cipher.getAuthTag()];

  // RFC 8188 §2.1 header: salt(16) || rs(uint32 BE) || idlen(1) || keyid, where keyid is the sender's public key.
  const rs = Buffer.alloc(4);
  rs.writeUInt32BE(RECORD_SIZE);
  const body = Buffer.concat([salt, rs, Uint8Array.of(asPublic.length), asPublic, ...sealed]);
  return { body: new Uint8Array(body) };
}

/** The VAPID private key as a signing key, after checking it belongs to the public key we will announce. */
function signingKey(keys: VapidKeys): KeyObject {
  const d = unb64u(keys.privateKey);
  if (d.length < 1 || d.length > 32) throw new Error("VAPID privateKey is not a 32-byte P-256 scalar");
  const d32 = Buffer.concat([Buffer.alloc(32 - d.length), d]);
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(d32);
  const point = ecdh.getPublicKey();
  // A mismatch would only show up as a 403 from the push service; say what is wrong here instead.
  if (!point.equals(unb64u(keys.publicKey))) throw new Error("VAPID publicKey does not match privateKey");
  const jwk = { kty: "EC", crv: "P-256", d: b64u(d32), x: b64u(point.subarray(1, 33)), y: b64u(point.subarray(33)) };
  return createPrivateKey({ key: jwk, format: "jwk" });
}

/**
 * The `Authorization` header value for a push to `endpoint` (RFC 8292): `vapid t=<ES256 JWT>, k=<publicKey>`.
 * `subject` is `mailto:...` or an `https:` URL the push service can reach the sender at. `expSeconds` is the
 * token's lifetime from now, default and at most 12 h.
 */
export function vapidAuthorization(endpoint: string, keys: VapidKeys, subject: string, expSeconds?: number): string {
  const url = new URL(endpoint);
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error(`push endpoint is not http(s): ${url}`);
  if (!/^(mailto:.+|https:\/\/.+)$/.test(subject)) throw new Error("VAPID subject must be mailto:... or https://...");
  const lifetime = Math.min(expSeconds ?? MAX_JWT_LIFETIME, MAX_JWT_LIFETIME);
  const header = b64u(utf8(JSON.stringify({ typ: "JWT", alg: "ES256" })));
  const exp = Math.floor(Date.now() / 1000) + Math.floor(lifetime);
  const claims = b64u(utf8(JSON.stringify({ aud: url.origin, exp, sub: subject })));
  // JOSE wants ES256 as raw r || s (64 bytes), not the DER that node:crypto gives by default.
  const signature = sign("sha256", utf8(`${header}.${claims}`), {
    key: signingKey(keys),
    dsaEncoding: "ieee-p1363",
  });
  return `vapid t=${header}.${claims}.${b64u(signature)}, k=${keys.publicKey}`;
}

/**
 * Encrypts `payload` for `sub` and POSTs it to the push service (RFC 8030). Never throws: a bad subscription,
 * an oversized payload, a refused connection or a timeout give `status: 0` and `error`. `gone` (404/410) means the
 * browser dropped the subscription and the caller must delete it.
 */
export async function sendPush(
  sub: PushSubscription,
  payload: string | Uint8Array,
  vapid: VapidKeys & { subject: string },
  opts: PushOptions = {},
): Promise<PushResult> {
  let response: Response;
  try {
    const bytes = typeof payload === "string" ? utf8(payload) : payload;
    const { body } = encryptPayload(bytes, sub);
    const headers = {
      "Content-Encoding": "aes128gcm",
      "Content-Type": "application/octet-stream",
      TTL: String(Math.max(0, Math.floor(opts.ttl ?? DEFAULT_TTL))),
      Urgency: opts.urgency ?? "normal",
      Authorization: vapidAuthorization(sub.endpoint, vapid, vapid.subject),
    };
    // No redirects: the endpoint comes from a browser, and a push service never redirects a push.
    response = await (opts.fetch ?? fetch)(sub.endpoint, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (err) {
    return { status: 0, gone: false, error: String((err as Error)?.message ?? err).slice(0, 200) };
  }
  // Read the body either way so the connection can be reused; push services explain refusals in it.
  const text = await response.text().catch(() => "");
  if (response.status >= 200 && response.status < 300) return { status: response.status, gone: false };
  const gone = response.status === 404 || response.status === 410;
  return { status: response.status, gone, error: `HTTP ${response.status} ${text.slice(0, 200)}`.trim() };
}
