/**
 * Which library code a run measures. Other engineers edit `src/` while benchmarks run, so a
 * run measures a snapshot: `src/` and `bench/` are copied to a temporary directory at the
 * start and the whole benchmark runs from there.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, cp, mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository the benchmark was started in. */
const REPO = fileURLToPath(new URL("../", import.meta.url));

/** A description of `src/` at one moment. */
export interface SourceState {
  /** E.g. `commit 5d57ff9, with uncommitted changes in src/`. */
  label: string;
  /** SHA-256 over every file under `src/` (paths and contents), shortened. */
  fingerprint: string;
}

/** Set in the snapshot run: the repository it was copied from, and what `src/` was then. */
export interface SnapshotEnvironment {
  repository: string;
  source: string;
}

async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(path)));
    else files.push(path);
  }
  return files.sort();
}

function gitLabel(): string {
  try {
    const git = (...args: string[]) =>
      execFileSync("git", args, { cwd: REPO, encoding: "utf8" }).trim();
    const dirty = git("status", "--porcelain", "--", "src") !== "";
    const head = git("rev-parse", "--short", "HEAD");
    return `commit ${head}${dirty ? ", with uncommitted changes in src/" : ""}`;
  } catch {
    return "unknown commit (git unavailable)";
  }
}

/** Describes the repository's `src/` now. */
export async function sourceState(): Promise<SourceState> {
  const src = join(REPO, "src");
  const hash = createHash("sha256");
  for (const file of await filesUnder(src)) {
    hash
      .update(relative(src, file))
      .update("\0")
      .update(await readFile(file))
      .update("\0");
  }
  return { label: gitLabel(), fingerprint: hash.digest("hex").slice(0, 12) };
}

/** The snapshot settings when this process runs from a snapshot, else `undefined`. */
export function snapshotEnvironment(): SnapshotEnvironment | undefined {
  const repository = process.env.BENCH_SNAPSHOT_OF;
  const source = process.env.BENCH_SOURCE;
  return repository === undefined || source === undefined ? undefined : { repository, source };
}

/**
 * Copies `src/`, `bench/` and `package.json` to a temporary directory (with a link to
 * `node_modules`), runs `bench/run.ts` from there with `args`, and resolves to its exit code.
 */
export async function runFromSnapshot(args: readonly string[]): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "bench-snapshot-"));
  try {
    const state = await sourceState();
    await cp(join(REPO, "src"), join(dir, "src"), { recursive: true });
    await cp(join(REPO, "bench"), join(dir, "bench"), { recursive: true });
    await copyFile(join(REPO, "package.json"), join(dir, "package.json"));
    await symlink(join(REPO, "node_modules"), join(dir, "node_modules"), "dir");
    if ((await sourceState()).fingerprint !== state.fingerprint) {
      throw new Error("src/ changed while it was being copied; run the benchmark again.");
    }

    const script = join(dir, "bench", "run.ts");
    const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
      stdio: "inherit",
      env: {
        ...process.env,
        BENCH_SNAPSHOT_OF: REPO,
        BENCH_SOURCE: `${state.label}, src/ fingerprint ${state.fingerprint}`,
      },
    });
    const code = await new Promise<number>((resolve) => {
      child.once("exit", (exitCode) => resolve(exitCode ?? 1));
    });

    if ((await sourceState()).fingerprint !== state.fingerprint) {
      process.stdout.write(
        "Note: src/ changed during the run; the numbers are for the copy taken at the start.\n",
      );
    }
    return code;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
