import { createTRPCClient, httpBatchLink } from "@trpc/client";
import superjson from "superjson";

import {
  bearerHeaders,
  createClientCredentialsTokenSource,
  type TokenSource,
} from "../src/client/index.js";
import type { AppRouter } from "./api.js";

/** How a calling service reaches the API and the pool's token endpoint. */
export interface CallingServiceOptions {
  /** The API's base URL. */
  apiUrl: string;
  /** The user pool's OAuth2 token endpoint. */
  tokenUrl: string;
  /** The service's app client id and secret. */
  clientId: string;
  clientSecret: string;
  /** The scopes to ask for; default: every scope the app client may have. */
  scopes?: readonly string[];
}

/**
 * A service that calls the API as itself: it fetches access tokens with the client-credentials
 * grant (cached until shortly before they expire) and sends one with every request.
 */
export function createCallingService(options: CallingServiceOptions) {
  const tokens = createClientCredentialsTokenSource({
    tokenUrl: options.tokenUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    scopes: options.scopes,
  });
  return { tokens, api: createApiClient(options.apiUrl, tokens) };
}

/**
 * A typed tRPC client of the API. With `tokens`, every request carries
 * `Authorization: Bearer <token>`; without, requests go out unauthenticated.
 */
export function createApiClient(apiUrl: string, tokens?: Pick<TokenSource, "getToken">) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: apiUrl,
        transformer: superjson,
        headers: tokens === undefined ? {} : bearerHeaders(tokens),
      }),
    ],
  });
}
