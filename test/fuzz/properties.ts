/**
 * The fuzz properties, shared by `npm run fuzz` (test/fuzz/run.ts, 100 000+ cases) and the
 * smaller run in `npm test` (test/fuzz/fuzz.test.ts). Each property gets generated input from
 * ./arbitraries.ts and checks what `authenticate`, `createContext` or a running server did:
 *
 * - only this library's errors are thrown (never a `ConfigurationError`, and never
 *   `jwks_unavailable`: the JWKS is served by a live local issuer throughout);
 * - the server never answers 5xx, and its status agrees with `error.data.cognito.code`;
 * - a principal only exists for a token the verifier accepts: one of the valid tokens minted
 *   up front (byte for byte, or with a signature segment that decodes to the same bytes), or a
 *   validly signed token whose claims pass every check;
 * - no presented token, nor its signature segment, reaches a log line or a response body.
 */
import assert from "node:assert/strict";
import { Agent } from "node:http";

import { TRPCError } from "@trpc/server";
import fc from "fast-check";

import {
  ClientNotAllowedError,
  CognitoM2MError,
  ConfigurationError,
  JwksUnavailableError,
  type ServicePrincipal,
} from "../../src/index.js";
import { startLocalIssuer, type LocalIssuer } from "../../src/testing/index.js";
import {
  cognitoCode,
  createHardenedApp,
  send,
  serveHardened,
  type HardenedApp,
  type HardenedServer,
} from "../hardening/support/app.js";
import {
  applyMutation,
  buildHeaderSource,
  claimEdits,
  connectionParams,
  headerSourceSpec,
  headerValue,
  mutatedToken,
  stringsOf,
  tokenLike,
  type ClaimEdits,
  type FuzzWorld,
  type PoolToken,
} from "./arbitraries.js";

const POOL = "eu-west-1_Fuzz1";

/** What happened to one case, counted per property. */
export interface FuzzStats {
  cases: number;
  principals: number;
  /** Principals for a token that differs from a minted one only in its signature's encoding. */
  variants: number;
  nulls: number;
  /** Rejections, by `code` (for the server: `error.data.cognito.code`). */
  codes: Record<string, number>;
}

/** Everything the properties run against. */
export interface FuzzHarness {
  readonly world: FuzzWorld;
  readonly issuer: LocalIssuer;
  /** An instance with the verified-token cache. */
  readonly cached: HardenedApp;
  /** An instance that verifies every token (`tokenCache: false`). */
  readonly uncached: HardenedApp;
  /** The instance behind {@link server}. */
  readonly served: HardenedApp;
  readonly server: HardenedServer;
  /** One keep-alive connection to {@link server}. */
  readonly agent: Agent;
  readonly stats: Map<string, FuzzStats>;
  close(): Promise<void>;
}

/**
 * Starts a local issuer (its JWKS stays up, so unknown kids are looked up and refused with
 * 401, never 503), mints the valid tokens the generators draw from, builds the instances and
 * serves one of them.
 */
export async function createFuzzHarness(): Promise<FuzzHarness> {
  const issuer = await startLocalIssuer({ userPoolId: POOL, clients: [] });
  const mint = (clientId: string, scopes: string[]): PoolToken => ({
    token: issuer.mintAccessToken({ clientId, scopes, expiresInSeconds: 6 * 3600 }),
    clientId,
    allowed: clientId !== "stranger",
  });
  const tokens = [
    ...Array.from({ length: 4 }, () => mint("reader", ["widgets/read"])),
    ...Array.from({ length: 3 }, () => mint("writer", [])),
    ...Array.from({ length: 2 }, () => mint("stranger", ["widgets/read"])),
  ];
  const world: FuzzWorld = {
    kid: issuer.jwks.keys[0]!.kid!,
    issuer: issuer.issuer,
    globalIssuer: issuer.issuer.replace("https://cognito-idp.", "https://issuer-cognito-idp."),
    tokens,
  };

  const options = { userPoolId: POOL, verifierOptions: issuer.verifierOptions };
  const cached = createHardenedApp(options);
  const uncached = createHardenedApp({ ...options, tokenCache: false });
  const served = createHardenedApp(options);
  await cached.m2m.ready();
  const server = await serveHardened(served);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  return {
    world,
    issuer,
    cached,
    uncached,
    served,
    server,
    agent,
    stats: new Map(),
    async close() {
      agent.destroy();
      await server.close();
      await issuer.close();
    },
  };
}

