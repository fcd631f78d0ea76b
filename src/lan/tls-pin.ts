// Owns the TLS the Bambu LAN protocols need: 1.2 only (the printers refuse others), and trust by pinning
// the certificate's SHA-256 (it chains to Bambu's own CA with the serial as its name, not the host).
import { connect, type TLSSocket } from "node:tls";

export const TLS12 = { minVersion: "TLSv1.2", maxVersion: "TLSv1.2" } as const;

export type PinCheck =
  /** Trust what is seen and report it (first connection under "pin", or "insecure"). */
  | { mode: "learn"; onSeen: (fingerprint: string) => void }
  /** Only this fingerprint; anything else is refused before a byte of ours is sent. */
  | { mode: "pinned"; fingerprint: string; onMismatch: (seen: string) => void };

/**
 * A TLS socket that checks the pin on `secureConnect`, before the MQTT CONNECT (which carries the access
 * code) or the camera's auth packet can be written: a changed certificate never sees the secret.
 */
export function pinnedTls(
  host: string,
  port: number,
  pin: PinCheck,
  versions: { minVersion: "TLSv1.2"; maxVersion?: "TLSv1.2" | "TLSv1.3" } = TLS12,
): TLSSocket {
  const socket = connect({ host, port, rejectUnauthorized: false, ...versions });
  socket.once("secureConnect", () => {
    const seen = socket.getPeerCertificate()?.fingerprint256 ?? "";
    if (pin.mode === "learn") pin.onSeen(seen);
    else if (seen !== pin.fingerprint) {
      pin.onMismatch(seen);
      socket.destroy(new Error("certificate changed"));
    }
  });
  return socket;
}
