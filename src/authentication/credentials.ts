import { MalformedAuthorizationHeaderError } from "../errors.js";

/** A header value as adapters hand it over: absent, one string, or several. */
export type RawHeaderValue = string | readonly string[] | undefined;

const TOKEN_CHARS = /^[\x21-\x7e]+$/;

/** Reads one header (by lower-case name) from any supported source. */
export function readHeader(source: unknown, name: string): RawHeaderValue {
  if (typeof source !== "object" || source === null) return undefined;
  if (isHeaders(source)) return source.get(name) ?? undefined;

  const s = source as {
    headers?: unknown;
    rawHeaders?: unknown;
    raw?: { rawHeaders?: unknown };
    multiValueHeaders?: unknown;
  };
  const rawHeaders = s.rawHeaders ?? s.raw?.rawHeaders;
  if (Array.isArray(rawHeaders)) return fromRawHeaders(rawHeaders, name);
  if (s.headers === undefined) return lookup(source, name);
  if (isHeaders(s.headers)) return s.headers.get(name) ?? undefined;

  const multi = lookup(s.multiValueHeaders, name);
  if (typeof multi !== "string" && multi !== undefined && multi.length > 1) return multi;
  return lookup(s.headers, name) ?? multi;
}

/**
 * Reads a header from Node's `rawHeaders` (name, value, name, value, …), which keeps every
 * occurrence: Node's `headers` object silently drops a second `Authorization`.
 */
function fromRawHeaders(raw: readonly unknown[], name: string): RawHeaderValue {
  let first: string | undefined;
  let all: string[] | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i];
    if (typeof key !== "string" || key.length !== name.length || key.toLowerCase() !== name) {
      continue;
    }
    const value = asHeaderString(raw[i + 1]);
    if (first === undefined) first = value;
    else (all ??= [first]).push(value);
  }
  return all ?? first;
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
  return values.flatMap((v): unknown[] => (Array.isArray(v) ? v : [v])).map(asHeaderString);
}

function asRaw(value: unknown): RawHeaderValue {
  if (Array.isArray(value)) return value.map(asHeaderString);
  return asHeaderString(value);
}

/** A header value as text; anything that is not plain text or a number is malformed. */
function asHeaderString(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new MalformedAuthorizationHeaderError();
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
