// The pure pieces of metrics, exports and backups: label escaping, CSV cells, the metrics config key, backup names.
import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { csvCell, csvRow } from "../../src/csv.ts";
import { createLogger } from "../../src/log.ts";
import { escapeLabelValue, exposition, formatValue } from "../../src/prometheus.ts";
import { backupName, createBackups } from "../../src/services/backups.ts";

describe("Prometheus exposition", () => {
  test("label values escape backslash, double quote and line feed, and nothing else", () => {
    expect(escapeLabelValue('a\\b"c\nd} e=ä')).toBe('a\\\\b\\"c\\nd} e=ä');
  });

  test("unknown values are left out, special numbers are spelled as Prometheus spells them", () => {
    const text = exposition([
      {
        name: "x_ratio",
        type: "gauge",
        help: "a\nb",
        samples: [{ labels: { a: "1" }, value: null }, { labels: { a: "2" }, value: 0.5 }, { value: undefined }],
      },
    ]);
    expect(text).toBe('# HELP x_ratio a\\nb\n# TYPE x_ratio gauge\nx_ratio{a="2"} 0.5\n');
    expect([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -3.5].map(formatValue)).toEqual([
      "NaN",
      "+Inf",
      "-Inf",
      "-3.5",
    ]);
  });

  test("a counter without _total, a bad name or a name given twice is a bug and throws", () => {
    expect(() => exposition([{ name: "c", type: "counter", help: "", samples: [] }])).toThrow();
    expect(() => exposition([{ name: "bad-name", type: "gauge", help: "", samples: [] }])).toThrow();
    const g = { name: "g", type: "gauge" as const, help: "", samples: [] };
    expect(() => exposition([g, g])).toThrow();
  });
});

describe("CSV cells", () => {
  test("RFC 4180: a field with a comma, quote, CR or LF is quoted with its quotes doubled; rows end in CRLF", () => {
    expect(csvRow(["plain", 'say "hi"', "a,b", "two\nlines", 12.5, null, undefined])).toBe(
      'plain,"say ""hi""","a,b","two\nlines",12.5,,\r\n',
    );
  });

  test("text starting with = + - @ tab or CR is quoted and prefixed with '; numbers stay numbers", () => {
    expect(["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"].map(csvCell)).toEqual([
      `"'=1+2"`,
      `"'+1"`,
      `"'-1"`,
      `"'@SUM(A1)"`,
      `"'\tx"`,
      `"'\rx"`,
    ]);
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell(-4.5)).toBe("-4.5");
    expect(csvCell(Number.NaN)).toBe("");
  });
});

describe("the metrics config key", () => {
  const load = (metrics: unknown, env: Record<string, string> = {}) =>
    loadConfig({ env, overrides: metrics === undefined ? {} : { metrics: metrics as never } });

  test("defaults to off with no token; LAYERWATCH_METRICS takes JSON", async () => {
    expect((await load(undefined)).config.metrics).toEqual({ enabled: false, token: "" });
    const env = { LAYERWATCH_METRICS: '{"enabled": true, "token": "0123456789abcdef"}' };
    expect((await load(undefined, env)).config.metrics).toEqual({ enabled: true, token: "0123456789abcdef" });
  });

  test("an unknown key, a wrong type, a short token or bad JSON is refused with a message naming it", async () => {
    await expect(load({ enabled: true, tokn: "x" })).rejects.toThrow('unknown key "metrics.tokn"');
    await expect(load({ enabled: "yes" })).rejects.toThrow('"metrics.enabled" must be true or false');
    await expect(load({ enabled: true, token: "short" })).rejects.toThrow(ConfigError);
    await expect(load([])).rejects.toThrow('"metrics" must be an object');
    await expect(load(undefined, { LAYERWATCH_METRICS: "on" })).rejects.toThrow('"LAYERWATCH_METRICS" must be a JSON');
  });
});

describe("the daily backup", () => {
  test("names sort by time and carry milliseconds", () => {
    expect(backupName(new Date(Date.UTC(2026, 11, 4, 17, 15, 0, 123)))).toBe("layerwatch-20261204T171500.123Z.db");
  });

  test("an instance that does not hold housekeeping makes none", async () => {
    let made = 0;
    const backups = createBackups({
      dir: "/nonexistent/backups",
      keep: 3,
      log: createLogger({ quiet: true }),
      mine: () => false,
      backup: async () => {
        made++;
        return { bytes: 0, seconds: 0 };
      },
    });
    expect(await backups.look()).toBeNull();
    expect(made).toBe(0);
  });
});
