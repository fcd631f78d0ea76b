// Web Push (src/notify/webpush.ts) against a fake push service on a real socket, the RFC 8291 test vector, and
// an independent receiver written with Python's `cryptography` (Debian: python3-cryptography).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  encryptPayload,
  generateVapidKeys,
  MAX_PAYLOAD_BYTES,
  type PushSubscription,
  sendPush,
  vapidAuthorization,
} from "../src/notify/webpush.ts";
import { decryptPayload, makeBrowserSubscription, startPushService } from "./fakes/push-service.ts";

const unb64u = (s: string) => new Uint8Array(Buffer.from(s, "base64url"));
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const SUBJECT = "mailto:ops@example.org";

type Browser = Awaited<ReturnType<typeof makeBrowserSubscription>>;
const decryptAs = (ua: Browser, body: Uint8Array) =>
  decryptPayload(body, ua.privateKey, unb64u(ua.subscription.keys.p256dh), unb64u(ua.subscription.keys.auth));

let service: ReturnType<typeof startPushService>;
const vapid = { ...generateVapidKeys(), subject: SUBJECT };
beforeAll(() => {
  service = startPushService();
});
afterAll(() => service.close());

describe("keys and the RFC 8291 test vector", () => {
  test("generateVapidKeys gives a 65-byte uncompressed point and a 32-byte d", () => {
    const keys = generateVapidKeys();
    expect(unb64u(keys.publicKey).length).toBe(65);
    expect(unb64u(keys.publicKey)[0]).toBe(4);
    expect(unb64u(keys.privateKey).length).toBe(32);
    expect(keys.publicKey).toMatch(/^[\w-]+$/);
    expect(generateVapidKeys().privateKey).not.toBe(keys.privateKey);
  });

  // RFC 8291 Appendix A: fixed sender key and salt give exactly the published body.
  const A = {
    plaintext: "When I grow up, I want to be a watermelon",
    asPrivate: "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
    uaPublic: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
    uaPrivate: "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
    auth: "BTBZMqHH6r4Tts7J_aSIgg",
    salt: "DGv6ra1nlYgDCS1FRnbzlw",
    body:
      "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6P" +
      "Bru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
  };
  const sub: PushSubscription = { endpoint: "https://push.example.net/x", keys: { p256dh: A.uaPublic, auth: A.auth } };

  test("encryptPayload reproduces the published body byte for byte", () => {
    const fixed = { salt: unb64u(A.salt), asPrivateKey: unb64u(A.asPrivate) };
    const { body } = encryptPayload(new TextEncoder().encode(A.plaintext), sub, fixed);
    expect(Buffer.from(body).toString("base64url")).toBe(A.body);
  });

  test("the fake's decryptPayload opens the published body", async () => {
    const plain = await decryptPayload(unb64u(A.body), unb64u(A.uaPrivate), unb64u(A.uaPublic), unb64u(A.auth));
    expect(new TextDecoder().decode(plain)).toBe(A.plaintext);
  });

  test("encryptPayload refuses malformed keys and oversized payloads", () => {
    const p = new Uint8Array(10);
    expect(() => encryptPayload(p, { ...sub, keys: { ...sub.keys, p256dh: "AAAA" } })).toThrow(/p256dh/);
    expect(() => encryptPayload(p, { ...sub, keys: { ...sub.keys, auth: "AAAA" } })).toThrow(/auth/);
    const offCurve = Buffer.concat([Uint8Array.of(4), Buffer.alloc(64, 1)]).toString("base64url");
    expect(() => encryptPayload(p, { ...sub, keys: { ...sub.keys, p256dh: offCurve } })).toThrow();
    expect(() => encryptPayload(new Uint8Array(MAX_PAYLOAD_BYTES + 1), sub)).toThrow(/at most/);
  });
});

