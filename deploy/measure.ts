// Measures a built binary the way the README reports it: size (raw, xz), time to first HTTP 200, idle RSS.
// Usage: bun deploy/measure.ts [dist/layerwatch-linux-x64]   (run `make release` first for the .xz sizes)
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const binary = resolve(process.argv[2] ?? "dist/layerwatch-linux-x64");
const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
const size = (p: string) => (existsSync(p) ? mib(statSync(p).size) : "n/a");
const rss = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;

const dir = mkdtempSync(join(tmpdir(), "layerwatch-measure-"));
writeFileSync(
  join(dir, "config.json"),
  JSON.stringify({ web_password: "measure-pass-1", secret_key: "measure-secret-0123456789", port: 5599 }),
);
const started = performance.now();
const proc = Bun.spawn([binary, "--config", join(dir, "config.json")], {
  cwd: dir,
  stdout: "ignore",
  stderr: "ignore",
});
let firstOk = NaN;
for (let i = 0; i < 2000; i++) {
  try {
    if ((await fetch("http://127.0.0.1:5599/healthz")).status === 200) {
      firstOk = performance.now() - started;
      break;
    }
  } catch {
    /* not up yet */
  }
  await Bun.sleep(5);
}
await Bun.sleep(5000);
const idle = rss(proc.pid);
proc.kill("SIGTERM");
await proc.exited;
rmSync(dir, { recursive: true, force: true });
console.log(`binary:               ${binary}`);
console.log(`size raw / xz:        ${size(binary)} / ${size(`${binary}.xz`)}`);
console.log(`time to first 200:    ${firstOk.toFixed(0)} ms`);
console.log(`idle RSS after 5 s:   ${mib(idle)}`);
