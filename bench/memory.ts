/**
 * Child process (run with `--expose-gc`): resident memory after authenticating 1 000 000
 * distinct tokens through the default token cache (maxEntries 10 000).
 *
 * Minting a million RSA-signed tokens would take far longer than the whole benchmark, so the
 * million goes through `createCognitoM2M({ verifier })` with a trivial verifier that returns
 * claims for any token string: everything after verification (principal, cache key, cache
 * entry, eviction) is the library's real code. A few hundred real tokens first go through the
 * default aws-jwt-verify verifier, as a check that the shapes match.
 */
import { createCognitoM2M } from "../src/index.js";
import type { TokenVerifier } from "../src/index.js";
import { createTestIssuer } from "../src/testing/index.js";
import { TokenCache } from "../src/verification/token-cache.js";
import { CLIENT_ID, SCOPE, sendToParent, USER_POOL_ID } from "./shared.js";
import type { MemoryPoint, MemoryResult } from "./shared.js";

const REAL_TOKENS = 300;
const TOTAL_TOKENS = 1_000_000;
const CHECKPOINTS = new Set([10_000, 100_000, 250_000, 500_000, TOTAL_TOKENS]);
const MAX_ENTRIES = 10_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("Run with node --expose-gc.");

/** Every TokenCache that stores an entry; the library keeps its cache private. */
const caches = new Set<TokenCache>();
const originalSet = TokenCache.prototype.set;
TokenCache.prototype.set = function (this: TokenCache, ...args: Parameters<TokenCache["set"]>) {
  caches.add(this);
  return originalSet.apply(this, args);
};

/** Claims shaped like a Cognito client-credentials access token, distinct per token. */
function claimsFor(token: string, exp: number): object {
  return {
    sub: CLIENT_ID,
    token_use: "access",
    scope: SCOPE,
    auth_time: exp - 3600,
    iss: `https://cognito-idp.eu-west-1.amazonaws.com/${USER_POOL_ID}`,
    exp,
    iat: exp - 3600,
    version: 2,
    jti: token.slice(-12),
    client_id: CLIENT_ID,
  };
}

function reading(tokens: number, cache: TokenCache | undefined): MemoryPoint {
  gc!();
  gc!();
  const { rss, heapUsed } = process.memoryUsage();
  return { tokens, rssBytes: rss, heapUsedBytes: heapUsed, cacheSize: cache?.size ?? 0 };
}

async function main(): Promise<MemoryResult> {
  const issuer = createTestIssuer({ userPoolId: USER_POOL_ID });
  const real = createCognitoM2M({
    userPoolId: USER_POOL_ID,
    verifierOptions: issuer.verifierOptions,
  });
  const templates = Array.from({ length: REAL_TOKENS }, () =>
    issuer.mintAccessToken({ clientId: CLIENT_ID, scopes: [SCOPE] }),
  );
  let realTokensAccepted = 0;
  for (const token of templates) {
    const principal = await real.authenticate({ authorization: `Bearer ${token}` });
    if (principal?.clientId === CLIENT_ID) realTokensAccepted += 1;
  }

  const exp = Math.floor(Date.now() / 1000) + 3600;
  const verifier: TokenVerifier = { verify: (token) => claimsFor(token, exp) };
  const m2m = createCognitoM2M({ userPoolId: USER_POOL_ID, verifier });
  caches.clear();

  const points = [reading(0, undefined)];
  const start = performance.now();
  for (let i = 1; i <= TOTAL_TOKENS; i += 1) {
    // A real token's text with a distinct suffix: realistic length, a new string every time.
    const token = `${templates[i % REAL_TOKENS]!}${i.toString(36)}`;
    await m2m.authenticate({ authorization: `Bearer ${token}` });
    if (CHECKPOINTS.has(i)) points.push(reading(i, [...caches][0]));
  }
  const elapsedMs = performance.now() - start;

  if (caches.size !== 1) throw new Error(`Expected one token cache in use, saw ${caches.size}.`);
  return {
    type: "memory",
    maxEntries: MAX_ENTRIES,
    realTokens: REAL_TOKENS,
    realTokensAccepted,
    points,
    elapsedMs,
  };
}

await sendToParent(await main());
process.exit(0);
