// Self-signed certificates for fake printers, made at test time with the `openssl` CLI (no keys in the repo).
// A real Bambu printer presents a certificate with CN = its serial, signed by Bambu's own CA; clients pin it.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type Cert = { cert: string; key: string; fingerprint256: string };

// EC P-256 keys take milliseconds; the cache still matters when a benchmark starts 50 printers.
const cache = new Map<string, Cert>();

/** A certificate + key for `cn`. The same (cn, variant) gives the same certificate within a process;
 *  another `variant` gives a different one (a printer whose certificate changed). */
export function makeCert(cn: string, variant = 0): Cert {
  const cacheKey = `${cn}\0${variant}`;
  const cached = cache.get(cacheKey);
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), "fake-printer-cert-"));
  try {
    const keyPath = join(dir, "key.pem");
    const certPath = join(dir, "cert.pem");
    const args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    args.push("-keyout", keyPath, "-out", certPath, "-days", "3650", "-subj", `/CN=${cn}`);
    const run = Bun.spawnSync(["openssl", ...args], { stdout: "pipe", stderr: "pipe" });
    if (run.exitCode !== 0) throw new Error(`openssl failed: ${run.stderr.toString()}`);
    const cert = readFileSync(certPath, "utf8");
    const made = { cert, key: readFileSync(keyPath, "utf8"), fingerprint256: fingerprint256(cert) };
    cache.set(cacheKey, made);
    return made;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A certificate + key for a server reached as `localhost` or 127.0.0.1 (both in its subjectAltName), so a client
 *  that trusts it (e.g. NODE_EXTRA_CA_CERTS) passes the host name check too. */
export function makeLocalhostCert(): Cert {
  const dir = mkdtempSync(join(tmpdir(), "fake-server-cert-"));
  try {
    const keyPath = join(dir, "key.pem");
    const certPath = join(dir, "cert.pem");
    const args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    args.push("-keyout", keyPath, "-out", certPath, "-days", "30", "-subj", "/CN=localhost");
    args.push("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1");
    const run = Bun.spawnSync(["openssl", ...args], { stdout: "pipe", stderr: "pipe" });
    if (run.exitCode !== 0) throw new Error(`openssl failed: ${run.stderr.toString()}`);
    const cert = readFileSync(certPath, "utf8");
    return { cert, key: readFileSync(keyPath, "utf8"), fingerprint256: fingerprint256(cert) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** SHA-256 of the DER certificate, formatted as node:tls `getPeerCertificate().fingerprint256` does. */
export function fingerprint256(pem: string): string {
  const b64 = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
  const hex = createHash("sha256").update(Buffer.from(b64, "base64")).digest("hex").toUpperCase();
  return hex.match(/../g)!.join(":");
}
