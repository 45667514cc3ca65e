/**
 * fast-check generators for the fuzz properties: Authorization header values and header
 * sources, token-like strings, mutations of valid tokens, and claims for validly signed tokens.
 * Everything is plain data (no closures), so a counterexample prints readably and shrinks.
 */
import fc from "fast-check";

/** What the generators need to know about the issuer under test. */
export interface FuzzWorld {
  /** The `kid` of the issuer's signing key. */
  kid: string;
  /** The pool's regional issuer (`iss` of its tokens). */
  issuer: string;
  /** The pool's global-format issuer, which aws-jwt-verify also accepts. */
  globalIssuer: string;
  /** Valid tokens, some of clients outside the allowlist. */
  tokens: readonly PoolToken[];
}

/** A valid token minted before the run. */
export interface PoolToken {
  token: string;
  clientId: string;
  /** Whether the client is on the allowlist (otherwise: 403 client_not_allowed). */
  allowed: boolean;
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Characters that tend to break parsers: controls, whitespace, separators, non-ASCII. */
const AWKWARD = [
  "\u0000",
  "\t",
  "\n",
  "\r",
  " ",
  "\u000b",
  "\u007f",
  "\u00a0",
  "\u00e9",
  "\u00ff",
  "\u0130",
  "\u200b",
  "\u2028",
  "\ufeff",
  "\ud835\udc9c",
  "\ud83d\udd11",
  "\ud800",
  "=",
  "+",
  "/",
  ".",
  ",",
  ";",
  '"',
  "\\",
  "%",
  "'",
];

const b64Char = fc.constantFrom(...B64URL);
const awkwardChar = fc.constantFrom(...AWKWARD);
/** Mostly base64url characters, sometimes awkward or any code unit. */
const mixedChar = fc.oneof(
  { weight: 8, arbitrary: b64Char },
  { weight: 2, arbitrary: awkwardChar },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
);

/** A base64url-looking segment of up to `maxLength` characters. */
export const segment = (maxLength = 80) => fc.string({ unit: b64Char, maxLength });

const encode = (value: unknown): string =>
  Buffer.from(JSON.stringify(value) ?? "null").toString("base64url");

/** A small JSON value (any type), for claims and header fields of the wrong type. */
const anyJson = fc.jsonValue({ maxDepth: 2 });

const kidValue = (world: FuzzWorld) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constant(world.kid) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        "../../etc/passwd",
        "' OR 1=1 --",
        "__proto__",
        "constructor",
        "",
        "\u0000",
        `${world.kid} `,
        world.kid.toLowerCase(),
      ),
    },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
    { weight: 1, arbitrary: anyJson },
  );

const algValue = fc.oneof(
  { weight: 4, arbitrary: fc.constant("RS256") },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "none",
      "None",
      "HS256",
      "HS512",
      "RS512",
      "PS256",
      "ES256",
      "rs256",
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
  { weight: 1, arbitrary: anyJson },
);

/** A JOSE header: mostly an object with alg/kid of any value, sometimes any JSON at all. */
export const jsonHeader = (world: FuzzWorld) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .record(
          {
            alg: algValue,
            kid: kidValue(world),
            typ: fc.constantFrom("JWT", "at+jwt", "", "JWS"),
            extra: fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 3 }),
          },
          { requiredKeys: [] },
        )
        .map(({ extra, ...fields }) => ({ ...extra, ...fields })),
    },
    { weight: 1, arbitrary: anyJson },
  );

/** A claims object of plausible keys with values of any type, or any JSON at all. */
export const jsonPayload = (world: FuzzWorld) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record(
        {
          iss: fc.oneof(fc.constantFrom(world.issuer, world.globalIssuer), anyJson),
          token_use: fc.oneof(fc.constantFrom("access", "id"), anyJson),
          client_id: fc.oneof(fc.constantFrom("reader", "writer", "stranger", ""), anyJson),
          scope: fc.oneof(fc.constantFrom("widgets/read", ""), anyJson),
          exp: fc.oneof(fc.integer({ min: 0, max: 4_000_000_000 }), anyJson),
          nbf: fc.oneof(fc.integer({ min: 0, max: 4_000_000_000 }), anyJson),
        },
        { requiredKeys: [] },
      ),
    },
    { weight: 1, arbitrary: anyJson },
  );

/** One segment of a token-like string: encoded JSON, random base64url, or raw awkward text. */
const tokenPart = (json: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 5, arbitrary: json.map(encode) },
    { weight: 3, arbitrary: segment(120) },
    { weight: 1, arbitrary: fc.string({ unit: mixedChar, maxLength: 60 }) },
  );

