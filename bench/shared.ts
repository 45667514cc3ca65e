/**
 * Constants, message shapes and small helpers shared by the benchmark's parent process and its
 * child processes (servers, in-process measurements, memory).
 */

/** The user pool the local issuer impersonates. */
export const USER_POOL_ID = "eu-west-1_Bench01";

/** The app client whose token every server is loaded with. */
export const CLIENT_ID = "bench-client";

/** The scope granted to the benchmark token. */
export const SCOPE = "bench/read";

/** What the one query of the tiny router returns, identical on every server. */
export const PING_RESULT = Object.freeze({ ok: true, service: "bench", n: 42 });

/** The path the load generator requests (tRPC query `ping`, no input, no batching). */
export const PING_PATH = "/ping";

/** The servers compared over HTTP, in the order they are loaded each round. */
export const SERVER_KINDS = ["a", "b", "c", "d", "e", "f", "x", "y"] as const;

/** One server configuration. */
export type ServerKind = (typeof SERVER_KINDS)[number];

/** Human-readable names of the servers, for the report. */
export const SERVER_LABELS: Readonly<Record<ServerKind, string>> = {
  a: "(a) no auth, standalone adapter",
  b: "(b) trpc-cognito-m2m, token cache (default options)",
  c: "(c) trpc-cognito-m2m, `tokenCache: false`",
  d: "(d) hand-written aws-jwt-verify `verify` per request",
  e: "(e) jose `jwtVerify` + `createRemoteJWKSet`",
  f: "(f) express-oauth2-jwt-bearer + tRPC express adapter",
  x: "(x) reference: express + tRPC express adapter, no auth",
  y: "(y) reference: (d) without `verify`, no auth",
};

/** Where a child server finds the local issuer, passed in the `BENCH_CONFIG` variable. */
export interface ServerConfig {
  kind: ServerKind;
  userPoolId: string;
  /** The Cognito `iss` the tokens carry. */
  issuer: string;
  /** The local issuer's plain-HTTP JWKS URL. */
  jwksUri: string;
}

/** First message of a child server: it listens on `port`. */
export interface ServerReady {
  type: "ready";
  port: number;
}

/** A child server's CPU time (user + system) so far, answering a `{ type: "cpu" }` message. */
export interface CpuReading {
  type: "cpu";
  microseconds: number;
}

/** A measured cost per call. */
export interface CallCost {
  name: string;
  /** Median over the samples, in nanoseconds per call. */
  nsPerCall: number;
  /** Calls per sample. */
  iterations: number;
  samples: number;
}

/** What the in-process child reports. */
export interface InProcessResult {
  type: "in-process";
  cacheHit: CallCost;
  cacheMiss: CallCost;
  directVerify: CallCost;
  malformed: CallCost;
  /** Shapes of malformed tokens, cycled through during the measurement. */
  malformedShapes: string[];
  /** aws-jwt-verify `verify`/`verifySync` calls the library made for malformed tokens. */
  malformedVerifierCalls: number;
  /** The same spy's count for the control calls (must be > 0 to prove the spy works). */
  spyControlCalls: number;
  flood: FloodResult;
}

/** The unknown-`kid` flood. */
export interface FloodResult {
  requests: number;
  batchSize: number;
  elapsedMs: number;
  /** JWKS fetches of the local issuer during the flood (after `m2m.ready()`). */
  jwksFetches: number;
  /** Fetches before the flood, made by `m2m.ready()`. */
  readyFetches: number;
  accepted: number;
  /** Rejections by library error code. */
  rejectedByCode: Record<string, number>;
  penaltyWindowSeconds: number;
}

/** The `auth()` options of (f); the report prints them. */
export function auth0Options(config: Pick<ServerConfig, "issuer" | "jwksUri">) {
  return {
    issuer: config.issuer,
    jwksUri: config.jwksUri,
    // auth() insists on an audience, but Cognito access tokens carry no `aud`: the `aud`
    // validator is switched off below, so this value is never compared.
    audience: "unused-cognito-access-tokens-have-no-aud",
    tokenSigningAlg: "RS256",
    validators: { aud: false as const, token_use: "access" },
  };
}

/** One memory reading, taken after `gc()`. */
export interface MemoryPoint {
  tokens: number;
  rssBytes: number;
  heapUsedBytes: number;
  cacheSize: number;
}

/** What the memory child reports. */
export interface MemoryResult {
  type: "memory";
  maxEntries: number;
  realTokens: number;
  realTokensAccepted: number;
  points: MemoryPoint[];
  elapsedMs: number;
}

/** The median of `values` (which must not be empty). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[mid]!;
  return (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Sends `message` to the parent process, failing loudly when there is no IPC channel. */
export function sendToParent(message: object): Promise<void> {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error("This script runs as a child of bench/run.ts.");
  return new Promise((resolve, reject) => {
    send(message, undefined, undefined, (error) => (error ? reject(error) : resolve()));
  });
}
