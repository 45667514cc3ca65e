import { SimpleJwksCache } from "aws-jwt-verify/jwk";

import { LoopbackJwksFetcher } from "../src/testing/loopback-fetcher.js";
import { resolvePool } from "../src/testing/pool.js";
import type { ServerConfig } from "./shared.js";

/** The JWKS cache aws-jwt-verify uses here: the pool's Cognito JWKS URIs map to the issuer. */
export function loopbackJwksCache(
  config: Pick<ServerConfig, "userPoolId" | "jwksUri">,
): SimpleJwksCache {
  const pool = resolvePool(config.userPoolId);
  const routes = new Map([
    [pool.regionalJwksUri, config.jwksUri],
    [pool.globalJwksUri, config.jwksUri],
  ]);
  return new SimpleJwksCache({ fetcher: new LoopbackJwksFetcher(routes) });
}
