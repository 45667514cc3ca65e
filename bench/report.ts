/**
 * Turns the measurements into the medians, ratios and target checks, and renders
 * `BENCHMARKS.md`. Every verdict is computed from the numbers passed in.
 */
import type { LoadSample, LoadSettings } from "./http-load.js";
import type { ProfileSummary } from "./profile-summary.js";
import { median, SERVER_KINDS, SERVER_LABELS } from "./shared.js";
import type { InProcessResult, MemoryResult, ServerKind } from "./shared.js";

/** The machine the numbers come from. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  node: string;
  os: string;
  date: string;
  loadAverage: readonly number[];
  /** The commit measured, and whether `src/` had uncommitted changes then. */
  source: string;
  /** Load average when the measurements ended. */
  loadAverageEnd?: readonly number[];
}

/** Everything a report is made of. */
export interface BenchData {
  machine: MachineInfo;
  settings: LoadSettings & { rounds: number };
  samples: readonly LoadSample[];
  inProcess: InProcessResult;
  memory: MemoryResult;
  /** The `auth()` options of server (f), as configured. */
  auth0Options: object;
  /** A CPU profile of server (b) under load, taken when (b) misses its throughput target. */
  profileOfB?: ProfileSummary;
  elapsedSeconds: number;
}

/** Medians over the rounds of one server. */
export interface ServerSummary {
  kind: ServerKind;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Lowest and highest req/s over the rounds. */
  spread: [number, number];
  vsA: number;
  vsD: number;
  /** Median CPU time of the server process per request, in µs. */
  cpuUsPerRequest: number;
  /** CPU-bound capacity relative to (a): CPU per request of (a) over this server's. */
  cpuVsA: number;
  /** The same relative to (d). */
  cpuVsD: number;
  non2xx: number;
  errors: number;
}

/** One target of the issue, checked against the measurements. */
export interface TargetCheck {
  target: string;
  met: boolean;
  measured: string;
  /** A check added by the benchmark, not one of the targets. */
  crossCheck?: boolean;
}

/** Targets of the issue, as numbers. */
export const TARGETS = {
  /** (b) req/s at least this share of (a). */
  bVsA: 0.95,
  /** (b) req/s about this multiple of (d)… */
  bVsD: 1.7,
  /** …counted as met down to this fraction of it. */
  bVsDTolerance: 0.9,
  /** A cache hit at least this many times cheaper than one aws-jwt-verify verify. */
  hitVsVerify: 5,
  /** Heap growth from 100k to 1M tokens allowed: this share of the heap at 100k… */
  heapGrowthShare: 0.1,
  /** …or this many bytes, whichever is larger. */
  heapGrowthFloorBytes: 5 * 1024 * 1024,
} as const;

/** Medians per server, in the order of {@link SERVER_KINDS}. */
export function summariseServers(samples: readonly LoadSample[]): ServerSummary[] {
  const medianOf = (kind: ServerKind, pick: (s: LoadSample) => number) =>
    median(samples.filter((s) => s.kind === kind).map(pick));
  const rps = (kind: ServerKind) => medianOf(kind, (s) => s.requestsPerSecond);
  const cpu = (kind: ServerKind) => medianOf(kind, (s) => s.serverCpuUsPerRequest);
  const a = rps("a");
  const d = rps("d");

  return SERVER_KINDS.map((kind) => {
    const mine = samples.filter((s) => s.kind === kind);
    const values = mine.map((s) => s.requestsPerSecond);
    return {
      kind,
      requestsPerSecond: rps(kind),
      latencyP50Ms: medianOf(kind, (s) => s.latencyP50Ms),
      latencyP99Ms: medianOf(kind, (s) => s.latencyP99Ms),
      spread: [Math.min(...values), Math.max(...values)],
      vsA: rps(kind) / a,
      vsD: rps(kind) / d,
      cpuUsPerRequest: cpu(kind),
      cpuVsA: cpu("a") / cpu(kind),
      cpuVsD: cpu("d") / cpu(kind),
      non2xx: mine.reduce((sum, s) => sum + s.non2xx, 0),
      errors: mine.reduce((sum, s) => sum + s.errors, 0),
    };
  });
}

/** Penalty windows the flood spanned (at least one). */
export function floodWindows(inProcess: InProcessResult): number {
  const { elapsedMs, penaltyWindowSeconds } = inProcess.flood;
  return Math.max(1, Math.ceil(elapsedMs / (penaltyWindowSeconds * 1000)));
}

