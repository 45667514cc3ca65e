import { MalformedAuthorizationHeaderError } from "../errors.js";

/** A header value as adapters hand it over: absent, one string, or several. */
export type RawHeaderValue = string | readonly string[] | undefined;

/**
 * What {@link readHeader} understands: a Fetch `Headers` or `Request`, a Node request (its
 * `headersDistinct` or `headers`), an aws-lambda event (`headers` in any case,
 * `multiValueHeaders`), or a plain header object.
 */
export type HeaderSource =
  | Headers
  | { headers: unknown; headersDistinct?: unknown; multiValueHeaders?: unknown }
  | Record<string, unknown>;

const TOKEN_CHARS = /^[\x21-\x7e]+$/;

/** Reads one header (by lower-case name) from any supported source. */
export function readHeader(source: unknown, name: string): RawHeaderValue {
  if (typeof source !== "object" || source === null) return undefined;
  if (isHeaders(source)) return source.get(name) ?? undefined;

  const s = source as { headers?: unknown; headersDistinct?: unknown; multiValueHeaders?: unknown };
  if (s.headers !== undefined) {
    if (isHeaders(s.headers)) return s.headers.get(name) ?? undefined;
    const distinct = lookup(s.headersDistinct, name) ?? lookup(s.multiValueHeaders, name);
    if (Array.isArray(distinct) && distinct.length > 1) return distinct as string[];
    return lookup(s.headers, name) ?? distinct;
  }
  return lookup(source, name);
}

function isHeaders(value: unknown): value is Headers {
  return typeof Headers !== "undefined" && value instanceof Headers;
}

/** Case-insensitive lookup in a plain object; several differently cased keys make a list. */
function lookup(record: unknown, name: string): RawHeaderValue {
  if (typeof record !== "object" || record === null) return undefined;

  const direct = (record as Record<string, unknown>)[name];
  const values: unknown[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (key.toLowerCase() === name && value !== undefined && value !== null) values.push(value);
  }
  if (values.length === 0) return undefined;
  if (values.length === 1) return asRaw(values[0]);
  if (direct !== undefined && values.every((v) => v === direct)) return asRaw(direct);
  return values.flatMap((v): unknown[] => (Array.isArray(v) ? v : [v])).map(String);
}

function asRaw(value: unknown): RawHeaderValue {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(String);
  return String(value);
}

/**
 * Extracts the token from an Authorization-style header value. Returns `null` when there is
 * no header or it names another scheme (so other authentication can coexist); throws
 * {@link MalformedAuthorizationHeaderError} for a bearer header that is not `<prefix> <token>`.
 */
export function parseAuthorizationHeader(value: RawHeaderValue, prefix: string): string | null {
  if (value === undefined) return null;
  if (typeof value !== "string") {
    if (value.length === 0) return null;
    if (value.length > 1) throw new MalformedAuthorizationHeaderError();
    return parseAuthorizationHeader(value[0], prefix);
  }

  const trimmed = value.trim();
  if (trimmed.length === 0) throw new MalformedAuthorizationHeaderError();

  const parts = trimmed.split(/[ \t]+/);
  if (parts[0]?.toLowerCase() !== prefix.toLowerCase()) return null;
  if (parts.length !== 2) throw new MalformedAuthorizationHeaderError();

  return checkTokenCharacters(parts[1] ?? "");
}

/** A token must be visible ASCII; anything else is a malformed credential. */
export function checkTokenCharacters(token: string): string {
  if (!TOKEN_CHARS.test(token)) throw new MalformedAuthorizationHeaderError();
  return token;
}

/**
 * Reads credentials from websocket or SSE `connectionParams`: `{ authorization: "Bearer …" }`
 * (the configured header name) or `{ token: "…" }`. `undefined` when neither is present.
 */
export function readConnectionParams(
  params: unknown,
  headerName: string,
  prefix: string,
): string | null | undefined {
  if (typeof params !== "object" || params === null) return undefined;

  const header = lookup(params, headerName);
  if (header !== undefined) return parseAuthorizationHeader(header, prefix);

  const token = (params as Record<string, unknown>).token;
  if (token === undefined || token === null) return undefined;
  if (typeof token !== "string" || token.trim().length === 0) {
    throw new MalformedAuthorizationHeaderError();
  }
  return checkTokenCharacters(token.trim());
}
