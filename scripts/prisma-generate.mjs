#!/usr/bin/env node
/**
 * Runs `prisma generate` without network access and skips it when the client is up to date.
 *
 *   node scripts/prisma-generate.mjs <prisma.config.ts | schema folder | schema file> [--force]
 *
 * - A config file is passed as `--config`, a schema folder or file as `--schema`.
 * - `prisma generate` only checks that a schema engine exists; it never runs it. Pointing
 *   PRISMA_SCHEMA_ENGINE_BINARY at an existing file (unless already set) stops the CLI from
 *   trying to download one. CHECKPOINT_DISABLE=1 turns off the CLI's update check.
 * - Skipped when every file in the generator's `output` folder is newer than the schema files,
 *   the config file and this script. `--force` always generates.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const CONFIG_EXTENSIONS = new Set([".ts", ".mts", ".cts", ".js", ".mjs", ".cjs"]);

/** Every `*.prisma` file under `path` (a file or a folder), symlinks followed. */
function schemaFiles(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.name.endsWith(".prisma"))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The schema path named by a config file (`schema: "..."`), or undefined when not literal. */
function schemaFromConfig(configPath) {
  const match = /\bschema\s*:\s*["'`]([^"'`]+)["'`]/.exec(readFileSync(configPath, "utf8"));
  if (match === null) return undefined;
  return resolve(dirname(configPath), match[1]);
}

/** Output folders of the `generator` blocks, resolved against the file that declares them. */
function outputFolders(files) {
  const outputs = [];
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    for (const block of text.matchAll(/generator\s+\w+\s*\{([^}]*)\}/g)) {
      const output = /^\s*output\s*=\s*"([^"]+)"/m.exec(block[1] ?? "");
      if (output !== null) outputs.push(resolve(dirname(file), output[1]));
    }
  }
  return outputs;
}

/** Oldest modification time of the regular files directly inside `folder` (0 when none). */
function oldestOutputTime(folder) {
  if (!existsSync(folder)) return 0;
  const times = readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => statSync(join(folder, entry.name)).mtimeMs);
  return times.length === 0 ? 0 : Math.min(...times);
}

/** Whether every output is newer than every input; false when the inputs cannot be found. */
function isUpToDate(inputs, outputs) {
  if (inputs.length === 0 || outputs.length === 0) return false;
  const newestInput = Math.max(...inputs.map((file) => statSync(file).mtimeMs));
  return outputs.every((folder) => oldestOutputTime(folder) > newestInput);
}

function main(argv) {
  const force = argv.includes("--force");
  const target = argv.find((arg) => !arg.startsWith("--"));
  if (target === undefined) {
    process.stderr.write("usage: prisma-generate.mjs <prisma.config.ts | schema> [--force]\n");
    return 2;
  }

  const path = resolve(target);
  if (!existsSync(path)) {
    process.stderr.write(`prisma-generate: ${target} does not exist\n`);
    return 2;
  }
  const isConfig = statSync(path).isFile() && CONFIG_EXTENSIONS.has(extname(path));
  const schema = isConfig ? schemaFromConfig(path) : path;
  const schemas = schema !== undefined && existsSync(schema) ? schemaFiles(schema) : [];
  const inputs = [...schemas, fileURLToPath(import.meta.url), ...(isConfig ? [path] : [])];

  if (!force && schemas.length > 0 && isUpToDate(inputs, outputFolders(schemas))) {
    process.stdout.write(`prisma-generate: ${relative(process.cwd(), path)} is up to date\n`);
    return 0;
  }

  const require = createRequire(import.meta.url);
  const cliPackage = require.resolve("prisma/package.json", { paths: [process.cwd()] });
  const cli = join(dirname(cliPackage), "build", "index.js");
  const env = { ...process.env };
  env.PRISMA_SCHEMA_ENGINE_BINARY ??= existsSync("/bin/false") ? "/bin/false" : process.execPath;
  env.CHECKPOINT_DISABLE ??= "1";
  const args = [cli, "generate", isConfig ? "--config" : "--schema", path];
  const result = spawnSync(process.execPath, args, { stdio: "inherit", env });
  if (result.error !== undefined) throw result.error;
  return result.status ?? 1;
}

process.exitCode = main(process.argv.slice(2));
