import { randomBytes } from "node:crypto";

import { startLocalIssuer, type LocalIssuer } from "../src/testing/index.js";

/** The user pool the example pretends to be; no AWS account is involved. */
export const USER_POOL_ID = "eu-west-1_Example1";

/** An app client registered with the issuer: what Cognito's console would show for it. */
export interface ExampleClient {
  clientId: string;
  clientSecret: string;
  scopes: readonly string[];
}

/** A fresh random client secret, as Cognito generates one for a confidential app client. */
function newSecret(): string {
  return randomBytes(24).toString("base64url");
}

/**
 * The app clients of the example's pool. `reader` and `writer` are the ones the API expects;
 * `unknown-client` is a perfectly valid client of the same pool that the API does not allow.
 */
export const CLIENTS = {
  reader: { clientId: "reader", clientSecret: newSecret(), scopes: ["widgets/read"] },
  writer: {
    clientId: "writer",
    clientSecret: newSecret(),
    scopes: ["widgets/read", "widgets/write"],
  },
  unknown: { clientId: "unknown-client", clientSecret: newSecret(), scopes: ["widgets/read"] },
} as const satisfies Record<string, ExampleClient>;

/**
 * Starts a local stand-in for the pool's OAuth2 token endpoint and JWKS on a free loopback
 * port. Its `verifierOptions` make aws-jwt-verify fetch the signing keys from it instead of
 * from `cognito-idp.<region>.amazonaws.com`.
 */
export function startExampleIssuer(): Promise<LocalIssuer> {
  return startLocalIssuer({ userPoolId: USER_POOL_ID, clients: Object.values(CLIENTS) });
}