/**
 * A string shaped more or less like a JWT: header, payload and signature segments (random
 * JSON with random alg and kid, random base64url, signatures of real tokens), sometimes
 * with too few or too many segments.
 */
export const tokenLike = (world: FuzzWorld) => {
  const realSignature = fc
    .constantFrom(...world.tokens)
    .map(({ token }) => token.slice(token.lastIndexOf(".") + 1));
  const signature = fc.oneof(
    { weight: 4, arbitrary: segment(400) },
    { weight: 2, arbitrary: realSignature },
    { weight: 1, arbitrary: fc.constant("") },
    { weight: 1, arbitrary: fc.string({ unit: mixedChar, maxLength: 60 }) },
  );
  const three = fc
    .tuple(tokenPart(jsonHeader(world)), tokenPart(jsonPayload(world)), signature)
    .map((parts) => parts.join("."));
  const anyCount = fc
    .array(tokenPart(fc.oneof(jsonHeader(world), jsonPayload(world))), { maxLength: 6 })
    .map((parts) => parts.join("."));
  return fc.oneof({ weight: 5, arbitrary: three }, { weight: 1, arbitrary: anyCount });
};

/** A change to a valid token. Positions are taken modulo the token's length. */
export type Mutation =
  | { kind: "identity" }
  | { kind: "replace"; at: number; char: string }
  | { kind: "flipBit"; at: number; bit: number }
  | { kind: "toggleCase"; at: number }
  | { kind: "insert"; at: number; text: string }
  | { kind: "delete"; at: number; length: number }
  | { kind: "truncate"; keep: number }
  | { kind: "dropPrefix"; drop: number }
  | { kind: "appendSegment"; text: string }
  | { kind: "prependSegment"; text: string }
  | { kind: "transplant"; index: number; from: number }
  | { kind: "reorder"; order: readonly number[] }
  | { kind: "toBase64" }
  | { kind: "wrap"; before: string; after: string };

/** A random {@link Mutation}. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant({ kind: "identity" as const }),
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), char: mixedChar }),
  fc.record({ kind: fc.constant("flipBit" as const), at: fc.nat(), bit: fc.nat({ max: 15 }) }),
  fc.record({ kind: fc.constant("toggleCase" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    text: fc.string({ unit: mixedChar, minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 40 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), keep: fc.nat() }),
  fc.record({ kind: fc.constant("dropPrefix" as const), drop: fc.integer({ min: 1, max: 60 }) }),
  fc.record({ kind: fc.constant("appendSegment" as const), text: segment(40) }),
  fc.record({ kind: fc.constant("prependSegment" as const), text: segment(40) }),
  fc.record({
    kind: fc.constant("transplant" as const),
    index: fc.nat({ max: 2 }),
    from: fc.nat(),
  }),
  fc.record({
    kind: fc.constant("reorder" as const),
    order: fc.shuffledSubarray([0, 1, 2], { minLength: 1, maxLength: 3 }),
  }),
  fc.constant({ kind: "toBase64" as const }),
  fc.record({
    kind: fc.constant("wrap" as const),
    before: fc.constantFrom("", " ", "\t", '"', "\u200b", "Bearer "),
    after: fc.constantFrom("", " ", "\t", '"', "\u200b", ",", ".", "\n"),
  }),
);

/** Applies `m` to `token`; `pool` supplies the segments of other valid tokens. */
export function applyMutation(token: string, m: Mutation, pool: readonly PoolToken[]): string {
  const length = token.length;
  const at = (n: number, room = length) => (room === 0 ? 0 : n % room);
  switch (m.kind) {
    case "identity":
      return token;
    case "replace": {
      const i = at(m.at);
      return token.slice(0, i) + m.char + token.slice(i + 1);
    }
    case "flipBit": {
      const i = at(m.at);
      return (
        token.slice(0, i) +
        String.fromCharCode(token.charCodeAt(i) ^ (1 << m.bit)) +
        token.slice(i + 1)
      );
    }
    case "toggleCase": {
      const i = at(m.at);
      const c = token.charAt(i);
      const toggled = c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
      return token.slice(0, i) + toggled + token.slice(i + 1);
    }
    case "insert": {
      const i = at(m.at, length + 1);
      return token.slice(0, i) + m.text + token.slice(i);
    }
    case "delete": {
      const i = at(m.at);
      return token.slice(0, i) + token.slice(i + m.length);
    }
    case "truncate":
      return token.slice(0, at(m.keep));
    case "dropPrefix":
      return token.slice(m.drop);
    case "appendSegment":
      return `${token}.${m.text}`;
    case "prependSegment":
      return `${m.text}.${token}`;
    case "transplant": {
      const parts = token.split(".");
      const donor = pool[m.from % pool.length]!.token.split(".");
      if (m.index < parts.length) parts[m.index] = donor[m.index] ?? "";
      return parts.join(".");
    }
    case "reorder": {
      const parts = token.split(".");
      return m.order.map((i) => parts[i] ?? "").join(".");
    }
    case "toBase64": {
      const parts = token.split(".").map((p) => {
        const standard = p.replaceAll("-", "+").replaceAll("_", "/");
        return standard + "=".repeat((4 - (standard.length % 4)) % 4);
      });
      return parts.join(".");
    }
    case "wrap":
      return `${m.before}${token}${m.after}`;
  }
}

