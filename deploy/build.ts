// Builds the single-file executables: dist/layerwatch-linux-arm64 (the Pi) and dist/layerwatch-linux-x64.
// Every runtime piece comes from the npm registry; the build fails rather than ship a binary whose
// bcrypt binding is missing (it would only die at start, on the Pi).
// Usage: bun deploy/build.ts [arm64|x64 ...]
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const BUN_VERSION = (
  JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { packageManager: string }
).packageManager.split("@")[1]!;

type Target = { name: "arm64" | "x64"; bunTarget: string; runtime: string; binding: string; elfMachine: number };
const targets: Target[] = [
  {
    name: "arm64",
    bunTarget: "bun-linux-arm64",
    elfMachine: 0xb7,
    runtime: join(root, ".tools/arm64/node_modules/@oven/bun-linux-aarch64/bin/bun"),
    binding: join(root, "node_modules/@node-rs/bcrypt-linux-arm64-gnu/bcrypt.linux-arm64-gnu.node"),
  },
  {
    name: "x64",
    bunTarget: "bun-linux-x64",
    elfMachine: 0x3e,
    runtime: process.execPath,
    binding: join(root, "node_modules/@node-rs/bcrypt-linux-x64-gnu/bcrypt.linux-x64-gnu.node"),
  },
];

function fail(message: string): never {
  console.error(`build: ${message}`);
  process.exit(1);
}

function elfMachine(path: string): number {
  const head = readFileSync(path).subarray(0, 20);
  if (head.readUInt32BE(0) !== 0x7f454c46) fail(`${path} is not an ELF file`);
  return head.readUInt16LE(18);
}

function commit(): string {
  const git = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: root });
  const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], { cwd: root })
    .stdout.toString()
    .trim();
  return git.exitCode === 0 ? git.stdout.toString().trim() + (dirty ? "-dirty" : "") : "unknown";
}

const wanted = process.argv.slice(2);
const chosen = wanted.length ? targets.filter((t) => wanted.includes(t.name)) : targets;
if (!chosen.length) fail(`unknown target: ${wanted.join(" ")} (use arm64 and/or x64)`);
mkdirSync(join(root, "dist"), { recursive: true });
const rev = commit();

for (const t of chosen) {
  if (!existsSync(t.runtime))
    fail(
      `the ${t.name} Bun runtime is missing at ${t.runtime} ` +
        `(make build installs @oven/bun-linux-aarch64@${BUN_VERSION} from npm)`,
    );
  if (!existsSync(t.binding))
    fail(`the ${t.name} bcrypt binding is missing at ${t.binding}; run: bun install --cpu='*' --os=linux`);
  if (elfMachine(t.binding) !== t.elfMachine) fail(`${t.binding} is not built for ${t.name}`);
  if (elfMachine(t.runtime) !== t.elfMachine) fail(`${t.runtime} is not a ${t.name} executable`);

  const outfile = join(root, "dist", `layerwatch-linux-${t.name}`);
  const started = performance.now();
  const build = Bun.spawnSync(
    [
      process.execPath,
      "build",
      "--compile",
      `--target=${t.bunTarget}`,
      `--compile-executable-path=${t.runtime}`,
      "--minify-whitespace",
      "--minify-syntax",
      "--compile-jit-policy=20",
      "--no-compile-autoload-dotenv",
      "--no-compile-autoload-bunfig",
      "--define",
      `LAYERWATCH_COMMIT=${JSON.stringify(rev)}`,
      "--outfile",
      outfile,
      join(root, "src/main.ts"),
      // A worker is its own entry point: without it here the binary cannot start the backup thread.
      join(root, "src/store/backup-worker.ts"),
    ],
    { cwd: root, stdout: "pipe", stderr: "pipe" },
  );
  if (build.exitCode !== 0)
    fail(`bun build for ${t.name} failed:\n${build.stderr.toString()}${build.stdout.toString()}`);

  // The binary must carry this very binding: find a slice of its code section inside the executable.
  const binding = readFileSync(t.binding);
  const probe = binding.subarray(Math.floor(binding.length / 2), Math.floor(binding.length / 2) + 256);
  if (readFileSync(outfile).indexOf(probe) < 0) fail(`${outfile} does not embed the ${t.name} bcrypt binding`);
  if (elfMachine(outfile) !== t.elfMachine) fail(`${outfile} is not a ${t.name} executable`);

  const mb = (statSync(outfile).size / 1048576).toFixed(1);
  console.log(
    `built ${outfile} (${mb} MiB, ${t.name}, commit ${rev}) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}
