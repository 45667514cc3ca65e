import { CognitoJwtVerifier } from "aws-jwt-verify";
import {
  CognitoJwtInvalidClientIdError,
  FetchError,
  JwkValidationError,
  JwksNotAvailableInCacheError,
  JwksValidationError,
  JwtExpiredError,
  KidNotFoundInJwksError,
  WaitPeriodNotYetEndedJwkError,
} from "aws-jwt-verify/error";

import {
  ClientNotAllowedError,
  CognitoM2MError,
  ExpiredTokenError,
  InvalidTokenError,
  JwksUnavailableError,
} from "../errors.js";
import type { TokenVerifier, VerifierOptions } from "../options.js";

/**
 * Seconds during which, after a failed JWKS fetch, no new fetch is tried and tokens are only
 * checked against keys already cached. Matches aws-jwt-verify's penalty box for unknown kids.
 */
export const JWKS_RETRY_AFTER_SECONDS = 10;

/** Maps an error from aws-jwt-verify (or a custom verifier) to this library's errors. */
export function mapVerifierError(error: unknown, retryAfterSeconds: number): CognitoM2MError {
  if (error instanceof CognitoM2MError) return error;
  if (error instanceof JwtExpiredError) return new ExpiredTokenError({ cause: error });
  if (error instanceof CognitoJwtInvalidClientIdError)
    return new ClientNotAllowedError({ cause: error });
  if (isKeySourceFailure(error))
    return new JwksUnavailableError(retryAfterSeconds, { cause: error });
  return new InvalidTokenError({ cause: error });
}

function isKeySourceFailure(error: unknown): boolean {
  return (
    error instanceof FetchError ||
    error instanceof JwksValidationError ||
    error instanceof JwkValidationError
  );
}

/**
 * The default verifier: aws-jwt-verify's `CognitoJwtVerifier` for access tokens of one pool,
 * built once. After a failed key fetch it stops fetching for {@link JWKS_RETRY_AFTER_SECONDS}
 * and verifies against cached keys only, answering `jwks_unavailable` for unknown keys.
 */
export class CognitoTokenVerifier implements TokenVerifier {
  readonly #verifier;
  #unavailableUntil = 0;

  constructor(userPoolId: string, options: VerifierOptions) {
    const { jwksCache, ...properties } = options;
    this.#verifier = CognitoJwtVerifier.create(
      {
        clientId: null,
        ...properties,
        userPoolId,
        tokenUse: "access",
        includeRawJwtInErrors: false,
      },
      jwksCache ? { jwksCache } : undefined,
    );
  }

  async verify(token: string): Promise<object> {
    const remaining = this.#unavailableUntil - Date.now();
    if (remaining > 0) return this.#verifyFromCache(token, remaining / 1000);

    try {
      return await this.#verifier.verify(token);
    } catch (error) {
      throw this.#mapError(error);
    }
  }

  async hydrate(): Promise<void> {
    try {
      await this.#verifier.hydrate();
    } catch (error) {
      throw this.#mapError(error);
    }
  }

  #verifyFromCache(token: string, retryAfterSeconds: number): object {
    try {
      return this.#verifier.verifySync(token);
    } catch (error) {
      if (
        error instanceof KidNotFoundInJwksError ||
        error instanceof JwksNotAvailableInCacheError
      ) {
        throw new JwksUnavailableError(retryAfterSeconds, { cause: error });
      }
      throw this.#mapError(error);
    }
  }

  #mapError(error: unknown): CognitoM2MError {
    if (isKeySourceFailure(error)) {
      this.#unavailableUntil = Date.now() + JWKS_RETRY_AFTER_SECONDS * 1000;
    }
    if (error instanceof WaitPeriodNotYetEndedJwkError) {
      return new InvalidTokenError({ cause: error });
    }
    return mapVerifierError(error, JWKS_RETRY_AFTER_SECONDS);
  }
}
