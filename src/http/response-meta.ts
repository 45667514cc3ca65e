import type { ResponseMeta } from "@trpc/server/http";

import {
  type CognitoM2MError,
  findCognitoError,
  InsufficientScopeError,
  JwksUnavailableError,
} from "../errors.js";

/**
 * What {@link CognitoM2M.responseMeta} reads from the options tRPC's HTTP adapters pass to
 * `responseMeta`. Only `errors` is used; the other fields are accepted so the function fits the
 * adapters' option as it is.
 */
export interface ResponseMetaOptions {
  /** The errors the calls of the request threw (tRPC passes `TRPCError`s). */
  errors: readonly unknown[];
  /** The request context, when it could be created. Not read. */
  ctx?: unknown;
  /** The procedure type, or `"unknown"`. Not read. */
  type?: string;
  /** `true` while headers are sent ahead of streamed results. Not read. */
  eagerGeneration?: boolean;
}

/** A `responseMeta` function, as tRPC's HTTP adapters take it. */
export type ResponseMetaFunction<TOptions = ResponseMetaOptions> = (opts: TOptions) => ResponseMeta;

/** One `WWW-Authenticate` challenge parameter: its name and its unquoted value. */
type ChallengeParameter = readonly [name: string, value: string];

const WWW_AUTHENTICATE = "www-authenticate";
const RETRY_AFTER = "retry-after";

/** Header names whose values from several functions are all kept by {@link composeResponseMeta}. */
const COMBINED_HEADERS: ReadonlySet<string> = new Set([WWW_AUTHENTICATE, "set-cookie"]);

/** `error_description` of the 401 challenge for each code that means a rejected credential. */
const INVALID_TOKEN_DESCRIPTIONS: Readonly<Record<string, string>> = {
  invalid_token: "The access token is malformed or invalid",
  expired_token: "The access token expired",
  malformed_authorization_header: "The Authorization header is malformed",
};

/**
 * Builds the `responseMeta` of an instance: a `WWW-Authenticate` challenge (RFC 6750 §3) for
 * 401 and 403 errors of this library and `Retry-After` for `jwks_unavailable`. It never sets a
 * status, so tRPC's own (207 for mixed batches, …) stands.
 *
 * @param realm The `realm` of every challenge; validated by the options to hold no quote,
 *   backslash or line break.
 */
export function createResponseMeta(realm: string): ResponseMetaFunction {
  return ({ errors }) => {
    if (errors.length === 0) return {};

    const found = errors.map(findCognitoError).filter((e) => e !== undefined);
    const headers = new Headers();

    const challenge = challengeFor(found);
    if (challenge !== undefined) {
      headers.set(WWW_AUTHENTICATE, formatChallenge([["realm", realm], ...challenge]));
    }

    const retryAfter = retryAfterSeconds(found);
    if (retryAfter !== undefined) headers.set(RETRY_AFTER, String(retryAfter));

    return { headers };
  };
}

/**
 * The parameters after `realm` of the challenge for the most severe error: a 401 (the token
 * itself must change) before a 403, and the first of each kind. `undefined` when no error
 * calls for a challenge.
 */
function challengeFor(errors: readonly CognitoM2MError[]): ChallengeParameter[] | undefined {
  const unauthorized = errors.find((e) => e.trpcCode === "UNAUTHORIZED");
  if (unauthorized !== undefined) return unauthorizedParameters(unauthorized);

  const forbidden = errors.find((e) => e.trpcCode === "FORBIDDEN");
  if (forbidden !== undefined) return forbiddenParameters(forbidden);
  return undefined;
}

/** RFC 6750 §3.1: no error code when no credential was presented, `invalid_token` otherwise. */
function unauthorizedParameters(error: CognitoM2MError): ChallengeParameter[] {
  const description = INVALID_TOKEN_DESCRIPTIONS[error.code];
  if (description === undefined) return [];
  return [
    ["error", "invalid_token"],
    ["error_description", description],
  ];
}

/**
 * `insufficient_scope` with the required scopes; for a client outside the allowlist (RFC 6750
 * has no closer code) `insufficient_scope` without `scope`, and a description saying more
 * scopes will not help.
 */
function forbiddenParameters(error: CognitoM2MError): ChallengeParameter[] {
  const parameters: ChallengeParameter[] = [["error", "insufficient_scope"]];
  if (error.code === "client_not_allowed") {
    parameters.push(["error_description", "The client is not allowed to call this API"]);
    return parameters;
  }

  const scopes = error instanceof InsufficientScopeError ? error.requiredScopes : [];
  if (scopes.length > 0) parameters.push(["scope", scopes.join(" ")]);
  return parameters;
}

/** The longest `retryAfterSeconds` of the `jwks_unavailable` errors, if any. */
function retryAfterSeconds(errors: readonly CognitoM2MError[]): number | undefined {
  const waits = errors
    .filter((e): e is JwksUnavailableError => e instanceof JwksUnavailableError)
    .map((e) => e.retryAfterSeconds);
  return waits.length === 0 ? undefined : Math.max(...waits);
}

/** `Bearer name="value", …` with every value a valid quoted-string. */
function formatChallenge(parameters: readonly ChallengeParameter[]): string {
  return `Bearer ${parameters.map(([name, value]) => `${name}="${quoteValue(value)}"`).join(", ")}`;
}

/**
 * Makes `value` safe inside a quoted-string: characters a header cannot hold are dropped,
 * quotes and backslashes escaped (RFC 9110 §5.6.4). Scope names are the only values that are
 * not fixed here, and RFC 6749 scope tokens contain neither.
 */
function quoteValue(value: string): string {
  return value.replace(/[^\t\x20-\x7e]/g, "").replace(/["\\]/g, "\\$&");
}

/**
 * Merges several `responseMeta` functions into one, for apps that also set caching or other
 * headers. Headers: a later function wins per name, except `WWW-Authenticate` (several
 * challenges, comma-separated) and `Set-Cookie`, whose values are all kept. Status: the last
 * one defined; leaving it out everywhere keeps tRPC's own status. Passed straight to an
 * adapter's `responseMeta` option, the functions get that adapter's typed options (`ctx`, …).
 *
 * @example
 * createHTTPServer({ router, createContext: m2m.createContext,
 *   responseMeta: composeResponseMeta(m2m.responseMeta, cacheHeaders) });
 */
export function composeResponseMeta<TOptions extends ResponseMetaOptions = ResponseMetaOptions>(
  ...fns: readonly ResponseMetaFunction<NoInfer<TOptions>>[]
): ResponseMetaFunction<TOptions> {
  return (opts) => {
    const headers = new Headers();
    let status: number | undefined;

    for (const fn of fns) {
      const meta = fn(opts);
      if (meta.status !== undefined) status = meta.status;
      mergeHeaders(headers, meta.headers);
    }
    return status === undefined ? { headers } : { status, headers };
  };
}

/** Copies `source` into `target`: replacing each name, or adding to the combined ones. */
function mergeHeaders(target: Headers, source: ResponseMeta["headers"]): void {
  if (source === undefined) return;

  const incoming = new Headers();
  if (source instanceof Headers) {
    source.forEach((value, name) => incoming.append(name, value));
  } else {
    for (const [name, value] of Object.entries(source)) {
      const values: readonly (string | undefined)[] = Array.isArray(value) ? value : [value];
      for (const v of values) if (v !== undefined) incoming.append(name, v);
    }
  }

  incoming.forEach((value, name) => {
    if (COMBINED_HEADERS.has(name)) target.append(name, value);
    else target.set(name, value);
  });
}
