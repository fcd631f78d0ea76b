// Owns Prometheus's text exposition format (version 0.0.4): metric families with HELP and TYPE lines, label values
// escaped (printer names come from users and printers), numbers as Prometheus writes them. Pure: no I/O.

export type MetricType = "gauge" | "counter";
export type Labels = Record<string, string | number>;
export type Sample = { labels?: Labels; value: number | null | undefined };
export type MetricFamily = { name: string; type: MetricType; help: string; samples: Sample[] };

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value inside double quotes: backslash, double quote and line feed escaped, as the format asks. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escapes backslash and line feed only. */
const escapeHelp = (text: string) => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

function labelText(labels: Labels | undefined): string {
  if (!labels) return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL.test(k) || k.startsWith("__")) throw new Error(`invalid label name ${k}`);
    parts.push(`${k}="${escapeLabelValue(String(v))}"`);
  }
  return parts.length ? `{${parts.join(",")}}` : "";
}

/**
 * The exposition of these families, in order. A sample whose value is null or undefined (unknown: a printer that has
 * not said its temperature) is left out rather than written as 0; a family left with no samples keeps its HELP and
 * TYPE. Names are ours, so a bad one is a bug and throws.
 */
export function exposition(families: MetricFamily[]): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const f of families) {
    if (!NAME.test(f.name)) throw new Error(`invalid metric name ${f.name}`);
    if (seen.has(f.name)) throw new Error(`metric ${f.name} given twice`);
    seen.add(f.name);
    if (f.type === "counter" && !f.name.endsWith("_total")) throw new Error(`counter ${f.name} must end in _total`);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples)
      if (typeof s.value === "number") out.push(`${f.name}${labelText(s.labels)} ${formatValue(s.value)}`);
  }
  return `${out.join("\n")}\n`;
}
