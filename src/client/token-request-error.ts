/**
 * Why a token request failed: an RFC 6749 §5.2 error code from the token endpoint, or
 * `network_error` (no response) or `invalid_response` (a response that is not a usable OAuth
 * answer). Other codes a server invents are passed through as strings.
 */
export type TokenRequestErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "network_error"
  | "invalid_response"
  | (string & Record<never, never>);

/** What a {@link TokenRequestError} is built from. */
export interface TokenRequestErrorInit {
  /** The OAuth error code, `network_error` or `invalid_response`. */
  code: TokenRequestErrorCode;
  /** The HTTP status, when a response arrived. */
  status?: number;
  /** The server's `error_description`, or what was wrong with the response. */
  description?: string;
  /** The underlying error, already checked to hold no credentials. */
  cause?: unknown;
}

/**
 * A client-credentials token request failed. Neither the client secret nor an access token
 * appears in its message, properties or `cause` chain.
 */
export class TokenRequestError extends Error {
  /** The HTTP status of the token endpoint's answer; `undefined` when none arrived. */
  readonly status: number | undefined;
  /** The OAuth `error` value, or `network_error` / `invalid_response`. */
  readonly code: TokenRequestErrorCode;
  /** The server's `error_description`, or what was wrong with the response. */
  readonly description: string | undefined;

  constructor(init: TokenRequestErrorInit) {
    const status = init.status === undefined ? "" : ` (HTTP ${init.status})`;
    const description = init.description === undefined ? "" : `: ${init.description}`;
    const options = init.cause === undefined ? undefined : { cause: init.cause };
    super(`Token request failed with ${init.code}${status}${description}`, options);
    this.name = "TokenRequestError";
    this.status = init.status;
    this.code = init.code;
    this.description = init.description;
  }
}
