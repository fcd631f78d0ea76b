// Owns which built-in camera a Bambu model has: the A1/P1 port-6000 JPEG stream, or RTSP over TLS (X1, P2S,
// H2, X2D). Pure: from the model's name alone, so the same answer serves a configured model and a detected one.

/** `jpeg`: TLS on camera_port (6000), an auth packet, then JPEG frames. `rtsps`: H.264 over RTSPS on rtsp_port. */
export type CameraKind = "jpeg" | "rtsps";

/** Upper case, no "Bambu Lab" prefix, no spaces or dashes: "Bambu Lab X1 Carbon" → "X1CARBON". */
const normal = (model: string) =>
  model
    .toUpperCase()
    .replace(/^BAMBU\s*LAB\s*/, "")
    .replace(/[\s_-]+/g, "");

/** The camera a model has, or null for a model this does not know (no camera is assumed). */
export function cameraKind(model: string): CameraKind | null {
  const m = normal(model);
  if (/^(A1|A1MINI|A1M|P1P|P1S)$/.test(m)) return "jpeg";
  // X1, X1C (X1 Carbon), X1E; P2S; the H2 family (H2D, H2D Pro, H2S, H2C); X2D.
  if (/^(X1|X1C|X1CARBON|X1E|P2S|H2[A-Z]*|X2D)$/.test(m)) return "rtsps";
  return null;
}
