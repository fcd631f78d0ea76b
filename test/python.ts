// Tests that drive the real device library need Debian's python3 packages (.ci/run installs them).
export function requirePython(modules: string[]): void {
  const probe = Bun.spawnSync(["/usr/bin/python3", "-c", modules.map((m) => `import ${m}`).join("; ")]);
  if (probe.exitCode !== 0)
    throw new Error(
      `/usr/bin/python3 lacks ${modules.join(", ")}: ` +
        "apt-get install python3-socketio python3-websocket python3-requests python3-werkzeug (.ci/run does this)",
    );
}