describe("sendPush to the fake push service", () => {
  test("arrives with valid VAPID and the headers, and decrypts to exactly the JSON sent", async () => {
    const ua = await makeBrowserSubscription(service.endpoint("ok", vapid.publicKey));
    const payload = JSON.stringify({ title: "Print done", body: "Benchy ✓ in 42 min", url: "/jobs/7" });
    const result = await sendPush(ua.subscription, payload, vapid, { ttl: 600, urgency: "high" });
    expect(result).toEqual({ status: 201, gone: false });

    const got = service.received.at(-1)!;
    expect(got).toMatchObject({ id: "ok", status: 201, reason: "ok" });
    expect(got.headers).toMatchObject({
      "content-encoding": "aes128gcm",
      "content-type": "application/octet-stream",
      ttl: "600",
      urgency: "high",
    });
    expect(got.vapid!.header).toEqual({ typ: "JWT", alg: "ES256" });
    expect(got.vapid!.claims.aud).toBe(service.url);
    expect(got.vapid!.claims.sub).toBe(SUBJECT);
    const exp = got.vapid!.claims.exp as number;
    expect(exp).toBeGreaterThan(Date.now() / 1000 + 11 * 3600);
    expect(exp).toBeLessThanOrEqual(Date.now() / 1000 + 12 * 3600 + 1);
    expect(got.vapid!.k).toBe(vapid.publicKey);

    expect(got.body.length).toBe(86 + Buffer.byteLength(payload) + 1 + 16);
    expect(new TextDecoder().decode(await decryptAs(ua, got.body))).toBe(payload);
    // Another subscription's keys cannot open it (the auth secret and p256dh both matter).
    const other = await makeBrowserSubscription(service.endpoint("other"));
    await expect(decryptAs(other, got.body)).rejects.toThrow();
  });

  test("the same message twice encrypts differently (fresh salt and ephemeral key)", () => {
    const sub = {
      endpoint: "https://push.example.net/x",
      keys: { p256dh: vapid.publicKey, auth: "BTBZMqHH6r4Tts7J_aSIgg" },
    };
    const a = encryptPayload(new Uint8Array(5), sub).body;
    const b = encryptPayload(new Uint8Array(5), sub).body;
    expect(hex(a.subarray(0, 16))).not.toBe(hex(b.subarray(0, 16)));
    expect(hex(a.subarray(21, 86))).not.toBe(hex(b.subarray(21, 86)));
  });

  test("3 KB and maximum-size payloads arrive intact; one byte more is refused without a request", async () => {
    const ua = await makeBrowserSubscription(service.endpoint("big", vapid.publicKey));
    const big = JSON.stringify({ title: "x", body: "é".repeat(1500) }); // ~3 KB of UTF-8
    expect(Buffer.byteLength(big)).toBeGreaterThan(3000);
    expect((await sendPush(ua.subscription, big, vapid)).status).toBe(201);
    expect(new TextDecoder().decode(await decryptAs(ua, service.received.at(-1)!.body))).toBe(big);

    const max = crypto.getRandomValues(new Uint8Array(MAX_PAYLOAD_BYTES));
    expect((await sendPush(ua.subscription, max, vapid)).status).toBe(201);
    expect(service.received.at(-1)!.body.length).toBe(4096);
    expect(hex(await decryptAs(ua, service.received.at(-1)!.body))).toBe(hex(max));

    const before = service.received.length;
    const tooBig = await sendPush(ua.subscription, new Uint8Array(MAX_PAYLOAD_BYTES + 1), vapid);
    expect(tooBig).toMatchObject({ status: 0, gone: false });
    expect(tooBig.error).toMatch(/at most/);
    expect(service.received.length).toBe(before);
  });

  test("a push signed with another VAPID key is refused (403) and reported", async () => {
    const ua = await makeBrowserSubscription(service.endpoint("restricted", vapid.publicKey));
    const intruder = { ...generateVapidKeys(), subject: SUBJECT };
    const result = await sendPush(ua.subscription, "{}", intruder);
    expect(result.status).toBe(403);
    expect(result.gone).toBe(false);
    expect(result.error).toMatch(/^HTTP 403 .*applicationServerKey/);
  });

  test("the fake refuses missing, tampered, expired and misaddressed tokens", async () => {
    const endpoint = service.endpoint("auth");
    const post = (authorization?: string) =>
      fetch(endpoint, {
        method: "POST",
        headers: { TTL: "60", "Content-Encoding": "aes128gcm", ...(authorization ? { authorization } : {}) },
        body: new Uint8Array(100),
      }).then((r) => `${r.status} ${service.received.at(-1)!.reason}`);
    expect(await post()).toBe("401 missing or malformed vapid Authorization");
    expect(await post("WebPush abc")).toBe("401 missing or malformed vapid Authorization");
    const good = vapidAuthorization(endpoint, vapid, SUBJECT);
    expect(await post(good)).toBe("201 ok");
    // Flip one character of the signature.
    const tampered = good.replace(/\.([\w-])([\w-]*), k=/, (_, c, rest) => `.${c === "A" ? "B" : "A"}${rest}, k=`);
    expect(await post(tampered)).toBe("403 JWT signature does not verify with k");
    expect(await post(vapidAuthorization(endpoint, vapid, SUBJECT, -60))).toBe("403 JWT expired");
    const elsewhere = vapidAuthorization("https://other.example.com/push/auth", vapid, SUBJECT);
    expect(await post(elsewhere)).toMatch(/^403 aud https:\/\/other.example.com is not/);
    // Announcing another public key than the one that signed.
    const otherKey = generateVapidKeys().publicKey;
    expect(await post(good.replace(/k=[\w-]+$/, `k=${otherKey}`))).toBe("403 JWT signature does not verify with k");
  });

  test("410 and 404 mean gone; 503 is a plain failure", async () => {
    const ua = await makeBrowserSubscription(service.endpoint("expired"));
    service.answer("expired", 410);
    expect(await sendPush(ua.subscription, "{}", vapid)).toMatchObject({ status: 410, gone: true });
    service.answer("expired", 404);
    expect(await sendPush(ua.subscription, "{}", vapid)).toMatchObject({ status: 404, gone: true });
    service.answer("expired", 503);
    const busy = await sendPush(ua.subscription, "{}", vapid);
    expect(busy).toMatchObject({ status: 503, gone: false });
    expect(busy.error).toMatch(/^HTTP 503/);
    service.answer("expired", null);
    expect(await sendPush(ua.subscription, "{}", vapid)).toEqual({ status: 201, gone: false });
  });

  test("a closed port gives status 0 and an error at once", async () => {
    const dead = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const port = dead.port;
    dead.stop(true);
    const ua = await makeBrowserSubscription(`http://127.0.0.1:${port}/push/dead`);
    const started = performance.now();
    const result = await sendPush(ua.subscription, "{}", vapid, { timeoutMs: 2000 });
    expect(result.status).toBe(0);
    expect(result.gone).toBe(false);
    expect(result.error).toBeTruthy();
    expect(performance.now() - started).toBeLessThan(2500);
  });

  test("a service that never answers is given up on after timeoutMs", async () => {
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const ua = await makeBrowserSubscription(`http://127.0.0.1:${silent.port}/push/silent`);
      const started = performance.now();
      const result = await sendPush(ua.subscription, "{}", vapid, { timeoutMs: 300 });
      const elapsed = performance.now() - started;
      expect(result.status).toBe(0);
      expect(result.error).toMatch(/time|abort/i);
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(2000);
    } finally {
      silent.stop(true);
    }
  });

  test("never throws: bad endpoint, bad keys, bad subject, mismatched VAPID pair", async () => {
    const ua = await makeBrowserSubscription(service.endpoint("never"));
    const cases: [PushSubscription, typeof vapid][] = [
      [{ ...ua.subscription, endpoint: "not a url" }, vapid],
      [{ ...ua.subscription, endpoint: "ftp://127.0.0.1/x" }, vapid],
      [{ ...ua.subscription, keys: { p256dh: "", auth: "" } }, vapid],
      [{ endpoint: ua.subscription.endpoint } as PushSubscription, vapid],
      [ua.subscription, { ...vapid, subject: "ops@example.org" }],
      [ua.subscription, { ...vapid, publicKey: generateVapidKeys().publicKey }],
      [ua.subscription, { ...vapid, privateKey: "" }],
    ];
    for (const [sub, keys] of cases) {
      const result = await sendPush(sub, "{}", keys);
      expect(result.status).toBe(0);
      expect(result.error).toBeTruthy();
    }
    const fetchThatThrows = (() => {
      throw new TypeError("boom");
    }) as unknown as typeof fetch;
    expect(await sendPush(ua.subscription, "{}", vapid, { fetch: fetchThatThrows })).toMatchObject({
      status: 0,
      error: "boom",
    });
  });
});

