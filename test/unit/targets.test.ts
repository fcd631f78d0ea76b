// Unit: notification target URLs read by parseTarget (each kind, its checks, its event filter) and redactTarget.
import { describe, expect, test } from "bun:test";
import { parseTarget, redactTarget, wants } from "../../src/notify/targets.ts";

const SECRET = `whsec_${Buffer.from("a-webhook-secret-of-32-bytes-len").toString("base64")}`;
const target = (url: string) => {
  const p = parseTarget(url);
  if (!p.ok) throw new Error(`refused ${url}: ${p.error}`);
  return p.target;
};
const error = (url: string) => {
  const p = parseTarget(url);
  return p.ok ? null : p.error;
};

describe("each kind", () => {
  test("ntfy:// is plain HTTP, ntfys:// HTTPS; the topic is the path and a token is kept", () => {
    expect(target("ntfy://ntfy.example.org/printers")).toEqual({
      kind: "ntfy",
      url: "http://ntfy.example.org/printers",
      token: null,
      events: null,
    });
    expect(target("ntfys://ntfy.sh:8443/room_1?token=tk_abc")).toEqual({
      kind: "ntfy",
      url: "https://ntfy.sh:8443/room_1",
      token: "tk_abc",
      events: null,
    });
  });

  test("tgram:// takes a bot token and a numeric or @named chat", () => {
    expect(target("tgram://123456:ABC-def_ghi/-100777")).toEqual({
      kind: "telegram",
      botToken: "123456:ABC-def_ghi",
      chatId: "-100777",
      events: null,
    });
    expect(target("tgram://1:x/@my_channel/")).toMatchObject({ chatId: "@my_channel" });
  });

  test("json:// and jsons:// are webhooks; a whsec_ secret is decoded to its key bytes", () => {
    expect(target("json://127.0.0.1:8080/hook")).toEqual({
      kind: "webhook",
      url: "http://127.0.0.1:8080/hook",
      secret: null,
      events: null,
    });
    const signed = target(`jsons://hooks.example.com/in?secret=${encodeURIComponent(SECRET)}`);
    expect(signed).toMatchObject({ kind: "webhook", url: "https://hooks.example.com/in" });
    expect(new TextDecoder().decode((signed as { secret: Uint8Array }).secret)).toBe(
      "a-webhook-secret-of-32-bytes-len",
    );
  });

  test("webpush:// needs nothing more; surrounding spaces are ignored", () => {
    expect(target("  webpush://  ")).toEqual({ kind: "webpush", events: null });
  });
});

describe("refusals say what is wrong without repeating the secret", () => {
  test("an unknown scheme, or none, lists the schemes there are", () => {
    for (const url of ["ftp://example.org/x", "example.org/topic", "", "NTFY://host/topic"])
      expect(error(url)).toBe("a target starts with ntfy://, ntfys://, tgram://, json://, jsons:// or webpush://");
  });

  test("an ntfy target needs one /topic of letters, digits, _ and -", () => {
    for (const url of [
      "ntfy://host",
      "ntfy://host/",
      "ntfy://host/a/b",
      "ntfy://host/sp ace",
      `ntfy://h/${"t".repeat(65)}`,
    ])
      expect(`${url}: ${error(url)}`).toBe(`${url}: an ntfy target needs a /topic`);
  });

  test("a Telegram target needs a bot token and a chat id; the message does not echo the token", () => {
    for (const url of ["tgram://123456/-100", "tgram://123456:SECRETTOKEN", "tgram://abc:def/1", "tgram://1:x/@abc"]) {
      const e = error(url);
      expect(e).toBe("a Telegram target is tgram://<bot token>/<chat id>");
      expect(e).not.toContain("SECRETTOKEN");
    }
  });

  test("a webhook secret must be whsec_ and base64; a host is required", () => {
    expect(error("json://host/x?secret=plain")).toBe("a webhook secret is whsec_ followed by base64");
    expect(error("json://host/x?secret=whsec_short")).toBe("a webhook secret is whsec_ followed by base64");
    expect(error("json://")).toBe("not a valid json:// address");
    expect(error("jsons://exa mple.com/x")).toBe("not a valid jsons:// address");
  });
});

describe("the event filter", () => {
  test("?events= keeps only those events, trimmed; without it a target wants every event", () => {
    const some = target("ntfy://host/t?events=print_failed, hms_error,");
    expect(some.events).toEqual(["print_failed", "hms_error"]);
    expect(wants(some, "print_failed")).toBe(true);
    expect(wants(some, "print_started")).toBe(false);
    const all = target("webpush://");
    expect(wants(all, "reading_low")).toBe(true);
  });

  test("an empty list wants nothing; an unknown event is refused, naming it and the known ones", () => {
    expect(wants(target("webpush://?events="), "print_started")).toBe(false);
    const e = error("tgram://1:x/-1?events=print_started,print_exploded");
    expect(e).toStartWith('unknown event "print_exploded" (known: print_started, print_finished,');
    expect(e).toContain("reading_low, filament_runout, authorization_control, plate_waiting)");
  });
});

describe("redactTarget", () => {
  test("cuts a Telegram bot token after its id, and token and secret parameters after six characters", () => {
    expect(redactTarget("tgram://123456:ABC-def_ghi/-100777")).toBe("tgram://123456:…/-100777");
    expect(redactTarget("ntfys://h/t?token=tk_supersecretvalue&events=hms_error")).toBe(
      "ntfys://h/t?token=tk_sup…&events=hms_error",
    );
    const hook = redactTarget(`json://h/x?events=print_failed&secret=${SECRET}`);
    expect(hook).toBe("json://h/x?events=print_failed&secret=whsec_…");
    expect(hook).not.toContain(SECRET.slice(6, 12));
  });

  test("leaves a URL without secrets as it is", () => {
    for (const url of ["ntfy://host/topic", "webpush://", "json://127.0.0.1:9/x?events=camera_ok"])
      expect(redactTarget(url)).toBe(url);
  });
});
