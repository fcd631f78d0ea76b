// Fake notification services over a real HTTP socket: an ntfy server, the Telegram Bot API and a webhook
// receiver that checks the Standard Webhooks signature. Each records what arrived; answers can be scripted.
import { createHmac, timingSafeEqual } from "node:crypto";

export type Received = {
  service: "ntfy" | "telegram" | "webhook";
  path: string;
  headers: Record<string, string>;
  /** ntfy: the attachment or text; webhook: the JSON text. */
  body: Uint8Array;
  /** Telegram: the multipart fields (photo as bytes). */
  fields?: Record<string, string | Uint8Array>;
  json?: Record<string, unknown>;
};

export async function startNotifyServices(opts: { webhookSecret?: string } = {}) {
  const received: Received[] = [];
  /** Status codes to answer next, per service, before answering 200. */
  const script: Record<string, number[]> = { ntfy: [], telegram: [], webhook: [] };
  const secret = opts.webhookSecret ? Buffer.from(opts.webhookSecret.replace(/^whsec_/, ""), "base64") : null;

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const headers = Object.fromEntries(request.headers.entries());
      const service = url.pathname.startsWith("/bot")
        ? "telegram"
        : url.pathname.startsWith("/hook")
          ? "webhook"
          : "ntfy";
      const scripted = script[service]!.shift();
      if (scripted) return new Response(`scripted ${scripted}`, { status: scripted });
      if (service === "telegram") {
        const m = /^\/bot(\d+:[\w-]+)\/(sendPhoto|sendMessage)$/.exec(url.pathname);
        if (!m) return Response.json({ ok: false, description: "Not Found" }, { status: 404 });
        let fields: Record<string, string | Uint8Array> = {};
        if (m[2] === "sendPhoto") {
          const form = await request.formData();
          for (const [k, v] of form.entries())
            fields[k] = typeof v === "string" ? v : new Uint8Array(await (v as Blob).arrayBuffer());
        } else fields = (await request.json()) as Record<string, string>;
        received.push({ service, path: url.pathname, headers, body: new Uint8Array(), fields });
        return Response.json({ ok: true, result: { message_id: received.length } });
      }
      const body = new Uint8Array(await request.arrayBuffer());
      if (service === "webhook" && secret) {
        // Verify as a receiver would: HMAC of "id.timestamp.body", constant-time compare, fresh timestamp.
        const id = headers["webhook-id"] ?? "";
        const ts = headers["webhook-timestamp"] ?? "";
        const expected = createHmac("sha256", secret)
          .update(`${id}.${ts}.${new TextDecoder().decode(body)}`)
          .digest();
        const given = (headers["webhook-signature"] ?? "")
          .split(" ")
          .map((s) => Buffer.from(s.replace(/^v1,/, ""), "base64"));
        const fresh = Math.abs(Date.now() / 1000 - Number(ts)) < 300;
        if (!fresh || !given.some((g) => g.length === expected.length && timingSafeEqual(g, expected)))
          return new Response("bad signature", { status: 401 });
      }
      const json =
        service === "webhook" ? (JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>) : undefined;
      received.push({ service, path: url.pathname, headers, body, json });
      return service === "ntfy" ? Response.json({ id: String(received.length), event: "message" }) : new Response("ok");
    },
  });
  const base = `127.0.0.1:${server.port}`;
  return {
    received,
    script,
    ntfyUrl: (topic: string) => `ntfy://${base}/${topic}`,
    telegramRoot: `http://${base}`,
    webhookUrl: (query = "") => `json://${base}/hook${query}`,
    of: (service: Received["service"]) => received.filter((r) => r.service === service),
    close: () => server.stop(true),
  };
}
