import { CognitoJwtVerifier } from "aws-jwt-verify";

/** Where a Cognito user pool issues tokens and publishes its keys. */
export interface PoolEndpoints {
  /** The user pool id, e.g. `eu-west-1_AbC123`. */
  readonly userPoolId: string;
  /** The AWS region, taken from the pool id. */
  readonly region: string;
  /** The `iss` claim of the pool's tokens (regional format). */
  readonly issuer: string;
  /** The pool's JWKS URI in the regional format (`https://cognito-idp.<region>...`). */
  readonly regionalJwksUri: string;
  /** The pool's JWKS URI in the global format (`https://issuer-cognito-idp.<region>...`). */
  readonly globalJwksUri: string;
}

/**
 * Checks a user pool id the way aws-jwt-verify does and derives the pool's issuer and JWKS
 * URIs. Throws when the id is malformed or `region` disagrees with the id's prefix.
 */
export function resolvePool(userPoolId: string, region?: string): PoolEndpoints {
  try {
    CognitoJwtVerifier.parseUserPoolId(userPoolId);
  } catch (cause) {
    throw new Error(`Invalid Cognito user pool id: ${JSON.stringify(userPoolId)}.`, { cause });
  }

  const poolRegion = userPoolId.slice(0, userPoolId.indexOf("_"));
  if (region !== undefined && region !== poolRegion) {
    throw new Error(
      `Region ${JSON.stringify(region)} does not match user pool ${JSON.stringify(userPoolId)}` +
        ` (expected ${JSON.stringify(poolRegion)}).`,
    );
  }

  const issuer = `https://cognito-idp.${poolRegion}.amazonaws.com/${userPoolId}`;
  const globalIssuer = `https://issuer-cognito-idp.${poolRegion}.amazonaws.com/${userPoolId}`;
  return {
    userPoolId,
    region: poolRegion,
    issuer,
    regionalJwksUri: `${issuer}/.well-known/jwks.json`,
    globalJwksUri: `${globalIssuer}/.well-known/jwks.json`,
  };
}
