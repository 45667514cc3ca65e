import { NonRetryableFetchError } from "aws-jwt-verify/error";
import type { Fetcher } from "aws-jwt-verify/https";
import { SimpleJwksCache } from "aws-jwt-verify/jwk";
import type { Jwks } from "aws-jwt-verify/jwk";

import { resolvePool } from "./pool.js";
import { createSigningKey, mintAccessToken, toJwks } from "./token-minter.js";
import type { MintAccessTokenOptions } from "./token-minter.js";

/** Options for {@link createTestIssuer}. */
export interface TestIssuerOptions {
  /** The user pool the tokens claim to come from, e.g. `eu-west-1_AbC123`. */
  userPoolId: string;
  /** The pool's AWS region. Default: the pool id's prefix; a different value throws. */
  region?: string;
}

/**
 * The verifier settings that make aws-jwt-verify trust a test issuer's keys. Pass them as
 * `createCognitoM2M({ userPoolId, verifierOptions })`, or as the second argument of
 * `CognitoJwtVerifier.create`.
 */
export interface TestVerifierOptions {
  /** A JWKS cache that already holds the issuer's keys under the pool's JWKS URIs. */
  readonly jwksCache: SimpleJwksCache;
}

/** An in-memory stand-in for a Cognito user pool that mints signed access tokens. */
export interface TestIssuer {
  /** The pool's `iss` value: `https://cognito-idp.<region>.amazonaws.com/<userPoolId>`. */
  readonly issuer: string;
  /** The public signing key set, as Cognito publishes it. */
  readonly jwks: Jwks;
  /** The key id of the signing key; a header with any other `kid` names an unknown key. */
  readonly kid: string;
  /** The user pool id. */
  readonly userPoolId: string;
  /** The AWS region of the pool. */
  readonly region: string;
  /**
   * Mints an access token signed with this issuer's key. Use `claims` and `header` for
   * negative cases, e.g. `header: { kid: "other" }` for an unknown key; a second
   * `createTestIssuer` with the same pool id gives a foreign key.
   */
  mintAccessToken(options: MintAccessTokenOptions): string;
  /** Verifier settings that trust this issuer's keys and never use the network. */
  readonly verifierOptions: TestVerifierOptions;
}

/**
 * A fetcher for a JWKS cache that must stay offline: every fetch fails at once with
 * aws-jwt-verify's `NonRetryableFetchError`, so a token with an unknown `kid` is rejected
 * visibly instead of reaching out to AWS.
 */
export class OfflineFetcher implements Fetcher {
  /** Always rejects with `NonRetryableFetchError`. */
  fetch(uri: string): Promise<ArrayBuffer> {
    return Promise.reject(
      new NonRetryableFetchError(uri, "the test issuer does not fetch keys over the network"),
    );
  }
}

/**
 * Creates an in-memory Cognito issuer for tests: a fresh RSA 2048 key, tokens with Cognito's
 * access-token shape, and verifier settings under which real aws-jwt-verify accepts them
 * without any network access.
 *
 * @example
 * const issuer = createTestIssuer({ userPoolId: "eu-west-1_Test1" });
 * const token = issuer.mintAccessToken({ clientId: "svc", scopes: ["orders/read"] });
 * const { userPoolId, verifierOptions } = issuer;
 * const m2m = createCognitoM2M({ userPoolId, verifierOptions });
 */
export function createTestIssuer(options: TestIssuerOptions): TestIssuer {
  const pool = resolvePool(options.userPoolId, options.region);
  const key = createSigningKey();
  const jwks = toJwks([key]);

  const jwksCache = new SimpleJwksCache({ fetcher: new OfflineFetcher() });
  jwksCache.addJwks(pool.regionalJwksUri, jwks);
  jwksCache.addJwks(pool.globalJwksUri, jwks);

  return {
    issuer: pool.issuer,
    jwks,
    kid: key.kid,
    userPoolId: pool.userPoolId,
    region: pool.region,
    mintAccessToken: (mintOptions) => mintAccessToken(key, pool.issuer, mintOptions),
    verifierOptions: { jwksCache },
  };
}