/** A valid token from the pool and one to three mutations of it. */
export const mutatedToken = (world: FuzzWorld) =>
  fc.record({
    original: fc.nat({ max: world.tokens.length - 1 }),
    mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
  });

/** How a header value names its scheme: the right one in any case, another, or none. */
const scheme = fc.constantFrom(
  "Bearer",
  "bearer",
  "BEARER",
  "bEaReR",
  "Basic",
  "Token",
  "Bearer:",
  "",
);
const separator = fc.constantFrom(" ", "  ", "\t", " \t ", "", ",");
const padding = fc.constantFrom("", " ", "\t", "  ");

/** The credential part of a header value: a valid token, a token-like string, or any text. */
const credential = (world: FuzzWorld) =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...world.tokens.map((t) => t.token)) },
    { weight: 4, arbitrary: tokenLike(world) },
    { weight: 2, arbitrary: fc.string({ unit: mixedChar, maxLength: 80 }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 80 }) },
  );

/** An Authorization header value of any shape. */
export const headerValue = (world: FuzzWorld) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(padding, scheme, separator, credential(world), padding)
        .map((parts) => parts.join("")),
    },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 120 }) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 120 }) },
  );

/** `authorization` with each letter in either case. */
const headerName = fc
  .array(fc.boolean(), { minLength: 13, maxLength: 13 })
  .map((upper) =>
    [..."authorization"].map((c, i) => (upper[i] === true ? c.toUpperCase() : c)).join(""),
  );

/** A header value as the supported sources hold it: a string, a list, or a scalar. */
const sourceValue = (world: FuzzWorld) =>
  fc.oneof(
    { weight: 6, arbitrary: headerValue(world) },
    { weight: 2, arbitrary: fc.array(headerValue(world), { maxLength: 3 }) },
    {
      weight: 1,
      arbitrary: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined)),
    },
  );

/** What a header source is built from; see {@link buildHeaderSource}. */
export type HeaderSourceSpec =
  | { shape: "plain"; name: string; value: unknown }
  | { shape: "twoCases"; first: [string, unknown]; second: [string, unknown] }
  | { shape: "node"; value: unknown; distinct: unknown[] }
  | { shape: "lambda"; value: unknown; multi: unknown[] }
  | { shape: "fetchHeaders"; value: string }
  | { shape: "fetchRequest"; value: string }
  | { shape: "notAnObject"; value: unknown };

/** Every kind of header source `authenticate` accepts, and a few it should shrug off. */
export const headerSourceSpec = (world: FuzzWorld): fc.Arbitrary<HeaderSourceSpec> =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        shape: fc.constant("plain" as const),
        name: headerName,
        value: sourceValue(world),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        shape: fc.constant("twoCases" as const),
        first: fc.tuple(headerName, sourceValue(world)),
        second: fc.tuple(headerName, sourceValue(world)),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        shape: fc.constant("node" as const),
        value: sourceValue(world),
        distinct: fc.array(headerValue(world), { maxLength: 3 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        shape: fc.constant("lambda" as const),
        value: sourceValue(world),
        multi: fc.array(headerValue(world), { maxLength: 3 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        shape: fc.constant("fetchHeaders" as const),
        value: headerValue(world),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        shape: fc.constant("fetchRequest" as const),
        value: headerValue(world),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        shape: fc.constant("notAnObject" as const),
        value: fc.oneof(
          fc.constant(null),
          fc.constant(undefined),
          fc.integer(),
          headerValue(world),
        ),
      }),
    },
  );

