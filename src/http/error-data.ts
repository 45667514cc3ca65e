import {
  type CognitoM2MErrorCode,
  findCognitoError,
  InsufficientScopeError,
  JwksUnavailableError,
  type ScopeMatch,
} from "../errors.js";

/** What a client learns about an error of this library, under `error.data.cognito`. */
export interface CognitoErrorData {
  /** The library's stable error code, such as `expired_token` or `insufficient_scope`. */
  code: CognitoM2MErrorCode;
  /** For `insufficient_scope`: the scopes the procedure asked for. */
  requiredScopes?: string[];
  /** For `insufficient_scope`: whether all or any of `requiredScopes` were needed. */
  match?: ScopeMatch;
  /**
   * For `jwks_unavailable`: seconds after which a retry may succeed, the same value as the
   * HTTP `Retry-After` header, for transports without headers (websockets, streams).
   */
  retryAfterSeconds?: number;
}

/** The fields {@link errorData} adds to an error shape's `data`. */
export interface CognitoErrorDataFields {
  /** Present only for errors of this library. */
  cognito?: CognitoErrorData;
}

/**
 * The `data` fields for an app's `errorFormatter`: `{ cognito: { code, … } }` when `error` (a
 * `TRPCError` whose `cause` is this library's error, or that error itself) comes from this
 * library, `{}` otherwise. Holds no message, claim or token.
 *
 * @example
 * initTRPC.context<Ctx>().create({
 *   errorFormatter: ({ shape, error }) => ({
 *     ...shape,
 *     data: { ...shape.data, ...m2m.errorData(error) },
 *   }),
 * });
 */
export function errorData(error: unknown): CognitoErrorDataFields {
  const found = findCognitoError(error);
  if (found === undefined) return {};

  const data: CognitoErrorData = { code: found.code };
  if (found instanceof InsufficientScopeError) {
    data.requiredScopes = [...found.requiredScopes];
    data.match = found.match;
  }
  if (found instanceof JwksUnavailableError) data.retryAfterSeconds = found.retryAfterSeconds;
  return { cognito: data };
}
