import { createHash, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import type { KeyObject } from "node:crypto";

import type { Jwk, Jwks } from "aws-jwt-verify/jwk";

/** An RSA key pair that signs test tokens; only the public half is ever published. */
export interface SigningKey {
  /** The key id, the RFC 7638 thumbprint of the public key. */
  readonly kid: string;
  /** The private key. Never leaves the process. */
  readonly privateKey: KeyObject;
  /** The public key as a JWK with `kid`, `alg: "RS256"` and `use: "sig"`. */
  readonly jwk: Jwk;
}

/** What a test access token should say. */
export interface MintAccessTokenOptions {
  /** The app client the token is for: becomes `client_id` and `sub`. */
  clientId: string;
  /** The granted scopes, joined with spaces into the `scope` claim. */
  scopes: readonly string[];
  /**
   * Seconds from now until `exp`. Default 3600. Zero or negative mints a token that has
   * already expired.
   */
  expiresInSeconds?: number;
  /**
   * Payload claims to add or replace. A claim set to `undefined` is removed, so tests can mint
   * tokens without `exp`, with another `iss`, or with `token_use: "id"`.
   */
  claims?: Record<string, unknown>;
  /**
   * Header fields to add or replace; `undefined` removes one (e.g. `{ kid: undefined }`). The
   * signature is always RS256 with the issuer's key, except that `alg: "none"` leaves the
   * signature empty.
   */
  header?: Record<string, unknown>;
}

const DEFAULT_LIFETIME_SECONDS = 3600;

/** Generates an in-memory RSA 2048 key pair for signing test tokens. */
export function createSigningKey(): SigningKey {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const { n, e } = publicKey.export({ format: "jwk" });
  if (typeof n !== "string" || typeof e !== "string") {
    throw new Error("Node did not export the RSA public key as a JWK.");
  }

  const kid = createHash("sha256")
    .update(JSON.stringify({ e, kty: "RSA", n }))
    .digest("base64url");
  return { kid, privateKey, jwk: { kty: "RSA", n, e, kid, alg: "RS256", use: "sig" } };
}

/** A JWKS holding the public halves of `keys`. */
export function toJwks(keys: readonly SigningKey[]): Jwks {
  return { keys: keys.map((key) => ({ ...key.jwk })) };
}

/**
 * Mints a token shaped like a Cognito client-credentials access token, issued by `issuer` and
 * signed with `key`.
 */
export function mintAccessToken(
  key: SigningKey,
  issuer: string,
  options: MintAccessTokenOptions,
): string {
  const expiresInSeconds = options.expiresInSeconds ?? DEFAULT_LIFETIME_SECONDS;
  if (!Number.isFinite(expiresInSeconds)) {
    throw new Error("expiresInSeconds must be a finite number.");
  }

  const now = Math.floor(Date.now() / 1000);
  const payload = {
    sub: options.clientId,
    token_use: "access",
    scope: options.scopes.join(" "),
    auth_time: now,
    iss: issuer,
    exp: now + Math.trunc(expiresInSeconds),
    iat: now,
    version: 2,
    jti: randomUUID(),
    client_id: options.clientId,
  };
  const header = { alg: "RS256", kid: key.kid };
  return signJwt(merge(header, options.header), merge(payload, options.claims), key.privateKey);
}

/** Encodes and signs a JWS in compact form (RS256, or unsigned when the header says `none`). */
export function signJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  privateKey: KeyObject,
): string {
  const signingInput = `${encodeSegment(header)}.${encodeSegment(payload)}`;
  if (header.alg === "none") return `${signingInput}.`;

  const signature = sign("sha256", Buffer.from(signingInput), privateKey);
  return `${signingInput}.${signature.toString("base64url")}`;
}

function encodeSegment(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function merge(
  base: Record<string, unknown>,
  overrides: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base, ...overrides };
  for (const [name, value] of Object.entries(merged)) {
    if (value === undefined) delete merged[name];
  }
  return merged;
}
