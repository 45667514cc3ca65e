/**
 * Test tooling for services protected by `trpc-cognito-m2m`: an in-memory Cognito issuer
 * that mints signed access tokens ({@link createTestIssuer}) and a local HTTP stand-in for a
 * user pool's token endpoint and JWKS ({@link startLocalIssuer}). Both make real aws-jwt-verify
 * accept their tokens without reaching AWS. Not for production use.
 *
 * @module
 */
export { startLocalIssuer } from "./local-issuer.js";
export type { LocalIssuer, LocalIssuerOptions } from "./local-issuer.js";
export { createTestIssuer } from "./test-issuer.js";
export type { TestIssuer, TestIssuerOptions, TestVerifierOptions } from "./test-issuer.js";
export type { LocalIssuerClient } from "./token-endpoint.js";
export type { MintAccessTokenOptions } from "./token-minter.js";
