/**
 * `npm run bench`: loads every server configuration over HTTP (each in its own child process,
 * rounds interleaved), measures in-process costs, the unknown-`kid` flood and memory, and
 * writes BENCHMARKS.md. Exits non-zero only when something crashed, never for a missed target.
 * It first copies `src/` and `bench/` to a temporary directory and runs from that copy, so
 * edits made to `src/` during the run do not mix two versions into one report.
 *
 * Options: `--rounds N`, `--duration S`, `--warmup S`, `--connections N`, `--no-write`
 * (print only), `--profile KIND` (profile one server under load and print its hot spots).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, release, tmpdir, type } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { startLocalIssuer } from "../src/testing/index.js";
import type { LocalIssuer } from "../src/testing/index.js";
import { startChild, stopChild } from "./child.js";
import { checkServer, loadServer, startServer } from "./http-load.js";
import type { CheckTokens, LoadSample, LoadSettings } from "./http-load.js";
import { formatProfile, summariseProfile } from "./profile-summary.js";
import type { ProfileSummary } from "./profile-summary.js";
import { checkTargets, renderReport, summariseServers, TARGETS } from "./report.js";
import type { BenchData, MachineInfo, TargetCheck } from "./report.js";
import { runFromSnapshot, snapshotEnvironment } from "./source.js";
import type { SnapshotEnvironment } from "./source.js";
import {
  auth0Options,
  CLIENT_ID,
  SCOPE,
  SERVER_KINDS,
  SERVER_LABELS,
  USER_POOL_ID,
} from "./shared.js";
import type { InProcessResult, MemoryResult, ServerConfig, ServerKind } from "./shared.js";

function log(message: string): void {
  process.stdout.write(`${message}\n`);
}

async function machineInfo(): Promise<MachineInfo> {
  const cpuinfo = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim();
  return {
    cpu: model ?? cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    node: process.version,
    os: `${type()} ${release()}`,
    date: new Date().toISOString(),
    loadAverage: loadavg(),
    source: "",
  };
}

function serverConfig(kind: ServerKind, issuer: LocalIssuer): ServerConfig {
  return { kind, userPoolId: USER_POOL_ID, issuer: issuer.issuer, jwksUri: issuer.jwksUri };
}

function checkTokens(issuer: LocalIssuer): CheckTokens {
  const valid = issuer.mintAccessToken({ clientId: CLIENT_ID, scopes: [SCOPE] });
  const [header, payload, signature = ""] = valid.split(".");
  const flipped = signature[20] === "A" ? "B" : "A";
  const tampered = `${header}.${payload}.${signature.slice(0, 20)}${flipped}${signature.slice(21)}`;
  const idToken = issuer.mintAccessToken({
    clientId: CLIENT_ID,
    scopes: [SCOPE],
    claims: { token_use: "id" },
  });
  return { valid, tampered, idToken };
}

async function measureServer(
  kind: ServerKind,
  round: number,
  issuer: LocalIssuer,
  tokens: CheckTokens,
  settings: LoadSettings,
): Promise<LoadSample> {
  const server = await startServer(serverConfig(kind, issuer));
  try {
    await checkServer(kind, server.url, tokens);
    return await loadServer(kind, round, server, tokens.valid, settings);
  } finally {
    await server.stop();
  }
}

/** Runs server `kind` with `--cpu-prof` under the usual load and summarises the profile. */
async function profileServer(
  kind: ServerKind,
  issuer: LocalIssuer,
  tokens: CheckTokens,
  settings: LoadSettings,
): Promise<ProfileSummary> {
  const dir = await mkdtemp(join(tmpdir(), "bench-profile-"));
  try {
    const server = await startServer(serverConfig(kind, issuer), [
      "--cpu-prof",
      "--cpu-prof-dir",
      dir,
    ]);
    try {
      await checkServer(kind, server.url, tokens);
      await loadServer(kind, 0, server, tokens.valid, settings);
    } finally {
      await server.stop();
    }
    const file = (await readdir(dir)).find((name) => name.endsWith(".cpuprofile"));
    if (file === undefined) throw new Error("The profiled server wrote no .cpuprofile.");
    return await summariseProfile(join(dir, file));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function runChild<M>(script: string, nodeFlags: string[] = []): Promise<M> {
  const { child, message } = await startChild<M>(script, { nodeFlags, timeoutMs: 240_000 });
  await stopChild(child);
  return message;
}

function printSummary(data: BenchData): void {
  for (const s of summariseServers(data.samples)) {
    log(
      `${SERVER_LABELS[s.kind].padEnd(60)} ${s.requestsPerSecond.toFixed(0).padStart(7)} req/s` +
        `  p50 ${s.latencyP50Ms} ms  p99 ${s.latencyP99Ms} ms  vs(a) ${s.vsA.toFixed(2)}` +
        `  vs(d) ${s.vsD.toFixed(2)}  CPU ${s.cpuUsPerRequest.toFixed(0)} µs/req` +
        `  CPU vs(a) ${s.cpuVsA.toFixed(2)}  vs(d) ${s.cpuVsD.toFixed(2)}`,
    );
  }
  const targets = checkTargets(data);
  const line = (t: TargetCheck) => `  ${t.met ? "met    " : "NOT MET"}  ${t.target}: ${t.measured}`;
  log("\nTargets:");
  for (const t of targets.filter((c) => c.crossCheck !== true)) log(line(t));
  log("Cross-checks on server CPU per request (not issue targets):");
  for (const t of targets.filter((c) => c.crossCheck === true)) log(line(t));

  const missed = targets.filter((t) => !t.met && t.crossCheck !== true);
  if (missed.length > 0) {
    log(`\n${missed.length} issue target(s) NOT MET:`);
    for (const t of missed) log(`  - ${t.target} (measured ${t.measured})`);
  }
}

async function main(snapshot: SnapshotEnvironment): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "3" },
      duration: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      connections: { type: "string", default: "20" },
      "no-write": { type: "boolean", default: false },
      profile: { type: "string" },
    },
  });
  const started = performance.now();
  const rounds = Number(values.rounds);
  const settings: LoadSettings = {
    connections: Number(values.connections),
    warmupSeconds: Number(values.warmup),
    durationSeconds: Number(values.duration),
  };
  const machine = await machineInfo();
  log(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);

  const issuer = await startLocalIssuer({ userPoolId: USER_POOL_ID, clients: [] });
  try {
    const tokens = checkTokens(issuer);

    if (values.profile !== undefined) {
      const kind = values.profile as ServerKind;
      if (!SERVER_KINDS.includes(kind)) throw new Error(`Unknown server ${values.profile}.`);
      log(formatProfile(await profileServer(kind, issuer, tokens, settings)).join("\n"));
      return;
    }

    const samples: LoadSample[] = [];
    for (let round = 1; round <= rounds; round += 1) {
      for (const kind of SERVER_KINDS) {
        const sample = await measureServer(kind, round, issuer, tokens, settings);
        samples.push(sample);
        log(
          `round ${round} ${kind}: ${sample.requestsPerSecond.toFixed(0)} req/s,` +
            ` ${sample.serverCpuUsPerRequest.toFixed(0)} µs CPU/req, p50 ` +
            `${sample.latencyP50Ms} ms, p99 ${sample.latencyP99Ms} ms` +
            (sample.non2xx + sample.errors > 0
              ? `, ${sample.non2xx} non-2xx, ${sample.errors} errors`
              : ""),
        );
      }
    }

    log("in-process costs and flood…");
    const inProcess = await runChild<InProcessResult>("in-process.ts");
    log("memory (1 000 000 tokens)…");
    const memory = await runChild<MemoryResult>("memory.ts", ["--expose-gc"]);

    const data: BenchData = {
      machine,
      settings: { ...settings, rounds },
      samples,
      inProcess,
      memory,
      auth0Options: auth0Options({ issuer: issuer.issuer, jwksUri: "<local issuer jwksUri>" }),
      elapsedSeconds: 0,
    };
    const b = summariseServers(samples).find((s) => s.kind === "b")!;
    if (b.vsA < TARGETS.bVsA) {
      log(`(b) is under ${TARGETS.bVsA} × (a): profiling (b) under load…`);
      data.profileOfB = await profileServer("b", issuer, tokens, settings);
      log(formatProfile(data.profileOfB).join("\n"));
    }
    data.machine.loadAverageEnd = loadavg();
    data.machine.source = `${snapshot.source} (a copy taken when the run started)`;
    data.elapsedSeconds = (performance.now() - started) / 1000;

    log("");
    printSummary(data);
    if (!values["no-write"]) {
      const reportPath = join(snapshot.repository, "BENCHMARKS.md");
      await writeFile(reportPath, renderReport(data));
      log(`\nWrote ${reportPath} (${data.elapsedSeconds.toFixed(0)} s).`);
    }
  } finally {
    await issuer.close();
  }
}

try {
  const snapshot = snapshotEnvironment();
  if (snapshot === undefined) process.exit(await runFromSnapshot(process.argv.slice(2)));
  await main(snapshot);
  process.exit(0);
} catch (error) {
  process.stderr.write(
    `bench crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
}
