import { CognitoJwtVerifier } from "aws-jwt-verify";
import { CognitoJwtInvalidClientIdError, JwtExpiredError } from "aws-jwt-verify/error";
import { SimpleJwksCache } from "aws-jwt-verify/jwk";

import {
  ClientNotAllowedError,
  CognitoM2MError,
  ExpiredTokenError,
  InvalidTokenError,
  JwksUnavailableError,
} from "../errors.js";
import type { TokenVerifier, VerifierOptions } from "../options.js";
import { GuardedJwksCache, isKeySourceFailure } from "./guarded-jwks-cache.js";

/**
 * Seconds during which, after a failed JWKS fetch, no new fetch is tried and tokens are only
 * checked against keys already cached. Matches aws-jwt-verify's penalty box for unknown kids.
 */
export const JWKS_RETRY_AFTER_SECONDS = 10;

/**
 * Maps an error from aws-jwt-verify (or a custom verifier) to this library's errors: by
 * class, never by message. Anything the verifier refuses that is not listed is
 * `invalid_token`, including aws-jwt-verify's penalty-box refusal of an unknown `kid`.
 */
export function mapVerifierError(error: unknown): CognitoM2MError {
  if (error instanceof CognitoM2MError) return error;
  if (error instanceof JwtExpiredError) return new ExpiredTokenError({ cause: error });
  if (error instanceof CognitoJwtInvalidClientIdError) {
    return new ClientNotAllowedError({ cause: error });
  }
  if (isKeySourceFailure(error)) {
    return new JwksUnavailableError(JWKS_RETRY_AFTER_SECONDS, { cause: error });
  }
  return new InvalidTokenError({ cause: error });
}

/**
 * The default verifier: aws-jwt-verify's `CognitoJwtVerifier` for access tokens of one pool,
 * built once, with its JWKS cache guarded against retrying a failed fetch on every request.
 */
export class CognitoTokenVerifier implements TokenVerifier {
  readonly #verifier;

  constructor(userPoolId: string, options: VerifierOptions) {
    const { jwksCache, ...properties } = options;
    const guarded = new GuardedJwksCache(
      jwksCache ?? new SimpleJwksCache(),
      JWKS_RETRY_AFTER_SECONDS,
    );
    this.#verifier = CognitoJwtVerifier.create(
      {
        clientId: null,
        ...properties,
        userPoolId,
        tokenUse: "access",
        includeRawJwtInErrors: false,
      },
      { jwksCache: guarded },
    );
  }

  async verify(token: string): Promise<object> {
    try {
      return await this.#verifier.verify(token);
    } catch (error) {
      throw mapVerifierError(error);
    }
  }

  async hydrate(): Promise<void> {
    try {
      await this.#verifier.hydrate();
    } catch (error) {
      throw mapVerifierError(error);
    }
  }
}
