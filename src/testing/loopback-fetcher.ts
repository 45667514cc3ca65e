import { FetchError, NonRetryableFetchError } from "aws-jwt-verify/error";
import type { Fetcher } from "aws-jwt-verify/https";

/** How long one JWKS fetch from the local issuer may take, in milliseconds. */
const FETCH_TIMEOUT_MS = 1500;

/**
 * An aws-jwt-verify `Fetcher` that answers requests for a pool's Cognito JWKS URIs from a
 * local issuer over plain HTTP (aws-jwt-verify's own fetcher speaks HTTPS only). Any other URI
 * is refused. Failures follow aws-jwt-verify's contract: `FetchError` when a retry may help,
 * `NonRetryableFetchError` when it cannot.
 */
export class LoopbackJwksFetcher implements Fetcher {
  #attempts = 0;

  /**
   * @param routes Maps each Cognito JWKS URI to the local URL that serves the same keys.
   */
  constructor(private readonly routes: ReadonlyMap<string, string>) {}

  /** How many fetches reached for the local issuer, failed ones included (a retry is not one). */
  get attempts(): number {
    return this.#attempts;
  }

  /** Fetches the JWKS for `uri` from the local issuer. */
  async fetch(uri: string): Promise<ArrayBuffer> {
    const target = this.routes.get(uri);
    if (target === undefined) {
      throw new NonRetryableFetchError(uri, "not a JWKS URI of the local issuer's user pool");
    }
    this.#attempts += 1;

    let response: Response;
    try {
      response = await fetchOnceMore(target);
    } catch (error) {
      throw new FetchError(uri, `local issuer unreachable (${describeNetworkError(error)})`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      const RejectionClass = response.status < 500 ? NonRetryableFetchError : FetchError;
      throw new RejectionClass(uri, `local issuer answered HTTP ${response.status}`);
    }

    try {
      return await response.arrayBuffer();
    } catch (error) {
      throw new FetchError(uri, `response body failed (${describeNetworkError(error)})`);
    }
  }
}

/**
 * Fetches `target`, trying once more at once when the connection fails (a kept-alive socket
 * the server has just closed), as aws-jwt-verify's own fetcher does. A timeout is not retried.
 */
async function fetchOnceMore(target: string): Promise<Response> {
  try {
    return await fetch(target, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (error) {
    if (error instanceof Error && error.name === "TimeoutError") throw error;
    return fetch(target, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  }
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return "unknown error";
  if (error.name === "TimeoutError") return `timed out after ${FETCH_TIMEOUT_MS} ms`;

  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : error.message;
}
