// Redacting configured URLs: the user name and password go wherever the last `@` before the host puts them (an
// unencoded `@` in a password stays hidden), and the Spoolman and Redis messages show URLs only that way.
import { describe, expect, test } from "bun:test";
import { connectRedis } from "../../src/cluster/redis.ts";
import { spoolmanClient } from "../../src/integrations/spoolman.ts";
import { createLogger } from "../../src/log.ts";
import { redactUrl } from "../../src/urls.ts";
import { until } from "../helpers.ts";

describe("redactUrl", () => {
  test("a password with an unencoded @ is hidden whole, with the user name", () => {
    expect(redactUrl("http://admin:p@ss@spoolman.lan:7912")).toBe("http://spoolman.lan:7912/");
    expect(redactUrl("redis://:s3@cr@t@cache:6379/2")).toBe("redis://cache:6379/2");
    expect(redactUrl("postgres://farm:a@b@db.example:5432/layerwatch")).toBe("postgres://db.example:5432/layerwatch");
  });

  test("a password-like query value is starred, the rest of the URL kept", () => {
    expect(redactUrl("postgres://db/layerwatch?sslmode=require&password=p@ss")).toBe(
      "postgres://db/layerwatch?sslmode=require&password=***",
    );
    expect(redactUrl("http://spoolman.lan:7912/api?token=abc")).toBe("http://spoolman.lan:7912/api?token=***");
  });

  test("a URL without secrets is shown as it is, and one that does not parse not at all", () => {
    expect(redactUrl("redis://127.0.0.1:6379")).toBe("redis://127.0.0.1:6379");
    expect(redactUrl("http://admin@spoolman.lan:7912/")).toBe("http://spoolman.lan:7912/");
    expect(redactUrl("http://admin:p@ss@host:notaport")).toBe("(unparseable URL)");
  });
});

describe("where configured URLs are shown", () => {
  test("Spoolman that does not answer is named without its password", async () => {
    // Nothing listens on port 1: the connection is refused at once.
    const client = spoolmanClient("http://admin:p@ss@127.0.0.1:1", 2000);
    const err = (await client.spools().catch((e: Error) => e)) as Error;
    expect(err.message).toContain("Spoolman at http://127.0.0.1:1/ did not answer");
    expect(err.message).not.toContain("ss@");
    expect(err.message).not.toContain("admin");
  });

  test("Redis being down is logged without its password", async () => {
    const lines: { msg: string; fields?: Record<string, unknown> }[] = [];
    const log = createLogger({ quiet: true, sink: (_level, msg, fields) => lines.push({ msg, fields }) });
    const link = connectRedis("redis://default:p@ss@127.0.0.1:1", log);
    try {
      await until(
        () => lines.find((l) => l.msg === "Redis down"),
        (l) => l !== undefined,
      );
    } finally {
      await link.close();
    }
    expect(lines.find((l) => l.msg === "Redis down")?.fields?.url).toBe("redis://127.0.0.1:1");
    expect(JSON.stringify(lines)).not.toContain("ss@");
  });
});
