// A fake Web Push service over a real HTTP socket (RFC 8030 + VAPID, RFC 8292), plus the browser's side: making a
// subscription and decrypting what arrives (RFC 8291/8188). Written with Web Crypto only, sharing no code with
// src/notify/webpush.ts, so that a mistake there cannot cancel itself out here.

export type PushReceived = {
  id: string;
  /** What the fake answered. */
  status: number;
  /** Why, for refusals ("ok" on 201). */
  reason: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** The decoded VAPID token when the Authorization header parsed, valid or not. */
  vapid?: { header: Record<string, unknown>; claims: Record<string, unknown>; k: string };
};

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
const unb64u = (text: string) => new Uint8Array(Buffer.from(text, "base64url"));
const text = (s: string) => new TextEncoder().encode(s);
const json = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;

type Verdict = { status: number; reason: string; vapid?: PushReceived["vapid"] };

/** Checks the `vapid t=..., k=...` header as a push service must (RFC 8292 §4.2, §3). */
async function checkVapid(auth: string | null, origin: string, restrictedTo: string | undefined): Promise<Verdict> {
  const m = /^vapid t=([\w-]+)\.([\w-]+)\.([\w-]+),\s*k=([\w-]+)$/.exec(auth ?? "");
  if (!m) return { status: 401, reason: "missing or malformed vapid Authorization" };
  const [, h, c, s, k] = m as unknown as [string, string, string, string, string];
  let vapid: PushReceived["vapid"];
  try {
    vapid = { header: json(h), claims: json(c), k };
  } catch {
    return { status: 401, reason: "JWT header or claims are not JSON" };
  }
  const refuse = (reason: string): Verdict => ({ status: 403, reason, vapid });
  if (vapid.header.alg !== "ES256") return refuse("JWT alg is not ES256");
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey("raw", unb64u(k), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  } catch {
    return refuse("k is not a P-256 public key");
  }
  // Web Crypto's ECDSA signature is raw r || s, as JOSE wants: a DER signature (70-72 bytes) fails here.
  const signature = unb64u(s);
  const alg = { name: "ECDSA", hash: "SHA-256" };
  if (signature.length !== 64 || !(await crypto.subtle.verify(alg, key, signature, text(`${h}.${c}`))))
    return refuse("JWT signature does not verify with k");
  const now = Date.now() / 1000;
  const { aud, exp, sub } = vapid.claims;
  if (aud !== origin) return refuse(`aud ${String(aud)} is not ${origin}`);
  if (typeof exp !== "number" || exp <= now) return refuse("JWT expired");
  if (exp > now + 86_400) return refuse("JWT exp more than 24 h ahead");
  if (typeof sub !== "string" || !/^(mailto:|https:)/.test(sub)) return refuse("sub missing or not mailto:/https:");
  // A subscription made with an applicationServerKey only takes pushes signed by that key.
  if (restrictedTo && k !== restrictedTo) return refuse("k is not the subscription's applicationServerKey");
  return { status: 201, reason: "ok", vapid };
}

export function startPushService() {
  const received: PushReceived[] = [];
  const answers = new Map<string, number>();
  const restricted = new Map<string, string>();
  let messages = 0;

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const id = /^\/push\/([\w-]+)$/.exec(url.pathname)?.[1];
      if (!id) return new Response("no such subscription", { status: 404 });
      if (request.method !== "POST") return new Response("POST only", { status: 405 });
      const headers = Object.fromEntries(request.headers.entries());
      const body = new Uint8Array(await request.arrayBuffer());
      let verdict = await checkVapid(request.headers.get("authorization"), url.origin, restricted.get(id));
      if (verdict.status === 201) {
        const scripted = answers.get(id);
        // RFC 8030 §5: TTL is required; §7.2: the service may refuse a body over 4096 bytes.
        if (scripted) verdict = { ...verdict, status: scripted, reason: `scripted ${scripted}` };
        else if (!/^\d+$/.test(headers.ttl ?? "")) verdict = { ...verdict, status: 400, reason: "TTL missing" };
        else if (headers["content-encoding"] !== "aes128gcm")
          verdict = { ...verdict, status: 415, reason: "Content-Encoding is not aes128gcm" };
        else if (body.length > 4096) verdict = { ...verdict, status: 413, reason: "body over 4096 bytes" };
      }
      received.push({ id, headers, body, ...verdict });
      if (verdict.status !== 201) return new Response(verdict.reason, { status: verdict.status });
      return new Response(null, { status: 201, headers: { Location: `/message/${++messages}` } });
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  return {
    url,
    /** The endpoint for subscription `id`; with `applicationServerKey`, only pushes signed by it are taken. */
    endpoint(id: string, applicationServerKey?: string): string {
      if (applicationServerKey) restricted.set(id, applicationServerKey);
      return `${url}/push/${id}`;
    },
    received,
    /** Answer every valid push to `id` with `status` from now on (410 Gone, 503...); null restores 201. */
    answer(id: string, status: number | null): void {
      if (status === null) answers.delete(id);
      else answers.set(id, status);
    },
    close: () => server.stop(true),
  };
}