/** A fuzz property: its name, where it runs, and its share of a run's cases. */
export interface FuzzProperty {
  readonly name: string;
  readonly where: "in-process" | "server";
  /** Fraction of the total number of cases given to this property. */
  readonly share: number;
  /** Whether some cases must end with a principal (a run where none does tested nothing). */
  readonly yieldsPrincipals: boolean;
  build(h: FuzzHarness): fc.IAsyncProperty<any>;
}

type Outcome = { ok: true; principal: ServicePrincipal | null } | { ok: false; error: unknown };

async function settle(promise: Promise<ServicePrincipal | null>): Promise<Outcome> {
  try {
    return { ok: true, principal: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Counts one case of `property`: a principal, no principal, or a rejection by code. */
function count(h: FuzzHarness, property: string, key: string): void {
  let stats = h.stats.get(property);
  if (stats === undefined) {
    stats = { cases: 0, principals: 0, variants: 0, nulls: 0, codes: {} };
    h.stats.set(property, stats);
  }
  stats.cases += 1;
  if (key === "principals" || key === "nulls") stats[key] += 1;
  else stats.codes[key] = (stats.codes[key] ?? 0) + 1;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
}

/** The error is one of this library's request errors, and not one the setup rules out. */
function assertLibraryError(error: unknown): asserts error is CognitoM2MError {
  assert.ok(error instanceof CognitoM2MError, `threw a foreign error: ${describeError(error)}`);
  assert.ok(!(error instanceof ConfigurationError), `threw a ConfigurationError: ${error.message}`);
  assert.ok(
    !(error instanceof JwksUnavailableError),
    "answered jwks_unavailable although the JWKS is up",
  );
}

/**
 * Whether `candidate` is `token` as the verifier sees it: the same header and payload text and
 * a signature segment that decodes (as aws-jwt-verify decodes it) to the same bytes.
 */
export function sameSignedToken(candidate: string, token: string): boolean {
  if (candidate === token) return true;
  const a = candidate.split(".");
  const b = token.split(".");
  if (a.length !== 3 || b.length !== 3 || a[0] !== b[0] || a[1] !== b[1]) return false;
  if (!/^[A-Za-z0-9_-]+$/.test(a[2]!)) return false;
  return Buffer.from(a[2]!, "base64").equals(Buffer.from(b[2]!, "base64"));
}

/** The valid token `principal` came from; fails when there is none. */
function assertPoolPrincipal(world: FuzzWorld, principal: ServicePrincipal): PoolToken {
  const source = world.tokens.find((t) => sameSignedToken(principal.rawToken, t.token));
  assert.ok(source !== undefined, "a principal for a token that was never validly signed");
  assert.equal(principal.clientId, source.clientId, "a principal with another client id");
  assert.ok(source.allowed, "a principal for a client outside the allowlist");
  return source;
}

/** A header value's words, split as the library splits them. */
const wordsOf = (value: string): string[] => value.trim().split(/[ \t]+/);

/** Every word of the presented strings, and each string trimmed: what may carry a token. */
function candidatesOf(presented: readonly string[]): string[] {
  return presented.flatMap((text) => [text.trim(), ...wordsOf(text)]);
}

/** A `client_not_allowed` must come from a validly signed token of a disallowed client. */
function assertNotAllowedIsReal(world: FuzzWorld, presented: readonly string[]): void {
  const candidates = candidatesOf(presented);
  const real = world.tokens.some(
    (t) => !t.allowed && candidates.some((c) => sameSignedToken(c, t.token)),
  );
  assert.ok(real, "client_not_allowed for a token that was never validly signed");
}

/** Strings a case presented that must not reappear: long words and their last dot-segment. */
export function secretsOf(strings: readonly string[]): string[] {
  const secrets = new Set<string>();
  for (const text of strings) {
    for (const word of text.split(/[\s,"]+/)) {
      if (word.length >= 20) secrets.add(word);
      const signature = word.slice(word.lastIndexOf(".") + 1);
      if (word.includes(".") && signature.length >= 20) secrets.add(signature);
    }
  }
  return [...secrets];
}

function logSince(app: HardenedApp, from: number): string {
  return app.log.lines
    .slice(from)
    .map((l) => `${l.level} ${l.message} ${JSON.stringify(l.details)}`)
    .join("\n");
}

function assertNoSecrets(secrets: readonly string[], texts: readonly string[]): void {
  for (const secret of secrets) {
    for (const text of texts) {
      assert.ok(!text.includes(secret), `a presented token reached output: ${text.slice(0, 200)}`);
    }
  }
}

/** Whether a header value names the bearer scheme (so `null` is not a valid answer). */
function presentsBearer(value: string): boolean {
  return wordsOf(value)[0]?.toLowerCase() === "bearer";
}

/** The token of a `Bearer <token>` value (as the library reads it), or `undefined`. */
function bearerToken(value: string): string | undefined {
  const words = wordsOf(value);
  return words.length === 2 && presentsBearer(value) ? words[1] : undefined;
}

/** Records and checks one outcome of `authenticate` for the `presented` strings. */
function checkOutcome(
  h: FuzzHarness,
  name: string,
  outcome: Outcome,
  presented: readonly string[],
): void {
  if (!outcome.ok) {
    assertLibraryError(outcome.error);
    if (outcome.error instanceof ClientNotAllowedError) assertNotAllowedIsReal(h.world, presented);
    count(h, name, outcome.error.code);
    return;
  }
  if (outcome.principal === null) return count(h, name, "nulls");
  const source = assertPoolPrincipal(h.world, outcome.principal);
  count(h, name, "principals");
  if (outcome.principal.rawToken !== source.token) h.stats.get(name)!.variants += 1;
}

const headerSources: FuzzProperty = {
  name: "authenticate: header sources of every shape",
  where: "in-process",
  share: 0.28,
  yieldsPrincipals: true,
  build: (h) =>
    fc.asyncProperty(headerSourceSpec(h.world), async (spec) => {
      const from = h.cached.log.lines.length;
      const outcome = await settle(h.cached.m2m.authenticate(buildHeaderSource(spec)));

      const single =
        spec.shape === "plain" && typeof spec.value === "string" ? spec.value : undefined;
      if (single !== undefined && presentsBearer(single)) {
        assert.ok(!outcome.ok || outcome.principal !== null, "null for a bearer credential");
      }
      checkOutcome(h, headerSources.name, outcome, stringsOf(spec));
      assertNoSecrets(secretsOf(stringsOf(spec)), [logSince(h.cached, from)]);
    }),
};

const tokenLikeStrings: FuzzProperty = {
  name: "authenticate: token-like strings (random segments, alg, kid)",
  where: "in-process",
  share: 0.28,
  yieldsPrincipals: false,
  build: (h) =>
    fc.asyncProperty(
      tokenLike(h.world),
      fc.constantFrom("Bearer ", "bearer\t"),
      async (token, prefix) => {
        const from = h.uncached.log.lines.length;
        const outcome = await settle(
          h.uncached.m2m.authenticate({ authorization: prefix + token }),
        );

        assert.ok(!outcome.ok || outcome.principal !== null, "null for a bearer credential");
        checkOutcome(h, tokenLikeStrings.name, outcome, [token]);
        assertNoSecrets(secretsOf([token]), [logSince(h.uncached, from)]);
      },
    ),
};

const mutations: FuzzProperty = {
  name: "authenticate: mutations of valid tokens",
  where: "in-process",
  share: 0.25,
  yieldsPrincipals: true,
  build: (h) =>
    fc.asyncProperty(mutatedToken(h.world), async ({ original, mutations: steps }) => {
      const source = h.world.tokens[original]!;
      const token = steps.reduce((t, m) => applyMutation(t, m, h.world.tokens), source.token);
      const from = h.uncached.log.lines.length;
      const outcome = await settle(
        h.uncached.m2m.authenticate({ authorization: `Bearer ${token}` }),
      );

      if (token === source.token) {
        if (source.allowed) {
          assert.ok(
            outcome.ok,
            `a valid token was refused: ${describeError(!outcome.ok && outcome.error)}`,
          );
          assert.equal(outcome.principal?.clientId, source.clientId);
        } else {
          assert.ok(
            !outcome.ok && outcome.error instanceof ClientNotAllowedError,
            "a disallowed client passed",
          );
        }
      }
      checkOutcome(h, mutations.name, outcome, [token]);
      assertNoSecrets(secretsOf([token, source.token]), [logSince(h.uncached, from)]);
    }),
};

/** What the verifier must do with a validly signed token carrying `payload`. */
type Expected =
  | { kind: "accept"; clientId: string; scope: string | undefined }
  | { kind: "reject"; codes: readonly string[] }
  | { kind: "either" };

const isString = (v: unknown): v is string => typeof v === "string";
const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** The rules, in aws-jwt-verify's order, then this library's claim shape and allowlist. */
export function expectedFor(world: FuzzWorld, payload: any, kidKnown: boolean): Expected {
  const invalid: Expected = { kind: "reject", codes: ["invalid_token"] };
  const now = Date.now() / 1000;
  const optional = (v: unknown, test: (v: unknown) => boolean) => v === undefined || test(v);
  const shapeOk =
    typeof payload === "object" &&
    payload !== null &&
    !Array.isArray(payload) &&
    optional(payload.exp, isNumber) &&
    optional(payload.nbf, isNumber) &&
    optional(payload.iat, isNumber) &&
    optional(payload.iss, isString) &&
    optional(payload.sub, isString) &&
    optional(payload.jti, isString) &&
    optional(payload.scope, isString) &&
    optional(payload.aud, (v) => isString(v) || (Array.isArray(v) && v.every(isString)));
  if (!shapeOk || !kidKnown) return invalid;
  if (payload.iss !== world.issuer && payload.iss !== world.globalIssuer) return invalid;

  for (const time of [payload.exp, payload.nbf]) {
    if (isNumber(time) && Math.abs(time - now) < 120) return { kind: "either" };
  }
  if (payload.exp !== undefined && payload.exp < now) {
    // Before the earliest Date, aws-jwt-verify's message formatting throws a RangeError
    // instead of JwtExpiredError, which is refused as invalid_token.
    const formattable = payload.exp * 1000 >= -8.64e15;
    return { kind: "reject", codes: formattable ? ["expired_token"] : ["invalid_token"] };
  }
  if (payload.nbf !== undefined && payload.nbf > now) return invalid;
  if (payload.token_use !== "access") return invalid;
  if (!isString(payload.client_id) || payload.client_id === "") return invalid;
  if (payload.client_id !== "reader" && payload.client_id !== "writer") {
    return { kind: "reject", codes: ["client_not_allowed"] };
  }
  return { kind: "accept", clientId: payload.client_id, scope: payload.scope };
}

/** Turns claim edits into the `claims` option of `mintAccessToken`. */
function claimsFrom(edits: ClaimEdits): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(edits.extra)) {
    Object.defineProperty(claims, key, { value, enumerable: true, writable: true });
  }
  for (const key of [
    "iss",
    "token_use",
    "client_id",
    "scope",
    "exp",
    "nbf",
    "iat",
    "sub",
    "jti",
    "aud",
  ] as const) {
    const edit = edits[key];
    if (edit.op === "remove") claims[key] = undefined;
    if (edit.op === "set") claims[key] = edit.value;
  }
  return claims;
}

const signedClaims: FuzzProperty = {
  name: "authenticate: validly signed tokens with hostile claims",
  where: "in-process",
  share: 0.06,
  yieldsPrincipals: true,
  build: (h) =>
    fc.asyncProperty(claimEdits(h.world), async (edits) => {
      const token = h.issuer.mintAccessToken({
        clientId: edits.clientId,
        scopes: ["widgets/read"],
        claims: claimsFrom(edits),
        header: { kid: edits.kid },
      });
      const payload = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));
      const expected = expectedFor(h.world, payload, edits.kid === h.world.kid);
      const from = h.uncached.log.lines.length;
      const outcome = await settle(
        h.uncached.m2m.authenticate({ authorization: `Bearer ${token}` }),
      );

      if (!outcome.ok) {
        assertLibraryError(outcome.error);
        assert.notEqual(expected.kind, "accept", `refused a valid token: ${outcome.error.code}`);
        if (expected.kind === "reject") {
          const { code } = outcome.error;
          assert.ok(expected.codes.includes(code), `${code}, expected ${expected.codes.join("/")}`);
        }
        count(h, signedClaims.name, outcome.error.code);
      } else {
        assert.ok(outcome.principal !== null, "null for a bearer credential");
        assert.ok(
          expected.kind !== "reject",
          `accepted a token it must refuse (${JSON.stringify(expected)})`,
        );
        if (expected.kind === "accept") {
          assert.equal(outcome.principal.clientId, expected.clientId);
          assert.equal(outcome.principal.rawToken, token);
          const scopes = (expected.scope ?? "").split(" ").filter((s) => s !== "");
          assert.deepEqual([...outcome.principal.scopes], [...new Set(scopes)]);
        }
        count(h, signedClaims.name, "principals");
      }
      assertNoSecrets(secretsOf([token]), [logSince(h.uncached, from)]);
    }),
};

const connectionParamsProperty: FuzzProperty = {
  name: "createContext: websocket/SSE connection params",
  where: "in-process",
  share: 0.05,
  yieldsPrincipals: true,
  build: (h) =>
    fc.asyncProperty(connectionParams(h.world), async (params) => {
      const strings = params === null ? [] : Object.values(params).filter(isString);
      const from = h.cached.log.lines.length;
      try {
        const ctx = await h.cached.m2m.createContext({ info: { connectionParams: params } });
        const principal = ctx.servicePrincipal;
        if (principal === null) count(h, connectionParamsProperty.name, "nulls");
        else {
          assertPoolPrincipal(h.world, principal);
          count(h, connectionParamsProperty.name, "principals");
        }
      } catch (error) {
        assert.ok(error instanceof TRPCError, `threw a foreign error: ${describeError(error)}`);
        assertLibraryError(error.cause);
        if (error.cause instanceof ClientNotAllowedError) assertNotAllowedIsReal(h.world, strings);
        count(h, connectionParamsProperty.name, error.cause.code);
      }
      assertNoSecrets(secretsOf(strings), [logSince(h.cached, from)]);
    }),
};

/** Makes a header value sendable: characters HTTP cannot carry become `?`. */
function sendable(value: string): string {
  return value.replace(/[^\t\x20-\x7e\x80-\xff]/g, "?").slice(0, 8_000);
}

const AUTHENTICATION_CODES = [
  "missing_token",
  "malformed_authorization_header",
  "invalid_token",
  "expired_token",
];
const AUTHORIZATION_CODES = ["client_not_allowed", "insufficient_scope"];

const server: FuzzProperty = {
  name: "server: Authorization headers over keep-alive",
  where: "server",
  share: 0.08,
  yieldsPrincipals: true,
  build: (h) => {
    const valid = fc
      .tuple(
        fc.constantFrom(...h.world.tokens),
        fc.constantFrom("Bearer ", "bearer  ", " BEARER\t"),
      )
      .map(([t, prefix]) => `${prefix}${t.token}`);
    const value = fc.oneof(
      { weight: 1, arbitrary: valid },
      { weight: 4, arbitrary: headerValue(h.world) },
    );
    const input = fc.record({
      path: fc.constantFrom("whoami", "health", "read"),
      value: value.map(sendable),
      duplicate: fc.oneof(
        { weight: 9, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: value.map(sendable) },
      ),
    });
    return fc.asyncProperty(input, async ({ path, value: header, duplicate }) => {
      const from = h.served.log.lines.length;
      const headers = { authorization: duplicate === null ? header : [header, duplicate] };
      const response = await send(h.server.url, path, headers, h.agent);

      assert.ok(response.status < 500, `HTTP ${response.status}: ${response.text.slice(0, 300)}`);
      assert.ok([200, 401, 403].includes(response.status), `unexpected HTTP ${response.status}`);
      if (response.status === 200) {
        const token = duplicate === null ? bearerToken(header) : undefined;
        if (path !== "health" || (duplicate === null && presentsBearer(header))) {
          const source = h.world.tokens.find(
            (t) => token !== undefined && sameSignedToken(token, t.token),
          );
          assert.ok(source?.allowed, `HTTP 200 on ${path} without a valid token`);
          if (path === "whoami") assert.equal(response.json.result.data, source.clientId);
          if (path === "read") assert.equal(source.clientId, "reader");
        }
        count(h, server.name, path === "health" && token === undefined ? "nulls" : "principals");
      } else {
        const code = cognitoCode(response.json);
        const expected = response.status === 401 ? AUTHENTICATION_CODES : AUTHORIZATION_CODES;
        assert.ok(
          code !== undefined && expected.includes(code),
          `HTTP ${response.status} with ${code}`,
        );
        count(h, server.name, code);
      }
      const secrets = secretsOf(duplicate === null ? [header] : [header, duplicate]);
      assertNoSecrets(secrets, [response.text, logSince(h.served, from)]);
    });
  },
};

/** Every property, in the order a run goes through them. */
export const FUZZ_PROPERTIES: readonly FuzzProperty[] = [
  headerSources,
  tokenLikeStrings,
  mutations,
  signedClaims,
  connectionParamsProperty,
  server,
];

/** Cases per property for a run of `total` cases (at least one each). */
export function planRuns(total: number): Map<FuzzProperty, number> {
  return new Map(FUZZ_PROPERTIES.map((p) => [p, Math.max(1, Math.round(total * p.share))]));
}

/** Runs one property; resolves with fast-check's details (a failure included). */
export function checkProperty(
  property: FuzzProperty,
  h: FuzzHarness,
  numRuns: number,
  seed?: number,
): Promise<fc.RunDetails<unknown>> {
  return Promise.resolve(
    fc.check(property.build(h), {
      numRuns,
      includeErrorInReport: true,
      ...(seed === undefined ? {} : { seed }),
    }),
  ) as Promise<fc.RunDetails<unknown>>;
}
