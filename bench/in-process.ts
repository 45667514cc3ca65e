/**
 * Child process: per-call costs without HTTP (cache hit, cache miss, one aws-jwt-verify
 * `verify`, a malformed-token rejection) and the unknown-`kid` flood. Reports one
 * {@link InProcessResult} to the parent.
 */
import { CognitoJwtVerifier } from "aws-jwt-verify";

import { CognitoM2MError, createCognitoM2M } from "../src/index.js";
import { startLocalIssuer } from "../src/testing/index.js";
import { loopbackJwksCache } from "./jwks.js";
import { CLIENT_ID, median, SCOPE, sendToParent, USER_POOL_ID } from "./shared.js";
import type { CallCost, FloodResult, InProcessResult } from "./shared.js";
import { kidOf, malformedTokens, unknownKidToken } from "./tokens.js";

const SAMPLES = 5;
const FLOOD_REQUESTS = 10_000;
const FLOOD_BATCH = 500;

type Case = { name: string; iterations: number; call: (i: number) => Promise<unknown> };

/** Times every case `SAMPLES` times, interleaved, and keeps the median per case. */
async function timeCases(cases: readonly Case[]): Promise<CallCost[]> {
  for (const c of cases) await runLoop(c, Math.ceil(c.iterations / 2));

  const samples = cases.map(() => [] as number[]);
  for (let s = 0; s < SAMPLES; s += 1) {
    for (const [index, c] of cases.entries()) {
      const start = process.hrtime.bigint();
      await runLoop(c, c.iterations);
      const elapsed = Number(process.hrtime.bigint() - start);
      samples[index]!.push(elapsed / c.iterations);
    }
  }
  return cases.map((c, index) => ({
    name: c.name,
    nsPerCall: median(samples[index]!),
    iterations: c.iterations,
    samples: SAMPLES,
  }));
}

async function runLoop(c: Case, iterations: number): Promise<void> {
  for (let i = 0; i < iterations; i += 1) await c.call(i);
}

/** Resolves to the error code of the expected rejection; throws if `promise` resolves. */
async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof CognitoM2MError ? error.code : "other";
  }
  throw new Error("A token that must be refused was accepted.");
}

/**
 * Counts calls of aws-jwt-verify's `CognitoJwtVerifier#verify` and `#verifySync` (patched on
 * the prototype, so the library's own verifier instance is seen too) while `run` runs.
 */
async function countVerifierCalls(run: () => Promise<void>): Promise<number> {
  const proto = CognitoJwtVerifier.prototype as unknown as Record<
    "verify" | "verifySync",
    (...args: unknown[]) => unknown
  >;
  const original = { verify: proto.verify, verifySync: proto.verifySync };
  let calls = 0;
  for (const method of ["verify", "verifySync"] as const) {
    proto[method] = function (this: unknown, ...args: unknown[]) {
      calls += 1;
      return original[method].apply(this, args);
    };
  }
  try {
    await run();
  } finally {
    Object.assign(proto, original);
  }
  return calls;
}

async function flood(
  token: string,
  issuer: Awaited<ReturnType<typeof startLocalIssuer>>,
): Promise<FloodResult> {
  const m2m = createCognitoM2M({
    userPoolId: USER_POOL_ID,
    verifierOptions: issuer.verifierOptions,
  });
  await m2m.ready();
  const readyFetches = issuer.jwksFetchCount;

  const headers = Array.from({ length: FLOOD_REQUESTS }, () => ({
    authorization: `Bearer ${unknownKidToken(token)}`,
  }));
  const rejectedByCode: Record<string, number> = {};
  let accepted = 0;

  const start = performance.now();
  for (let offset = 0; offset < headers.length; offset += FLOOD_BATCH) {
    const batch = headers.slice(offset, offset + FLOOD_BATCH);
    const outcomes = await Promise.allSettled(batch.map((h) => m2m.authenticate(h)));
    for (const outcome of outcomes) {
      if (outcome.status === "fulfilled") {
        accepted += 1;
        continue;
      }
      const reason: unknown = outcome.reason;
      const code = reason instanceof CognitoM2MError ? reason.code : "other";
      rejectedByCode[code] = (rejectedByCode[code] ?? 0) + 1;
    }
  }
  const elapsedMs = performance.now() - start;

  return {
    requests: FLOOD_REQUESTS,
    batchSize: FLOOD_BATCH,
    elapsedMs,
    jwksFetches: issuer.jwksFetchCount - readyFetches,
    readyFetches,
    accepted,
    rejectedByCode,
    penaltyWindowSeconds: 10,
  };
}

async function main(): Promise<InProcessResult> {
  const issuer = await startLocalIssuer({ userPoolId: USER_POOL_ID, clients: [] });
  const token = issuer.mintAccessToken({ clientId: CLIENT_ID, scopes: [SCOPE] });
  const headers = { authorization: `Bearer ${token}` };
  const keys = { userPoolId: USER_POOL_ID, jwksUri: issuer.jwksUri };

  const cached = createCognitoM2M({
    userPoolId: USER_POOL_ID,
    verifierOptions: { jwksCache: loopbackJwksCache(keys) },
  });
  const uncached = createCognitoM2M({
    userPoolId: USER_POOL_ID,
    verifierOptions: { jwksCache: loopbackJwksCache(keys) },
    tokenCache: false,
  });
  const direct = CognitoJwtVerifier.create(
    { userPoolId: USER_POOL_ID, tokenUse: "access", clientId: null },
    { jwksCache: loopbackJwksCache(keys) },
  );
  await Promise.all([cached.ready(), uncached.ready(), direct.hydrate()]);
  await cached.authenticate(headers);

  const shapes = malformedTokens(token, kidOf(token));
  const malformedHeaders = Object.values(shapes).map((t) => ({ authorization: `Bearer ${t}` }));

  const malformedVerifierCalls = await countVerifierCalls(async () => {
    for (const h of malformedHeaders) await rejectionCode(cached.authenticate(h));
  });
  const spyControlCalls = await countVerifierCalls(async () => {
    await uncached.authenticate(headers);
    await rejectionCode(direct.verify(shapes["alg HS256"]!));
  });

  const [cacheHit, cacheMiss, directVerify, malformed] = await timeCases([
    { name: "cache hit", iterations: 100_000, call: () => cached.authenticate(headers) },
    { name: "cache miss", iterations: 5_000, call: () => uncached.authenticate(headers) },
    { name: "direct verify", iterations: 5_000, call: () => direct.verify(token) },
    {
      name: "malformed",
      iterations: 40_000,
      call: (i) =>
        rejectionCode(cached.authenticate(malformedHeaders[i % malformedHeaders.length]!)),
    },
  ]);

  const floodResult = await flood(token, issuer);
  await issuer.close();
  return {
    type: "in-process",
    cacheHit: cacheHit!,
    cacheMiss: cacheMiss!,
    directVerify: directVerify!,
    malformed: malformed!,
    malformedShapes: Object.keys(shapes),
    malformedVerifierCalls,
    spyControlCalls,
    flood: floodResult,
  };
}

await sendToParent(await main());
process.exit(0);
