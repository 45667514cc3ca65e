import { inspect } from "node:util";

import { TokenRequestError } from "./token-request-error.js";

/** Options for {@link createClientCredentialsTokenSource}. */
export interface ClientCredentialsTokenSourceOptions {
  /** The token endpoint, e.g. `https://<domain>.auth.<region>.amazoncognito.com/oauth2/token`. */
  tokenUrl: string | URL;
  /** The Cognito app client id. */
  clientId: string;
  /** The app client secret. Sent only in the Basic `Authorization` header; never in errors. */
  clientSecret: string;
  /** Scopes to request, space-joined into `scope`. Default: none, so the pool grants all. */
  scopes?: readonly string[];
  /**
   * Seconds before `expires_in` runs out at which a new token is fetched. Default 60. When a
   * token lives no longer than this, it is used for half its lifetime instead.
   */
  refreshSkewSeconds?: number;
  /** Give-up time for one token request, in milliseconds. Default 10000. */
  requestTimeoutMs?: number;
  /** The `fetch` to use. Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** Hands out a cached access token and fetches a new one when it is due. */
export interface TokenSource {
  /**
   * Resolves to a usable access token. Concurrent callers share one in-flight request; a
   * failure rejects all of them with the same {@link TokenRequestError} and is not cached.
   */
  getToken(): Promise<string>;
  /**
   * Drops the cached token so the next {@link getToken} fetches a new one. Pass the token
   * that was refused to drop it only if it is still the cached one, so many callers that
   * hit a 401 at once cause one refresh, not many.
   */
  invalidate(token?: string): void;
}

interface CachedToken {
  readonly token: string;
  /** When to fetch a new one, in milliseconds since the epoch. */
  readonly refreshAt: number;
}

interface TokenGrant {
  readonly accessToken: string;
  readonly expiresIn: number;
}

/** The fixed parts of every token request. */
interface TokenRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  readonly secrets: readonly string[];
}

const MAX_DESCRIPTION_LENGTH = 300;

/**
 * Creates a token source for a service calling another service with Cognito's OAuth2
 * client-credentials grant. It POSTs `grant_type=client_credentials` with HTTP Basic client
 * authentication, caches the token until `refreshSkewSeconds` before it expires, and never
 * sends more than one request at a time.
 *
 * A caller whose request is refused with 401 may retry once with a fresh token; the source
 * does not retry by itself:
 *
 * @example
 * const tokens = createClientCredentialsTokenSource({ tokenUrl, clientId, clientSecret });
 * async function listOrders() {
 *   const token = await tokens.getToken();
 *   const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
 *   if (res.status !== 401) return res;
 *   tokens.invalidate(token);
 *   const fresh = await tokens.getToken();
 *   return fetch(url, { headers: { authorization: `Bearer ${fresh}` } });
 * }
 */
export function createClientCredentialsTokenSource(
  options: ClientCredentialsTokenSourceOptions,
): TokenSource {
  const request = buildRequest(options);
  const skewSeconds = options.refreshSkewSeconds ?? 60;
  if (!Number.isFinite(skewSeconds) || skewSeconds < 0) {
    throw new RangeError("refreshSkewSeconds must be a finite number of seconds, 0 or more.");
  }
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;

  let cached: CachedToken | undefined;
  let inFlight: Promise<string> | undefined;

  const refresh = async (): Promise<string> => {
    const requestedAt = now();
    const grant = await requestToken(fetchImpl, request);
    const usableMs = usableSeconds(grant.expiresIn, skewSeconds) * 1000;
    cached = { token: grant.accessToken, refreshAt: requestedAt + usableMs };
    return grant.accessToken;
  };

  return {
    getToken() {
      if (cached !== undefined && now() < cached.refreshAt) return Promise.resolve(cached.token);
      inFlight ??= refresh().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
    invalidate(token) {
      if (token === undefined || cached?.token === token) cached = undefined;
    },
  };
}

function buildRequest(options: ClientCredentialsTokenSourceOptions): TokenRequest {
  if (options.clientId === "" || options.clientSecret === "") {
    throw new TypeError("clientId and clientSecret must not be empty.");
  }
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError("requestTimeoutMs must be a positive number of milliseconds.");
  }

  const params = new URLSearchParams({ grant_type: "client_credentials" });
  if (options.scopes !== undefined && options.scopes.length > 0) {
    params.set("scope", options.scopes.join(" "));
  }
  // RFC 6749 §2.3.1: id and secret are form-urlencoded, then joined and base64-encoded.
  const encodedSecret = formEncode(options.clientSecret);
  const credentials = btoa(`${formEncode(options.clientId)}:${encodedSecret}`);
  return {
    url: new URL(options.tokenUrl).href,
    headers: {
      authorization: `Basic ${credentials}`,
      "content-type": "application/x-www-form-urlencoded",
      accept: "application/json",
    },
    body: params.toString(),
    timeoutMs,
    secrets: [options.clientSecret, encodedSecret, credentials],
  };
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replaceAll("%20", "+");
}

