// The command line: configuration errors with one clear line and exit 2, flags, a bad database file.
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./helpers.ts";

const MAIN = join(import.meta.dir, "../src/main.ts");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function run(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const cwd = opts.cwd ?? tempDir();
  dirs.push(cwd);
  const p = Bun.spawnSync([process.execPath, MAIN, ...args], {
    cwd,
    env: { ...process.env, ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString(), cwd };
}

function withConfig(config: unknown) {
  const dir = tempDir();
  dirs.push(dir);
  writeFileSync(join(dir, "config.json"), typeof config === "string" ? config : JSON.stringify(config));
  return dir;
}

describe("configuration errors end start-up with one clear line and exit code 2", () => {
  const cases: [string, unknown, RegExp][] = [
    ["malformed JSON", "{ not json", /config\.json is not valid JSON/],
    ["an unknown key", { web_usernme: "x" }, /unknown key "web_usernme"/],
    ["a port that is not a number", { port: "http" }, /"port" must be a whole number/],
    ["a bad time zone", { timezone: "Mars/Olympus" }, /"timezone" must be an IANA time zone/],
    ["a bad locale", { locale: "xx" }, /"locale" must be one of en, fi/],
    ["an image retention of zero", { image_retention: 0 }, /"image_retention" must be 1\.\.10000/],
    ["a JSON array", [], /must hold a JSON object/],
    [
      "a database_url that is not PostgreSQL",
      { database_url: "mysql://db/x" },
      /"database_url" must be empty .*postgres:\/\//,
    ],
    [
      "the placeholder secret_key with database_url set",
      { database_url: "postgres://db.example/layerwatch" },
      /"secret_key" is the shipped placeholder, and with "database_url" set every instance must share one key/,
    ],
    ["a redis_url that is not Redis", { redis_url: "http://cache:6379" }, /"redis_url" must be empty .*redis:\/\//],
    [
      "a redis_url without database_url",
      { redis_url: "redis://127.0.0.1:6379/0" },
      /"redis_url" is set but "database_url" is empty: instances joined through Redis must share one PostgreSQL/,
    ],
  ];
  for (const [what, config, message] of cases) {
    test(what, () => {
      const cwd = withConfig(config);
      const r = run(["--config", join(cwd, "config.json")], { cwd });
      expect(r.code).toBe(2);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toMatch(message);
    });
  }

  test("a missing --config file", () => {
    const r = run(["--config", "/nonexistent/config.json"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/file not found: \/nonexistent\/config\.json/);
  });

  test("a bad environment override names the variable", () => {
    const r = run([], { env: { LAYERWATCH_PORT: "eighty" } });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/"LAYERWATCH_PORT" must be a whole number/);
  });

  test("LAYERWATCH_DATABASE_URL is checked as database_url is", () => {
    const r = run([], { env: { LAYERWATCH_DATABASE_URL: "sqlite:///app.db" } });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/"database_url" must be empty/);
  });

  test("LAYERWATCH_REDIS_URL is checked as redis_url is", () => {
    const r = run([], { env: { LAYERWATCH_REDIS_URL: "redis://host:port" } });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/"redis_url" must be empty/);
  });

  test("an unknown flag and a bad --port", () => {
    expect(run(["--frobnicate"]).err).toMatch(/unknown argument "--frobnicate"/);
    expect(run(["--port", "99999"]).code).toBe(2);
  });
});

describe("command line", () => {
  test("--help and --version print and exit 0", () => {
    expect(run(["--help"])).toMatchObject({ code: 0 });
    expect(run(["--help"]).out).toContain("--config PATH");
    expect(run(["--version"]).out).toMatch(/^layerwatch \d+\.\d+\.\d+ \(/);
  });
});

describe("the database file", () => {
  test("a corrupt database stops start-up with a clear message and is left untouched", () => {
    const cwd = tempDir();
    dirs.push(cwd);
    const junk = Buffer.alloc(8192, 0x41);
    junk.write("not an sqlite file at all");
    writeFileSync(join(cwd, "app.db"), junk);
    const before = readFileSync(join(cwd, "app.db"));
    const r = run(["--port", "0"], { cwd, env: { LAYERWATCH_DATABASE_URI: join(cwd, "app.db") } });
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/is not a readable SQLite database .*left untouched/);
    expect(readFileSync(join(cwd, "app.db"))).toEqual(before);
  });

  test("a database in a folder that does not exist gets a clear message", () => {
    const r = run(["--port", "0"], { env: { LAYERWATCH_DATABASE_URI: "/nonexistent-dir/app.db" } });
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/cannot open database \/nonexistent-dir\/app\.db/);
  });

  test("a placeholder password starts with a loud warning", async () => {
    const cwd = tempDir();
    dirs.push(cwd);
    copyFileSync(join(import.meta.dir, "../config.json"), join(cwd, "config.json"));
    const p = Bun.spawn([process.execPath, MAIN, "--port", "0"], { cwd, stderr: "pipe", stdout: "pipe" });
    const reader = p.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("listening")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    expect(text).toMatch(/WARN .*web_password is the shipped placeholder/);
    expect(statSync(join(cwd, "app.db")).size).toBeGreaterThan(0);
  });
});