/** Heap growth between 100k and 1M tokens, and the allowance it is checked against. */
export function heapGrowth(memory: MemoryResult): { growth: number; allowed: number } {
  const at = (tokens: number) => memory.points.find((p) => p.tokens === tokens);
  const at100k = at(100_000);
  const at1m = at(1_000_000);
  if (at100k === undefined || at1m === undefined) return { growth: NaN, allowed: 0 };
  const allowed = Math.max(
    TARGETS.heapGrowthFloorBytes,
    at100k.heapUsedBytes * TARGETS.heapGrowthShare,
  );
  return { growth: at1m.heapUsedBytes - at100k.heapUsedBytes, allowed };
}

/** Checks every target of the issue against the measurements. */
export function checkTargets(data: BenchData): TargetCheck[] {
  const servers = summariseServers(data.samples);
  const server = (kind: ServerKind) => servers.find((s) => s.kind === kind)!;
  const [a, b, d] = [server("a"), server("b"), server("d")];
  const { inProcess, memory } = data;
  const hitRatio = inProcess.directVerify.nsPerCall / inProcess.cacheHit.nsPerCall;
  const windows = floodWindows(inProcess);
  const { growth, allowed } = heapGrowth(memory);
  const cacheBounded = memory.points.every((p) => p.cacheSize <= memory.maxEntries);
  const minBvsD = TARGETS.bVsD * TARGETS.bVsDTolerance;

  return [
    {
      target: `(b) req/s ≥ ${TARGETS.bVsA} × (a)`,
      met: b.vsA >= TARGETS.bVsA,
      measured: `${fmtRatio(b.vsA)} × (a)`,
    },
    {
      target: `(b) req/s ≈ ${TARGETS.bVsD} × (d) (met from ${fmtRatio(minBvsD)} ×, 10 % under)`,
      met: b.vsD >= minBvsD,
      measured: `${fmtRatio(b.vsD)} × (d)`,
    },
    {
      crossCheck: true,
      target: `(b) CPU-bound capacity ≥ ${TARGETS.bVsA} × (a)`,
      met: b.cpuVsA >= TARGETS.bVsA,
      measured:
        `${fmtRatio(b.cpuVsA)} × (a) (${fmtUs(b.cpuUsPerRequest)} vs ${fmtUs(a.cpuUsPerRequest)}` +
        " of server CPU per request)",
    },
    {
      crossCheck: true,
      target: `(b) CPU-bound capacity ≈ ${TARGETS.bVsD} × (d) (from ${fmtRatio(minBvsD)} ×)`,
      met: b.cpuVsD >= minBvsD,
      measured:
        `${fmtRatio(b.cpuVsD)} × (d)` +
        ` (${fmtUs(b.cpuUsPerRequest)} vs ${fmtUs(d.cpuUsPerRequest)})`,
    },
    {
      target: `cache hit ≥ ${TARGETS.hitVsVerify} × cheaper than one aws-jwt-verify \`verify\``,
      met: hitRatio >= TARGETS.hitVsVerify,
      measured:
        `${fmtRatio(hitRatio)} × (${fmtNs(inProcess.cacheHit.nsPerCall)}` +
        ` vs ${fmtNs(inProcess.directVerify.nsPerCall)})`,
    },
    {
      target: "malformed tokens rejected without calling the verifier",
      met: inProcess.malformedVerifierCalls === 0 && inProcess.spyControlCalls > 0,
      measured:
        `${inProcess.malformedVerifierCalls} verifier calls for` +
        ` ${inProcess.malformedShapes.length} malformed shapes` +
        ` (spy saw ${inProcess.spyControlCalls} control calls)`,
    },
    {
      target: "≤ 1 JWKS fetch per 10 s penalty window under the unknown-`kid` flood",
      met: inProcess.flood.jwksFetches <= windows && inProcess.flood.accepted === 0,
      measured:
        `${inProcess.flood.jwksFetches} fetch(es) in ${fmtMs(inProcess.flood.elapsedMs)}` +
        ` (${windows} window(s)), ${inProcess.flood.accepted} accepted`,
    },
    {
      target: `memory bounded by the cache size (maxEntries ${memory.maxEntries})`,
      met: cacheBounded && growth <= allowed,
      measured:
        `cache ≤ ${memory.maxEntries}: ${cacheBounded ? "yes" : "no"}; heap 100k → 1M:` +
        ` ${fmtSignedMiB(growth)} (allowed ${fmtMiB(allowed)})`,
    },
  ];
}