// An independent receiver: Python's `cryptography` (OpenSSL) decrypts our body and verifies our JWT.
const PY_RECEIVER = `
import json, sys, base64
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.exceptions import InvalidSignature
b64 = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
hkdf = lambda salt, ikm, info, n: HKDF(hashes.SHA256(), n, salt, info).derive(ikm)
a = json.load(sys.stdin)
body, ua_pub, auth = bytes.fromhex(a["body"]), b64(a["p256dh"]), b64(a["auth"])
salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
as_pub, record = body[21:21 + idlen], body[21 + idlen:]
assert rs == 4096 and idlen == 65 and len(record) <= rs
priv = ec.derive_private_key(int.from_bytes(b64(a["d"]), "big"), ec.SECP256R1())
shared = priv.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_pub))
ikm = hkdf(auth, shared, b"WebPush: info\\0" + ua_pub + as_pub, 32)
cek = hkdf(salt, ikm, b"Content-Encoding: aes128gcm\\0", 16)
nonce = hkdf(salt, ikm, b"Content-Encoding: nonce\\0", 12)
plain = AESGCM(cek).decrypt(nonce, record, None)
assert plain.endswith(b"\\x02"), "no last-record delimiter"
t, k = a["authorization"].removeprefix("vapid t=").split(", k=")
h, c, s = t.split(".")
sig = b64(s)
assert len(sig) == 64, "signature is not raw r||s"
key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64(k))
try:
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    key.verify(der, (h + "." + c).encode(), ec.ECDSA(hashes.SHA256()))
    jwt_ok = True
except InvalidSignature:
    jwt_ok = False
print(json.dumps({"plain": plain[:-1].hex(), "jwt_ok": jwt_ok, "claims": json.loads(b64(c))}))
`;
const hasPyCrypto =
  Bun.spawnSync(["/usr/bin/python3", "-c", "import cryptography"], { stdout: "ignore", stderr: "ignore" }).exitCode ===
  0;
