import type { TokenSource } from "./token-source.js";

/**
 * The headers {@link bearerHeaders} produces. A type alias rather than an interface, so it is
 * assignable to tRPC's `HTTPHeaders` record.
 */
export type BearerHeaders = {
  /** `Bearer <access token>`. */
  authorization: string;
};

/**
 * Turns a token source into a headers callback for `httpBatchLink({ url, headers })` or
 * `httpLink` of `@trpc/client`: every request carries `Authorization: Bearer <token>`.
 *
 * The link does not retry. To retry once after a 401, catch the `TRPCClientError`, call
 * `source.invalidate()` and send the call again; the next request fetches a new token.
 *
 * @example
 * const tokens = createClientCredentialsTokenSource({ tokenUrl, clientId, clientSecret });
 * const client = createTRPCClient<AppRouter>({
 *   links: [httpBatchLink({ url, headers: bearerHeaders(tokens) })],
 * });
 * try {
 *   await client.orders.list.query();
 * } catch (error) {
 *   if (!(error instanceof TRPCClientError) || error.data?.httpStatus !== 401) throw error;
 *   tokens.invalidate();
 *   await client.orders.list.query();
 * }
 */
export function bearerHeaders(source: Pick<TokenSource, "getToken">): () => Promise<BearerHeaders> {
  return async () => ({ authorization: `Bearer ${await source.getToken()}` });
}