/** Builds the object `authenticate` receives; Fetch sources fall back to plain objects. */
export function buildHeaderSource(spec: HeaderSourceSpec): unknown {
  switch (spec.shape) {
    case "plain":
      return { [spec.name]: spec.value };
    case "twoCases":
      return { [spec.first[0]]: spec.first[1], [spec.second[0]]: spec.second[1] };
    case "node":
      return {
        headers: { authorization: spec.value, host: "example" },
        headersDistinct: spec.distinct.length === 0 ? {} : { authorization: spec.distinct },
      };
    case "lambda":
      return {
        headers: { Authorization: spec.value },
        multiValueHeaders: { Authorization: spec.multi },
      };
    case "fetchHeaders":
    case "fetchRequest":
      try {
        const headers = new Headers({ authorization: spec.value });
        return spec.shape === "fetchHeaders"
          ? headers
          : new Request("http://localhost/trpc/whoami", { headers });
      } catch {
        return { authorization: spec.value };
      }
    case "notAnObject":
      return spec.value;
  }
}

/** Every string a header source holds, to look for in logs and bodies afterwards. */
export function stringsOf(spec: HeaderSourceSpec): string[] {
  const found: string[] = [];
  const visit = (value: unknown): void => {
    if (typeof value === "string") found.push(value);
    else if (Array.isArray(value)) value.forEach(visit);
  };
  visit(Object.values(spec));
  return found;
}

/** How a claim of a validly signed token is changed from the minted default. */
export type ClaimEdit = { op: "keep" } | { op: "remove" } | { op: "set"; value: unknown };

const keep: fc.Arbitrary<ClaimEdit> = fc.constant({ op: "keep" });
const remove: fc.Arbitrary<ClaimEdit> = fc.constant({ op: "remove" });
const setTo = (value: fc.Arbitrary<unknown>): fc.Arbitrary<ClaimEdit> =>
  value.map((v) => ({ op: "set", value: v }));
/** Mostly keep the minted value, else remove it, set a chosen value or any JSON. */
const edit = (choices: fc.Arbitrary<unknown>, keepWeight: number) =>
  fc.oneof(
    { weight: keepWeight, arbitrary: keep },
    { weight: 1, arbitrary: remove },
    { weight: 2, arbitrary: setTo(choices) },
    { weight: 1, arbitrary: setTo(anyJson) },
  );

/** Seconds from now, far enough from zero that clock skew cannot decide a case. */
const offset = fc.oneof(
  fc.integer({ min: 60, max: 10_000_000 }),
  fc.integer({ min: -10_000_000, max: -60 }),
);

/** Edits to the claims (and kid) of a token signed with the issuer's real key. */
export const claimEdits = (world: FuzzWorld) =>
  fc.record({
    clientId: fc.constantFrom("reader", "writer", "stranger"),
    iss: edit(fc.constantFrom(world.globalIssuer, `${world.issuer}/`, "https://evil.example"), 12),
    token_use: edit(fc.constantFrom("id", "refresh", "ACCESS", "access "), 12),
    client_id: edit(fc.constantFrom("", "reader", "stranger", "x".repeat(300)), 10),
    scope: edit(fc.string({ unit: mixedChar, maxLength: 30 }), 8),
    exp: edit(offset, 6),
    nbf: edit(offset, 16),
    iat: edit(offset, 16),
    sub: edit(fc.string({ maxLength: 10 }), 16),
    jti: edit(fc.string({ maxLength: 10 }), 16),
    aud: edit(fc.oneof(fc.string({ maxLength: 10 }), fc.array(fc.string({ maxLength: 5 }))), 16),
    extra: fc.dictionary(
      fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("__proto__", "constructor")),
      anyJson,
      { maxKeys: 3 },
    ),
    kid: fc.oneof(
      { weight: 12, arbitrary: fc.constant(world.kid) },
      { weight: 1, arbitrary: kidValue(world) },
    ),
  });

/** A value of {@link claimEdits}. */
export type ClaimEdits = ReturnType<typeof claimEdits> extends fc.Arbitrary<infer T> ? T : never;

/** Connection params as tRPC hands them over: an object of strings, or `null`. */
export const connectionParams = (world: FuzzWorld) => {
  const valid = fc.constantFrom(...world.tokens.map((t) => t.token));
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: valid.map((token) => ({ authorization: `Bearer ${token}` })) },
    { weight: 1, arbitrary: valid.map((token) => ({ token })) },
    {
      weight: 6,
      arbitrary: fc.record(
        {
          authorization: headerValue(world),
          Authorization: headerValue(world),
          token: credential(world),
          other: fc.string({ maxLength: 10 }),
        },
        { requiredKeys: [] },
      ),
    },
  );
};