/** A subscription made the way a browser does: its own P-256 keypair and a random 16-byte auth secret.
 *  privateKey is the 32-byte d. */
export async function makeBrowserSubscription(endpoint: string) {
  const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
  const p256dh = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const auth = crypto.getRandomValues(new Uint8Array(16));
  return {
    subscription: { endpoint, keys: { p256dh: b64u(p256dh), auth: b64u(auth) } },
    privateKey: unb64u(jwk.d!),
  };
}

async function hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, bytes: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", ikm as BufferSource, "HKDF", false, ["deriveBits"]);
  const params = { name: "HKDF", hash: "SHA-256", salt: salt as BufferSource, info: info as BufferSource };
  return new Uint8Array(await crypto.subtle.deriveBits(params, key, bytes * 8));
}

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** The receiving browser's side: decrypts an aes128gcm body (RFC 8188, any number of records) with the keys of the
 *  subscription it was sent to (RFC 8291). Throws if anything does not check out. */
export async function decryptPayload(
  body: Uint8Array,
  uaPrivateKey: Uint8Array,
  uaPublic: Uint8Array,
  authSecret: Uint8Array,
): Promise<Uint8Array> {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const salt = body.subarray(0, 16);
  const rs = view.getUint32(16);
  const idlen = body[20]!;
  if (idlen !== 65) throw new Error(`keyid is ${idlen} bytes, not a P-256 public key`);
  const asPublic = body.subarray(21, 21 + idlen);
  const ecdh = { name: "ECDH", namedCurve: "P-256" };
  const jwk = {
    kty: "EC",
    crv: "P-256",
    d: b64u(uaPrivateKey),
    x: b64u(uaPublic.subarray(1, 33)),
    y: b64u(uaPublic.subarray(33)),
  };
  const priv = await crypto.subtle.importKey("jwk", jwk, ecdh, false, ["deriveBits"]);
  const pub = await crypto.subtle.importKey("raw", asPublic as BufferSource, ecdh, false, []);
  const shared = new Uint8Array(await crypto.subtle.deriveBits({ name: "ECDH", public: pub }, priv, 256));
  const ikm = await hkdf(authSecret, shared, concat(text("WebPush: info\0"), uaPublic, asPublic), 32);
  const cek = await hkdf(salt, ikm, text("Content-Encoding: aes128gcm\0"), 16);
  const baseNonce = await hkdf(salt, ikm, text("Content-Encoding: nonce\0"), 12);
  const key = await crypto.subtle.importKey("raw", cek as BufferSource, "AES-GCM", false, ["decrypt"]);

  const out: Uint8Array[] = [];
  const content = body.subarray(21 + idlen);
  for (let start = 0, seq = 0; start < content.length; start += rs, seq++) {
    // RFC 8188 §2.3: the record's nonce is NONCE XOR the 96-bit big-endian sequence number.
    const iv = baseNonce.slice();
    new DataView(iv.buffer).setUint32(8, new DataView(iv.buffer).getUint32(8) ^ seq);
    const record = content.subarray(start, start + rs) as BufferSource;
    const plain = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, record));
    // Padding is zeros after a delimiter: 0x02 in the last record, 0x01 in the others.
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    const last = start + rs >= content.length;
    if (plain[end] !== (last ? 2 : 1)) throw new Error(`record ${seq} has a bad padding delimiter`);
    out.push(plain.subarray(0, end));
  }
  return concat(...out);
}
