import { ClientNotAllowedError, CognitoM2MError, InvalidTokenError, reason } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ResolvedOptions } from "../options.js";
import type { ServicePrincipal } from "../principal.js";
import type { TokenVerification } from "../verification/index.js";
import { parseAuthorizationHeader, readConnectionParams, readHeader } from "./credentials.js";

/** The outcome of reading a request's credentials. */
export type AuthenticationResult =
  { principal: ServicePrincipal; error: null } | { principal: null; error: CognitoM2MError | null };

/** Turns request credentials into a principal: header → token → verification → allowlists. */
export class Authenticator {
  readonly #options: ResolvedOptions;
  readonly #verification: TokenVerification;
  readonly #logger: Logger;

  constructor(options: ResolvedOptions, verification: TokenVerification, logger: Logger) {
    this.#options = options;
    this.#verification = verification;
    this.#logger = logger;
  }

  /** Reads the token from a header source (see `readHeader`); `null` when there is none. */
  tokenFromHeaders(source: unknown): string | null {
    const value = readHeader(source, this.#options.headerName);
    return parseAuthorizationHeader(value, this.#options.headerPrefix);
  }

  /** Reads the token from websocket or SSE connection params; `undefined` when absent. */
  tokenFromConnectionParams(params: unknown): string | null | undefined {
    return readConnectionParams(params, this.#options.headerName, this.#options.headerPrefix);
  }

  /** Verifies `token` and applies the instance-wide client and audience rules. */
  async principalFor(token: string): Promise<ServicePrincipal> {
    const principal = await this.#verification.verify(token);

    const allowed = this.#options.allowedClientIds;
    if (allowed !== null && !allowed.has(principal.clientId)) {
      this.#logger.warn({ clientId: principal.clientId }, "Client id is not on the allowlist");
      throw new ClientNotAllowedError();
    }

    const audience = this.#options.audience;
    if (audience !== null && !matchesAudience(principal.aud, audience)) {
      throw new InvalidTokenError({ cause: reason("Claim aud does not match the audience.") });
    }

    this.#logger.info(
      { clientId: principal.clientId, scopes: [...principal.scopes] },
      "Authenticated machine client",
    );
    return principal;
  }

  /**
   * Runs `read` (which extracts a token) and verifies it, never throwing: failures come back
   * as `error`, so the caller decides whether they fail the request.
   */
  async settle(read: () => string | null | undefined): Promise<AuthenticationResult> {
    try {
      const token = read();
      if (token === null || token === undefined) return { principal: null, error: null };
      return { principal: await this.principalFor(token), error: null };
    } catch (error) {
      if (error instanceof CognitoM2MError) {
        this.#logger.info({ code: error.code }, "Bearer authentication failed");
        return { principal: null, error };
      }
      throw error;
    }
  }
}

function matchesAudience(
  aud: string | readonly string[] | undefined,
  expected: ReadonlySet<string>,
) {
  if (aud === undefined) return false;
  if (typeof aud === "string") return expected.has(aud);
  return aud.some((a) => expected.has(a));
}
