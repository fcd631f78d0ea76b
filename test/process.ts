// Runs layerwatch as a child process (the source or a compiled binary) and finds its URL in the log.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

export type Child = { proc: Subprocess<"ignore", "pipe", "pipe">; url: string; log: () => string; startedMs: number };

export function writeConfig(dir: string, extra: Record<string, unknown> = {}) {
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify({
      web_username: "admin",
      web_password: "binary-pass-1",
      secret_key: "0123456789abcdef0123",
      port: 0,
      ...extra,
    }),
  );
}

/** Starts `cmd` in `cwd` (with `env` added to this process's) and resolves once it logs its listening URL. */
export async function startChild(
  cmd: string[],
  cwd: string,
  timeoutMs = 60000,
  env: Record<string, string> = {},
): Promise<Child> {
  const t0 = performance.now();
  const proc = Bun.spawn(cmd, {
    cwd,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, LAYERWATCH_LOG_LEVEL: "info", ...env },
  });
  let text = "";
  const reader = proc.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += value;
    }
  })();
  void pump;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = /listening url=(http:\/\/\S+)/.exec(text);
    if (m) return { proc, url: m[1]!, log: () => text, startedMs: performance.now() - t0 };
    if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode} before listening:\n${text}`);
    await Bun.sleep(20);
  }
  proc.kill();
  throw new Error(`not listening after ${timeoutMs} ms:\n${text}`);
}