function fmtRatio(value: number): string {
  return value.toFixed(2);
}

function fmtNs(ns: number): string {
  return ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${(ns / 1000).toFixed(2)} µs`;
}

function fmtUs(us: number): string {
  return `${us.toFixed(0)} µs`;
}

function fmtMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`;
}

function fmtMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function fmtSignedMiB(bytes: number): string {
  return `${bytes >= 0 ? "+" : "−"}${fmtMiB(Math.abs(bytes))}`;
}

function fmtLoad(values: readonly number[]): string {
  return values.map((l) => l.toFixed(2)).join(", ");
}

function fmtInt(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  const align = header.map((_, i) => (i === 0 ? "---" : "---:"));
  return [line(header), line(align), ...rows.map(line)];
}

function httpSection(data: BenchData): string[] {
  const servers = summariseServers(data.samples);
  const server = (kind: ServerKind) => servers.find((s) => s.kind === kind)!;
  const [a, b, y] = [server("a"), server("b"), server("y")];
  const rows = servers.map((s) => [
    SERVER_LABELS[s.kind],
    fmtInt(s.requestsPerSecond),
    `${fmtInt(s.spread[0])}–${fmtInt(s.spread[1])}`,
    `${s.latencyP50Ms}`,
    `${s.latencyP99Ms}`,
    fmtRatio(s.vsA),
    fmtRatio(s.vsD),
    s.cpuUsPerRequest.toFixed(0),
    fmtRatio(s.cpuVsA),
    fmtRatio(s.cpuVsD),
    `${s.non2xx} / ${s.errors}`,
  ]);
  return [
    "## HTTP: req/s and latency (median of the rounds)",
    "",
    ...table(
      [
        "server",
        "req/s",
        "req/s range",
        "p50 ms",
        "p99 ms",
        "req/s vs (a)",
        "req/s vs (d)",
        "server CPU µs/req",
        "CPU vs (a)",
        "CPU vs (d)",
        "non-2xx / errors",
      ],
      rows,
    ),
    "",
    `(b) against (y), i.e. the library's own share once tRPC's context and middleware cost is` +
      ` paid: ${fmtRatio(b.vsA / y.vsA)} × in req/s, ${fmtRatio(b.cpuVsA / y.cpuVsA)} × in CPU` +
      ` capacity ((b) ${fmtUs(b.cpuUsPerRequest)} vs (y) ${fmtUs(y.cpuUsPerRequest)}` +
      ` vs (a) ${fmtUs(a.cpuUsPerRequest)} of server CPU per request).`,
    "",
    "Latency percentiles come from autocannon's histogram, which has 1 ms resolution.",
    "",
    '"Server CPU µs/req" is the server process\'s user + system CPU time during the measured' +
      ' seconds divided by the requests it completed; "CPU vs" is the other server\'s CPU per' +
      " request over this one's, i.e. relative single-core capacity. Other processes on the same" +
      " cores disturb it too (shared caches and execution units), but it does not count the time" +
      " the server waits for a core, so it is a second view next to req/s, not a replacement. The" +
      " issue's targets are checked on req/s.",
    "",
  ];
}

function inProcessSection(inProcess: InProcessResult): string[] {
  const hit = inProcess.cacheHit.nsPerCall;
  const row = (label: string, cost: InProcessResult["cacheHit"]) => [
    label,
    fmtNs(cost.nsPerCall),
    fmtRatio(cost.nsPerCall / hit),
    `${fmtInt(cost.iterations)} × ${cost.samples}`,
  ];
  return [
    "## In-process cost per call (no HTTP)",
    "",
    ...table(
      ["operation", "per call", "× cache hit", "calls × samples"],
      [
        row("cache hit: `m2m.authenticate` with a cached token", inProcess.cacheHit),
        row("cache miss: `m2m.authenticate`, `tokenCache: false`", inProcess.cacheMiss),
        row("one aws-jwt-verify `CognitoJwtVerifier.verify`", inProcess.directVerify),
        row("malformed token rejected by `m2m.authenticate`", inProcess.malformed),
      ],
    ),
    "",
    `Cache miss / cache hit: **${fmtRatio(inProcess.cacheMiss.nsPerCall / hit)} ×**;` +
      " one aws-jwt-verify verify / cache hit:" +
      ` **${fmtRatio(inProcess.directVerify.nsPerCall / hit)} ×**.`,
    "",
    `Malformed shapes cycled through: ${inProcess.malformedShapes.join(", ")}. A spy on` +
      " `CognitoJwtVerifier.prototype.verify` and `verifySync` counted" +
      ` **${inProcess.malformedVerifierCalls}** calls while the library refused them; the same` +
      ` spy counted ${inProcess.spyControlCalls} calls for the control (one valid token through` +
      " `tokenCache: false`, one malformed token straight into aws-jwt-verify), so it does see" +
      " the library's verifier. The rejection cost itself is measured with the default verifier" +
      " and no spy.",
    "",
  ];
}

