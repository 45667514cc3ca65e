import { InvalidTokenError, reason } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ResolvedOptions } from "../options.js";
import { parseScopeClaim, ServicePrincipal } from "../principal.js";
import { CognitoTokenVerifier, mapVerifierError } from "./cognito.js";
import { looksLikeCognitoJwt } from "./precheck.js";
import { TokenCache } from "./token-cache.js";

/** Longest token accepted, in characters. Cognito access tokens are far smaller. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

/** Turns a bearer token into a verified principal, or throws one of this library's errors. */
export interface TokenVerification {
  verify(token: string): Promise<ServicePrincipal>;
  /** Fetches the signing keys now; rejects with `JwksUnavailableError` when it cannot. */
  ready(): Promise<void>;
  /** The verified-token cache, when enabled. */
  readonly cache: TokenCache | undefined;
}

/**
 * Builds the verification layer once per instance: the verifier (aws-jwt-verify's unless one
 * is given), the cheap pre-check in front of it, and the verified-token cache.
 */
export function createTokenVerification(
  options: ResolvedOptions,
  logger: Logger,
): TokenVerification {
  const builtIn = options.verifier === undefined;
  const verifier =
    options.verifier ?? new CognitoTokenVerifier(options.userPoolId, options.verifierOptions);
  const cache =
    options.tokenCache === false
      ? undefined
      : new TokenCache({
          maxEntries: options.tokenCache.maxEntries,
          ttlSeconds: options.tokenCache.ttlSeconds,
          graceSeconds: options.verifierOptions.graceSeconds ?? 0,
        });

  async function verifyUncached(token: string): Promise<ServicePrincipal> {
    if (builtIn && !looksLikeCognitoJwt(token)) {
      throw new InvalidTokenError({ cause: reason("Token is not an RS256 JWT with a kid.") });
    }

    let claims: unknown;
    try {
      claims = await verifier.verify(token);
    } catch (error) {
      const mapped = mapVerifierError(error);
      logger.debug(
        { code: mapped.code, reason: reasonOf(mapped.cause ?? error) },
        "Token verification failed",
      );
      throw mapped;
    }
    return principalFromClaims(claims, token);
  }

  return {
    cache,
    async verify(token) {
      if (token.length > MAX_TOKEN_LENGTH) {
        throw new InvalidTokenError({
          cause: reason("Token is longer than any Cognito token."),
        });
      }
      if (cache === undefined) return verifyUncached(token);

      const key = cache.key(token);
      const cached = cache.get(key, Date.now());
      if (cached !== undefined) return cached;

      const principal = await verifyUncached(token);
      cache.set(key, principal, Date.now());
      return principal;
    },
    async ready() {
      if (verifier.hydrate === undefined) return;
      try {
        await verifier.hydrate();
      } catch (error) {
        throw mapVerifierError(error);
      }
    },
  };
}

/** Builds the principal from verified claims, refusing claims that break Cognito's shape. */
export function principalFromClaims(claims: unknown, rawToken: string): ServicePrincipal {
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    throw new InvalidTokenError({ cause: reason("Verifier returned no claims object.") });
  }

  const { client_id: clientId, scope } = claims as { client_id?: unknown; scope?: unknown };
  if (typeof clientId !== "string" || clientId.length === 0) {
    throw new InvalidTokenError({
      cause: reason("Claim client_id is missing or not a string."),
    });
  }
  if (scope !== undefined && typeof scope !== "string") {
    throw new InvalidTokenError({ cause: reason("Claim scope is not a string.") });
  }
  return new ServicePrincipal({ clientId, scopes: parseScopeClaim(scope), claims, rawToken });
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return "non-error thrown";
  // aws-jwt-verify's errors keep the name "Error"; their class says what went wrong
  return `${error.constructor.name}: ${error.message}`;
}
