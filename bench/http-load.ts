/**
 * The HTTP part: each server in its own child process, checked for correct answers, warmed up
 * and then loaded with autocannon from this process.
 */
import { isDeepStrictEqual } from "node:util";

import autocannon from "autocannon";

import { startChild, stopChild } from "./child.js";
import { PING_PATH, PING_RESULT } from "./shared.js";
import type { CpuReading, ServerConfig, ServerKind, ServerReady } from "./shared.js";

/** Tokens the checks send before any load. */
export interface CheckTokens {
  valid: string;
  /** The valid token with one signature character changed. */
  tampered: string;
  /** Correctly signed, but `token_use: "id"`. */
  idToken: string;
}

/** Settings of one load run. */
export interface LoadSettings {
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
}

/** What one measured run of one server produced. */
export interface LoadSample {
  kind: ServerKind;
  round: number;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMeanMs: number;
  totalRequests: number;
  /** The server process's CPU time per completed request during the measured run. */
  serverCpuUsPerRequest: number;
  non2xx: number;
  errors: number;
}

const VERIFYING: ReadonlySet<ServerKind> = new Set(["b", "c", "d", "e", "f"]);

/** A benchmark server running in a child process. */
export interface RunningServer {
  url: string;
  /** The child's CPU time so far (user + system), in microseconds. */
  cpuMicroseconds(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts the server of `config.kind` in a child process; resolves once it listens. */
export async function startServer(
  config: ServerConfig,
  nodeFlags: readonly string[] = [],
): Promise<RunningServer> {
  const { child, message } = await startChild<ServerReady>("server.ts", {
    env: { BENCH_CONFIG: JSON.stringify(config) },
    nodeFlags,
    timeoutMs: 30_000,
  });
  const cpuMicroseconds = () =>
    new Promise<number>((resolve, reject) => {
      const onMessage = (reply: CpuReading) => {
        if (reply.type !== "cpu") return;
        child.off("message", onMessage);
        resolve(reply.microseconds);
      };
      child.on("message", onMessage);
      child.send({ type: "cpu" }, (error) => {
        if (error === null) return;
        child.off("message", onMessage);
        reject(error);
      });
    });
  return {
    url: `http://127.0.0.1:${message.port}${PING_PATH}`,
    cpuMicroseconds,
    stop: () => stopChild(child),
  };
}

async function statusOf(
  url: string,
  token: string | null,
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> =
    token === null ? {} : { authorization: `Bearer ${token}` };
  const response = await fetch(url, { headers });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (some error pages); the status is what is checked then.
  }
  return { status: response.status, body };
}

/**
 * Makes sure a server answers like it should before it is measured: the valid token gets the
 * ping result; a verifying server refuses no token, a tampered token and an ID token with 401.
 */
export async function checkServer(
  kind: ServerKind,
  url: string,
  tokens: CheckTokens,
): Promise<void> {
  const ok = await statusOf(url, tokens.valid);
  const expected = { result: { data: PING_RESULT } };
  if (ok.status !== 200 || !isDeepStrictEqual(ok.body, expected)) {
    throw new Error(`Server ${kind}: valid token got ${ok.status} ${JSON.stringify(ok.body)}.`);
  }
  if (!VERIFYING.has(kind)) return;

  const refused = {
    "no token": null,
    "tampered token": tokens.tampered,
    "ID token": tokens.idToken,
  };
  for (const [what, token] of Object.entries(refused)) {
    const { status } = await statusOf(url, token);
    if (status !== 401) throw new Error(`Server ${kind}: ${what} got ${status}, expected 401.`);
  }
}

/** Loads the server for the warm-up, then measures (also the server's CPU time). */
export async function loadServer(
  kind: ServerKind,
  round: number,
  server: RunningServer,
  token: string,
  settings: LoadSettings,
): Promise<LoadSample> {
  const common = {
    url: server.url,
    connections: settings.connections,
    headers: { authorization: `Bearer ${token}` },
  };
  await autocannon({ ...common, duration: settings.warmupSeconds });
  const cpuBefore = await server.cpuMicroseconds();
  const result = await autocannon({ ...common, duration: settings.durationSeconds });
  const cpuAfter = await server.cpuMicroseconds();
  return {
    kind,
    round,
    requestsPerSecond: result.requests.average,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyMeanMs: result.latency.average,
    totalRequests: result.requests.total,
    serverCpuUsPerRequest: (cpuAfter - cpuBefore) / Math.max(1, result.requests.total),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}