function floodSection(inProcess: InProcessResult): string[] {
  const f = inProcess.flood;
  const codes = Object.entries(f.rejectedByCode)
    .map(([code, n]) => `${code} ${fmtInt(n)}`)
    .join(", ");
  return [
    "## Unknown-`kid` flood",
    "",
    `${fmtInt(f.requests)} tokens, each with a random \`kid\` the issuer never had, through` +
      ` \`m2m.authenticate\` (default options) in concurrent batches of ${f.batchSize}, after` +
      ` \`m2m.ready()\` (which itself fetched ${f.readyFetches} time(s)).`,
    "",
    `- elapsed: ${fmtMs(f.elapsedMs)} (${floodWindows(inProcess)} penalty window(s) of` +
      ` ${f.penaltyWindowSeconds} s)`,
    `- JWKS fetches of the local issuer during the flood: **${f.jwksFetches}**`,
    `- accepted: ${f.accepted}; rejected by code: ${codes}`,
    "",
  ];
}

function memorySection(memory: MemoryResult): string[] {
  const rows = memory.points.map((p) => [
    fmtInt(p.tokens),
    fmtMiB(p.rssBytes),
    fmtMiB(p.heapUsedBytes),
    fmtInt(p.cacheSize),
  ]);
  return [
    "## Memory after many distinct tokens (default cache, maxEntries 10 000)",
    "",
    `**Verifier used:** ${memory.realTokens} real RS256 tokens were minted and verified by the` +
      ` default aws-jwt-verify verifier (${memory.realTokensAccepted} accepted). The` +
      ` ${fmtInt(memory.points.at(-1)?.tokens ?? 0)} distinct tokens then went through a second` +
      " instance, `createCognitoM2M({ verifier })`, whose trivial verifier returns Cognito-shaped" +
      " claims for any string: each token is one of the real tokens with a distinct suffix, so it" +
      " has a real token's length. Principal creation, cache keys, cache entries and eviction are" +
      ` the library's own code. That run took ${fmtMs(memory.elapsedMs)}.`,
    "",
    "Readings after two `gc()` calls (`node --expose-gc`, separate child process); the cache size" +
      " is read from the library's `TokenCache` instance.",
    "",
    ...table(["tokens", "rss", "heapUsed", "cache entries"], rows),
    "",
  ];
}

function profileSection(profile: ProfileSummary | undefined): string[] {
  if (profile === undefined) return [];
  const pct = (share: number) => `${(share * 100).toFixed(1)} %`;
  return [
    "## Where (b) spends its time (CPU profile under load)",
    "",
    "Taken because (b) missed its throughput target: server (b) run once more with" +
      " `node --cpu-prof` under the same load. Self time in `src/`:" +
      ` ${pct(profile.librarySelfShare)}` +
      " of the samples. Total time counts a function with everything it calls, as far as the" +
      " profiler can follow it across `await`.",
    "",
    ...table(
      ["function (self time)", "share"],
      profile.bySelf.map((h) => [`\`${h.name}\``, pct(h.share)]),
    ),
    "",
    ...table(
      ["function in src/ (total time)", "share"],
      profile.libraryByTotal.map((h) => [`\`${h.name}\``, pct(h.share)]),
    ),
    "",
  ];
}