/** How long a token is used: its lifetime minus the skew, or half of it when that is short. */
function usableSeconds(expiresIn: number, skewSeconds: number): number {
  return expiresIn > skewSeconds ? expiresIn - skewSeconds : expiresIn / 2;
}

async function requestToken(
  fetchImpl: typeof globalThis.fetch,
  request: TokenRequest,
): Promise<TokenGrant> {
  let response: Response;
  let text: string;
  try {
    response = await fetchImpl(request.url, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      redirect: "error",
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    throw networkError(error, request);
  }

  const body = parseJson(text);
  if (!response.ok) throw httpError(response.status, body, request);

  const grant = readGrant(body);
  if (grant === undefined) {
    const description =
      body === undefined
        ? "The token response is not JSON."
        : "The token response lacks access_token, a valid expires_in or token_type Bearer.";
    throw new TokenRequestError({ code: "invalid_response", status: response.status, description });
  }
  return grant;
}

function networkError(error: unknown, request: TokenRequest): TokenRequestError {
  const timedOut = error instanceof Error && error.name === "TimeoutError";
  const description = timedOut
    ? `No response within ${request.timeoutMs} ms.`
    : "The token endpoint could not be reached.";
  return new TokenRequestError({
    code: "network_error",
    description,
    cause: withoutSecrets(error, request.secrets),
  });
}

function httpError(status: number, body: unknown, request: TokenRequest): TokenRequestError {
  const error = isRecord(body) ? body.error : undefined;
  if (typeof error !== "string" || !/^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,64}$/.test(error)) {
    const description = `HTTP ${status} without an OAuth error body.`;
    return new TokenRequestError({ code: "invalid_response", status, description });
  }

  const rawDescription = isRecord(body) ? body.error_description : undefined;
  const description =
    typeof rawDescription === "string" && !containsAny(rawDescription, request.secrets)
      ? rawDescription.slice(0, MAX_DESCRIPTION_LENGTH)
      : undefined;
  return new TokenRequestError({ code: error, status, description });
}

function readGrant(body: unknown): TokenGrant | undefined {
  if (!isRecord(body)) return undefined;

  const { access_token: accessToken, expires_in: expiresIn, token_type: tokenType } = body;
  if (typeof accessToken !== "string" || accessToken === "") return undefined;
  if (typeof expiresIn !== "number" || !Number.isFinite(expiresIn) || expiresIn < 0) {
    return undefined;
  }
  if (typeof tokenType !== "string" || tokenType.toLowerCase() !== "bearer") return undefined;
  return { accessToken, expiresIn };
}

/** Parses JSON; `undefined` when it is not. The parser's message would quote the body. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Keeps `error` as a cause unless any rendering of it shows a credential. */
function withoutSecrets(error: unknown, secrets: readonly string[]): unknown {
  let rendered = inspect(error, { depth: 10 });
  try {
    rendered += JSON.stringify(error);
  } catch {
    // A cause that cannot be serialised is judged by its inspect output alone.
  }
  return containsAny(rendered, secrets)
    ? new Error("The original error was withheld because it contained client credentials.")
    : error;
}

function containsAny(text: string, secrets: readonly string[]): boolean {
  return secrets.some((secret) => text.includes(secret));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
