// Runs layerwatch as a child process (the source or a compiled binary) and finds its URL in the log; runs a
// command to its end; finds the ffmpeg decoders a server process started.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
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

/** The ffmpeg processes (camera decoders) whose parent is `parentPid`, by pid; zombies left out. */
export function ffmpegChildren(parentPid: number): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(ppid) === parentPid && state !== "Z" && comm === "ffmpeg") pids.push(Number(pid));
    } catch {
      // gone between the listing and the read
    }
  }
  return pids;
}

/** Runs a command to its end, its output read as it comes; its exit code, stdout and stderr. */
export async function runCommand(
  cmd: string[],
  opts: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(cmd, { ...opts, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}
