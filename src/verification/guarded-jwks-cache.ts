import {
  FetchError,
  JwkValidationError,
  JwksNotAvailableInCacheError,
  JwksValidationError,
  KidNotFoundInJwksError,
} from "aws-jwt-verify/error";
import type { JwksCache, Jwks, JwkWithKid } from "aws-jwt-verify/jwk";
import type { DecomposedJwt } from "aws-jwt-verify/jwt";

import { JwksUnavailableError } from "../errors.js";

/** Whether `error` says the key set could not be fetched or read (not: the key is unknown). */
export function isKeySourceFailure(error: unknown): boolean {
  return (
    error instanceof FetchError ||
    error instanceof JwksValidationError ||
    error instanceof JwkValidationError
  );
}

/**
 * Wraps aws-jwt-verify's JWKS cache so that a failed key fetch is not retried for
 * `retryAfterSeconds`: meanwhile tokens are checked against the keys already cached, and a
 * token that needs another key is refused with `JwksUnavailableError` (HTTP 503) at once,
 * instead of every request trying Cognito again.
 */
export class GuardedJwksCache implements JwksCache {
  readonly #inner: JwksCache;
  readonly #retryAfterMs: number;
  #unavailableUntil = 0;

  constructor(inner: JwksCache, retryAfterSeconds: number) {
    this.#inner = inner;
    this.#retryAfterMs = retryAfterSeconds * 1000;
  }

  async getJwk(jwksUri: string, decomposedJwt: DecomposedJwt): Promise<JwkWithKid> {
    const remainingMs = this.#unavailableUntil - Date.now();
    if (remainingMs > 0) return this.#cachedOnly(jwksUri, decomposedJwt, remainingMs);

    try {
      return await this.#inner.getJwk(jwksUri, decomposedJwt);
    } catch (error) {
      throw this.#noteFailure(error);
    }
  }

  getCachedJwk(jwksUri: string, decomposedJwt: DecomposedJwt): JwkWithKid {
    return this.#inner.getCachedJwk(jwksUri, decomposedJwt);
  }

  addJwks(jwksUri: string, jwks: Jwks): void {
    this.#inner.addJwks(jwksUri, jwks);
  }

  async getJwks(jwksUri: string): Promise<Jwks> {
    try {
      return await this.#inner.getJwks(jwksUri);
    } catch (error) {
      throw this.#noteFailure(error);
    }
  }

  #cachedOnly(jwksUri: string, decomposedJwt: DecomposedJwt, remainingMs: number): JwkWithKid {
    try {
      return this.#inner.getCachedJwk(jwksUri, decomposedJwt);
    } catch (error) {
      if (
        error instanceof KidNotFoundInJwksError ||
        error instanceof JwksNotAvailableInCacheError
      ) {
        throw new JwksUnavailableError(remainingMs / 1000, { cause: error });
      }
      throw error;
    }
  }

  #noteFailure(error: unknown): unknown {
    if (!isKeySourceFailure(error)) return error;
    this.#unavailableUntil = Date.now() + this.#retryAfterMs;
    return new JwksUnavailableError(this.#retryAfterMs / 1000, { cause: error });
  }
}
