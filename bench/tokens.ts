/**
 * Tokens derived from a real one without signing again (RSA signing costs about a
 * millisecond): a new header over the same payload and signature. Their signatures no longer
 * match, which is fine for tokens meant to be refused before or at the key lookup.
 */
import { randomUUID } from "node:crypto";

function encodeHeader(header: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(header)).toString("base64url");
}

/** `token` with its header replaced by `header` (and its signature by `signature`, if given). */
export function withHeader(
  token: string,
  header: Record<string, unknown>,
  signature?: string,
): string {
  const [, payload, originalSignature] = token.split(".");
  return `${encodeHeader(header)}.${payload}.${signature ?? originalSignature}`;
}

/** A token naming a random key id the issuer never had. */
export function unknownKidToken(token: string): string {
  return withHeader(token, { alg: "RS256", kid: randomUUID() });
}

/** Malformed tokens the library's pre-check must refuse, by shape. */
export function malformedTokens(token: string, kid: string): Record<string, string> {
  return {
    "not a JWT": "not-a-jwt",
    "alg HS256": withHeader(token, { alg: "HS256", kid }),
    "no kid": withHeader(token, { alg: "RS256" }),
    "alg none": withHeader(token, { alg: "none", kid }, ""),
  };
}

/** The `kid` in a token's header. */
export function kidOf(token: string): string {
  const header = JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString()) as {
    kid?: unknown;
  };
  if (typeof header.kid !== "string") throw new Error("The token has no kid.");
  return header.kid;
}