if (!hasPyCrypto)
  console.warn(
    "SKIP webpush cross-check: /usr/bin/python3 lacks `cryptography` (apt-get install python3-cryptography)",
  );

describe("cross-check with an independent implementation", () => {
  test.skipIf(!hasPyCrypto)("Python cryptography decrypts our body and verifies our VAPID JWT", async () => {
    for (const payload of ["{}", JSON.stringify({ title: "Print failed", body: "Spaghetti 🍝".repeat(200) })]) {
      const ua = await makeBrowserSubscription(service.endpoint("py", vapid.publicKey));
      expect((await sendPush(ua.subscription, payload, vapid)).status).toBe(201);
      const got = service.received.at(-1)!;
      const input = JSON.stringify({
        body: hex(got.body),
        p256dh: ua.subscription.keys.p256dh,
        auth: ua.subscription.keys.auth,
        d: Buffer.from(ua.privateKey).toString("base64url"),
        authorization: got.headers.authorization,
      });
      const py = Bun.spawnSync(["/usr/bin/python3", "-c", PY_RECEIVER], { stdin: Buffer.from(input) });
      expect(py.stderr.toString()).toBe("");
      const out = JSON.parse(py.stdout.toString());
      expect(Buffer.from(out.plain, "hex").toString("utf8")).toBe(payload);
      expect(out.jwt_ok).toBe(true);
      expect(out.claims).toMatchObject({ aud: service.url, sub: SUBJECT });
    }
  });
});