function methodSection(data: BenchData): string[] {
  const s = data.settings;
  return [
    "## Method",
    "",
    "- One local issuer (`startLocalIssuer`) in the parent process signs one valid access token" +
      " (RS256, no `aud`, like Cognito's client-credentials tokens) and serves its JWKS over" +
      " loopback HTTP. Every verifying server fetches its keys from it.",
    "- Every server serves the same router: one query `ping` returning a small constant object," +
      " requested as `GET /ping`. Before loading, each server is checked: the valid token gets" +
      " the result, and verifying servers answer 401 to no token, a tampered signature and an" +
      " ID token.",
    "- Servers run in child processes, one at a time, so autocannon (in the parent) never shares" +
      ` their event loop. Each run: start, check, ${s.warmupSeconds} s warm-up (also fetches the` +
      ` keys), ${s.durationSeconds} s measured with ${s.connections} connections, stop.` +
      ` ${s.rounds} rounds, interleaved (${SERVER_KINDS.join(", ")}, then again); the median of` +
      " the rounds is reported, with the range of req/s.",
    "- (b)/(c) use `createCognitoM2M({ userPoolId, verifierOptions: { jwksCache } })` with a" +
      " `SimpleJwksCache` whose fetcher maps the pool's Cognito JWKS URIs to the local issuer" +
      " (aws-jwt-verify's own fetcher speaks HTTPS only); the route is" +
      " `publicProcedure.concat(m2m.machineProcedure)` and `createContext: m2m.createContext`." +
      " (d) uses the same kind of JWKS cache with one `CognitoJwtVerifier` created at start-up," +
      " `verify` in `createContext`, and a protected-procedure middleware. (e) uses jose" +
      " `jwtVerify` with `createRemoteJWKSet(jwksUri)`, checking `iss`, RS256, `exp`, `client_id`" +
      " and `token_use === 'access'`. (x) is express with tRPC's express adapter and no" +
      " authentication: the fair baseline for (f). (y) is (d) without `verify`: an async" +
      " `createContext` that reads the bearer token and a middleware that requires one, so" +
      " (b) against (y) isolates the library's own per-request cost from tRPC's.",
    "- (f) express-oauth2-jwt-bearer `auth()` options:" +
      ` \`${JSON.stringify(data.auth0Options)}\`.` +
      " `auth()` refuses to start without `audience`, but its `validators` option can replace or" +
      " switch off each claim check: `aud: false` skips the audience check, so the same" +
      " `aud`-less Cognito token is used for all servers (no special tokens were minted), and" +
      " `token_use: 'access'` adds Cognito's token-use check. Its http loopback `jwksUri` works" +
      " as is. Failures reach a small express error handler that answers 401 with the challenge.",
    "- In-process costs run in another child process, without HTTP: each operation is timed in" +
      " a loop of awaited calls after a warm-up, 5 samples interleaved across operations, median" +
      " kept.",
    "- Everything runs through tsx (TypeScript sources of `src/`, transpiled on load).",
    "",
  ];
}

function checkLine(t: TargetCheck): string {
  const box = t.met ? "[x] **met**" : "[ ] **not met**";
  return `- ${box}: ${t.target} — measured ${t.measured}`;
}

/** Renders `BENCHMARKS.md`. */
export function renderReport(data: BenchData): string {
  const m = data.machine;
  const targets = checkTargets(data);
  const lines = [
    "# Benchmarks",
    "",
    "Generated by `npm run bench` (bench/run.ts); do not edit by hand. Numbers from one run on a" +
      " shared machine: compare ratios within this file rather than absolute values across runs.",
    "",
    "## Machine",
    "",
    `- CPU: ${m.cpu}, ${m.cores} cores`,
    `- Node ${m.node}, ${m.os}`,
    `- date: ${m.date}`,
    `- source measured: ${m.source}`,
    `- load average (1, 5, 15 min) at start: ${fmtLoad(m.loadAverage)}; at the end:` +
      ` ${fmtLoad(m.loadAverageEnd ?? [])}. Other work shares this machine, so the rounds are` +
      " interleaved and medians reported; the req/s range shows the spread.",
    `- whole run: ${data.elapsedSeconds.toFixed(0)} s`,
    "",
    "## Targets",
    "",
    ...targets.filter((t) => t.crossCheck !== true).map(checkLine),
    "",
    "Cross-checks on server CPU per request (added by the benchmark, not issue targets):",
    "",
    ...targets.filter((t) => t.crossCheck === true).map(checkLine),
    "",
    ...httpSection(data),
    ...inProcessSection(data.inProcess),
    ...floodSection(data.inProcess),
    ...memorySection(data.memory),
    ...profileSection(data.profileOfB),
    ...methodSection(data),
  ];
  return `${lines.join("\n").trimEnd()}\n`;
}
