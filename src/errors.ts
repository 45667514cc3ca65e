import { TRPCError } from "@trpc/server";

/** Every stable error code this library produces. */
export type CognitoM2MErrorCode =
  | "configuration_error"
  | "missing_token"
  | "malformed_authorization_header"
  | "invalid_token"
  | "expired_token"
  | "insufficient_scope"
  | "client_not_allowed"
  | "jwks_unavailable"
  | "user_mapping_error";

/** How a list of required scopes is matched against the token's scopes. */
export type ScopeMatch = "all" | "any";

/** The tRPC error code each library error becomes when it reaches a client. */
export type CognitoTRPCErrorCode =
  "UNAUTHORIZED" | "FORBIDDEN" | "SERVICE_UNAVAILABLE" | "INTERNAL_SERVER_ERROR";

/**
 * Runs `build` with stack capture off. Errors that answer a request (a refused token, a
 * missing scope) are expected outcomes, and capturing a stack would cost more than the rest
 * of the rejection.
 */
function withoutStack<T>(build: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return build();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Why a token was refused, as a stack-less `Error` for `cause` and the logger. */
export function reason(message: string): Error {
  return withoutStack(() => new Error(message));
}

/**
 * Base class of every error this library throws. `message` is the text a client may see;
 * details from the verifier or the database stay in `cause`. Only setup errors carry a stack.
 */
export abstract class CognitoM2MError extends Error {
  abstract readonly code: CognitoM2MErrorCode;
  /** The tRPC code used by {@link toTRPCError}; `undefined` for setup errors. */
  abstract readonly trpcCode: CognitoTRPCErrorCode | undefined;

  constructor(message: string, options?: { cause?: unknown }) {
    const limit = Error.stackTraceLimit;
    if (new.target !== ConfigurationError) Error.stackTraceLimit = 0;
    super(message, options);
    Error.stackTraceLimit = limit;
    this.name = new.target.name;
  }
}

/** A bad option or a missing piece of setup. Thrown when the instance is created or checked. */
export class ConfigurationError extends CognitoM2MError {
  readonly code = "configuration_error";
  readonly trpcCode = undefined;
}

/** The caller is not authenticated (HTTP 401). */
export abstract class AuthenticationError extends CognitoM2MError {
  readonly trpcCode = "UNAUTHORIZED";
}

/** The caller is authenticated but may not do this (HTTP 403). */
export abstract class AuthorizationError extends CognitoM2MError {
  readonly trpcCode = "FORBIDDEN";
}

/** A protected procedure was called without a bearer token. */
export class MissingTokenError extends AuthenticationError {
  readonly code: CognitoM2MErrorCode = "missing_token";

  constructor(options?: { cause?: unknown }) {
    super("Authentication credentials were not provided.", options);
  }
}

/** The Authorization header names the bearer scheme but is not `Bearer <token>`. */
export class MalformedAuthorizationHeaderError extends AuthenticationError {
  readonly code: CognitoM2MErrorCode = "malformed_authorization_header";

  constructor(options?: { cause?: unknown }) {
    super("Malformed Authorization header.", options);
  }
}

/** The token was presented and rejected: bad signature, wrong issuer, wrong use, bad claims. */
export class InvalidTokenError extends AuthenticationError {
  readonly code: CognitoM2MErrorCode = "invalid_token";

  constructor(options?: { cause?: unknown }, message = "Invalid bearer token.") {
    super(message, options);
  }
}

/** The token was valid once and its `exp` has passed. */
export class ExpiredTokenError extends InvalidTokenError {
  override readonly code: CognitoM2MErrorCode = "expired_token";

  constructor(options?: { cause?: unknown }) {
    super(options, "Bearer token has expired.");
  }
}

/** The token lacks the scopes a procedure requires. */
export class InsufficientScopeError extends AuthorizationError {
  readonly code = "insufficient_scope";
  /** The scopes the procedure asked for. */
  readonly requiredScopes: readonly string[];
  /** Whether all or any of `requiredScopes` were needed. */
  readonly match: ScopeMatch;

  constructor(requiredScopes: Iterable<string>, match: ScopeMatch, options?: { cause?: unknown }) {
    super("Insufficient scope.", options);
    this.requiredScopes = Object.freeze([...requiredScopes]);
    this.match = match;
  }
}

/** The token belongs to a client id that is not on the allowlist. */
export class ClientNotAllowedError extends AuthorizationError {
  readonly code = "client_not_allowed";

  constructor(options?: { cause?: unknown }) {
    super("Client is not allowed.", options);
  }
}

/** Cognito's signing keys could not be fetched, so no new token can be checked (HTTP 503). */
export class JwksUnavailableError extends CognitoM2MError {
  readonly code = "jwks_unavailable";
  readonly trpcCode = "SERVICE_UNAVAILABLE";
  /** Seconds after which a retry may succeed; sent as `Retry-After`. */
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number, options?: { cause?: unknown }) {
    super("Token signing keys are unavailable.", options);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

/** Mapping the principal to an application user failed (ambiguous, missing claim, or error). */
export class UserMappingError extends CognitoM2MError {
  readonly code = "user_mapping_error";
  readonly trpcCode = "INTERNAL_SERVER_ERROR";

  constructor(options?: { cause?: unknown }) {
    super("User mapping failed.", options);
  }
}

/**
 * Converts a library error to the `TRPCError` a procedure throws. The client sees the
 * library's fixed message; the original error stays reachable as `cause`.
 */
export function toTRPCError(error: CognitoM2MError): TRPCError {
  return withoutStack(
    () =>
      new TRPCError({
        code: error.trpcCode ?? "INTERNAL_SERVER_ERROR",
        message: error.message,
        cause: error,
      }),
  );
}

/** Finds this library's error on a `TRPCError` (or returns the error itself). */
export function findCognitoError(error: unknown): CognitoM2MError | undefined {
  if (error instanceof CognitoM2MError) return error;
  if (error instanceof TRPCError && error.cause instanceof CognitoM2MError) return error.cause;
  return undefined;
}
