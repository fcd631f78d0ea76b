// Owns speaking each service's real HTTP API: ntfy (with the frame attached), Telegram (sendPhoto with a
// caption), signed webhooks (Standard Webhooks). Web Push fans out through its own module.
import { createHmac } from "node:crypto";
import type { NotifyEvent, Target } from "./targets.ts";

export type Message = {
  event: NotifyEvent;
  title: string;
  body: string;
  /** 1 (min) to 5 (urgent), ntfy's scale. */
  priority: number;
  tags: string[];
  printer: { id: number; name: string };
  job: { id: number; name: string; outcome?: string } | null;
  /** Absolute when `public_url` is set, else a path on this server. */
  link: string;
  frameId: number | null;
  at: number;
};
export type Image = { mime: string; bytes: Uint8Array };
export type SendResult = { ok: boolean; status?: number; error?: string; retry: boolean };
export type SendContext = {
  deliveryId: number;
  telegramApiRoot: string;
  timeoutMs: number;
  webpush: (m: Message) => Promise<SendResult>;
};

/** Non-ASCII in a header value (a printer named "Työpaja") travels RFC 2047-encoded, as ntfy reads it. */
const header = (v: string) => (/^[\x20-\x7e]*$/.test(v) ? v : `=?UTF-8?B?${Buffer.from(v).toString("base64")}?=`);

async function answer(res: Response): Promise<SendResult> {
  if (res.ok) return { ok: true, status: res.status, retry: false };
  const text = (await res.text().catch(() => "")).slice(0, 200);
  // 5xx, 408 and 429 may pass; other 4xx mean the target is set up wrong and will not fix itself.
  const retry = res.status >= 500 || res.status === 408 || res.status === 429;
  return { ok: false, status: res.status, error: `HTTP ${res.status} ${text}`.trim(), retry };
}

async function post(url: string, init: RequestInit, ctx: SendContext): Promise<SendResult> {
  try {
    return await answer(await fetch(url, { ...init, method: "POST", signal: AbortSignal.timeout(ctx.timeoutMs) }));
  } catch (err) {
    return { ok: false, error: (err as Error).message.slice(0, 200), retry: true };
  }
}

function ntfy(t: Extract<Target, { kind: "ntfy" }>, m: Message, image: Image | null, ctx: SendContext) {
  const headers: Record<string, string> = {
    Title: header(m.title),
    Priority: String(m.priority),
    Tags: m.tags.join(","),
  };
  if (/^https?:\/\//.test(m.link)) headers.Click = m.link;
  if (t.token) headers.Authorization = `Bearer ${t.token}`;
  if (!image) return post(t.url, { headers, body: m.body }, ctx);
  // With an attachment the body is the picture and the text goes in a header.
  headers.Message = header(m.body);
  headers.Filename = "frame.jpg";
  return post(t.url, { headers, body: image.bytes as Uint8Array<ArrayBuffer> }, ctx);
}

function telegram(t: Extract<Target, { kind: "telegram" }>, m: Message, image: Image | null, ctx: SendContext) {
  const base = `${ctx.telegramApiRoot.replace(/\/$/, "")}/bot${t.botToken}`;
  const text = `${m.title}\n${m.body}${/^https?:\/\//.test(m.link) ? `\n${m.link}` : ""}`;
  if (!image) {
    const body = JSON.stringify({ chat_id: t.chatId, text });
    return post(`${base}/sendMessage`, { headers: { "content-type": "application/json" }, body }, ctx);
  }
  const form = new FormData();
  form.set("chat_id", t.chatId);
  form.set("caption", text.slice(0, 1024));
  form.set("photo", new Blob([image.bytes as Uint8Array<ArrayBuffer>], { type: image.mime }), "frame.jpg");
  return post(`${base}/sendPhoto`, { body: form }, ctx);
}

/** The Standard Webhooks signature: v1,base64(HMAC-SHA256(secret, "id.timestamp.body")). */
export function signWebhook(secret: Uint8Array, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac("sha256", secret).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

function webhook(t: Extract<Target, { kind: "webhook" }>, m: Message, ctx: SendContext) {
  const { frameId: _, ...rest } = m;
  const body = JSON.stringify({ ...rest, sent_at: new Date().toISOString() });
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (t.secret) {
    // The same id on every retry of one delivery: receivers use it to drop duplicates.
    const id = `msg_${ctx.deliveryId}`;
    const timestamp = Math.floor(Date.now() / 1000);
    headers["webhook-id"] = id;
    headers["webhook-timestamp"] = String(timestamp);
    headers["webhook-signature"] = signWebhook(t.secret, id, timestamp, body);
  }
  return post(t.url, { headers, body }, ctx);
}

export function send(t: Target, m: Message, image: Image | null, ctx: SendContext): Promise<SendResult> {
  if (t.kind === "ntfy") return ntfy(t, m, image, ctx);
  if (t.kind === "telegram") return telegram(t, m, image, ctx);
  if (t.kind === "webhook") return webhook(t, m, ctx);
  return ctx.webpush(m);
}
