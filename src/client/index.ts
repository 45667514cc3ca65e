/**
 * The calling side of machine-to-machine auth: fetch Cognito access tokens with the OAuth2
 * client-credentials grant ({@link createClientCredentialsTokenSource}) and send them as
 * bearer headers from a tRPC client ({@link bearerHeaders}).
 *
 * @module
 */
export { bearerHeaders } from "./bearer-headers.js";
export type { BearerHeaders } from "./bearer-headers.js";
export { TokenRequestError } from "./token-request-error.js";
export type { TokenRequestErrorCode, TokenRequestErrorInit } from "./token-request-error.js";
export { createClientCredentialsTokenSource } from "./token-source.js";
export type { ClientCredentialsTokenSourceOptions, TokenSource } from "./token-source.js";
