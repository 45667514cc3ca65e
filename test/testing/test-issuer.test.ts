import { CognitoJwtVerifier, JwtVerifier } from "aws-jwt-verify";
import {
  CognitoJwtInvalidTokenUseError,
  JwtExpiredError,
  JwtInvalidIssuerError,
  JwtInvalidSignatureAlgorithmError,
  JwtInvalidSignatureError,
  JwtParseError,
  JwtWithoutValidKidError,
  NonRetryableFetchError,
  ParameterValidationError,
} from "aws-jwt-verify/error";
import { afterEach, describe, expect, it, vi } from "vitest";

import { createTestIssuer } from "../../src/testing/index.js";
import type { TestIssuer } from "../../src/testing/index.js";

const POOL = "eu-west-1_TestPool1";

function verifierFor(issuer: TestIssuer) {
  return CognitoJwtVerifier.create(
    { userPoolId: issuer.userPoolId, tokenUse: "access", clientId: null },
    { jwksCache: issuer.verifierOptions.jwksCache },
  );
}

function decodeSegment(token: string, index: 0 | 1): Record<string, unknown> {
  const segment = token.split(".")[index]!;
  return JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("createTestIssuer", () => {
  it("derives issuer and region from the pool id and publishes a public RS256 JWK", () => {
    const issuer = createTestIssuer({ userPoolId: POOL });

    expect(issuer.issuer).toBe(`https://cognito-idp.eu-west-1.amazonaws.com/${POOL}`);
    expect(issuer.region).toBe("eu-west-1");
    expect(issuer.jwks.keys).toHaveLength(1);
    const jwk = issuer.jwks.keys[0]!;
    expect(jwk).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig", kid: issuer.kid });
    expect(Buffer.from(jwk.n!, "base64url").length).toBe(256);
    for (const privateField of ["d", "p", "q", "dp", "dq", "qi"]) {
      expect(jwk).not.toHaveProperty(privateField);
    }
  });

  it("accepts an explicit region that matches and rejects one that does not", () => {
    expect(createTestIssuer({ userPoolId: POOL, region: "eu-west-1" }).region).toBe("eu-west-1");
    expect(() => createTestIssuer({ userPoolId: POOL, region: "us-east-1" })).toThrow(
      /does not match/,
    );
    expect(() => createTestIssuer({ userPoolId: "not-a-pool" })).toThrow(/Invalid Cognito/);
  });

  it("gives each issuer its own key", () => {
    const a = createTestIssuer({ userPoolId: POOL });
    const b = createTestIssuer({ userPoolId: POOL });
    expect(a.kid).not.toBe(b.kid);
    expect(a.jwks.keys[0]!.n).not.toBe(b.jwks.keys[0]!.n);
  });
});

describe("mintAccessToken", () => {
  it("mints a Cognito-shaped access token that real aws-jwt-verify accepts offline", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const issuer = createTestIssuer({ userPoolId: POOL });
    const token = issuer.mintAccessToken({ clientId: "svc-a", scopes: ["orders/read", "x/y"] });

    const payload = await verifierFor(issuer).verify(token);

    expect(payload).toMatchObject({
      sub: "svc-a",
      client_id: "svc-a",
      token_use: "access",
      scope: "orders/read x/y",
      iss: issuer.issuer,
      version: 2,
    });
    expect(payload.exp - payload.iat).toBe(3600);
    expect(payload.auth_time).toBe(payload.iat);
    expect(payload.jti).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(Math.abs(payload.iat - Date.now() / 1000)).toBeLessThan(5);
    expect(decodeSegment(token, 0)).toEqual({ alg: "RS256", kid: issuer.kid });
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("is accepted synchronously too, since the keys are cached up front", () => {
    const issuer = createTestIssuer({ userPoolId: POOL });
    const token = issuer.mintAccessToken({ clientId: "svc-a", scopes: [] });
    expect(verifierFor(issuer).verifySync(token).client_id).toBe("svc-a");
  });

  it("is accepted with Cognito's global issuer format as well", async () => {
    const issuer = createTestIssuer({ userPoolId: POOL });
    const globalIssuer = `https://issuer-cognito-idp.eu-west-1.amazonaws.com/${POOL}`;
    const token = issuer.mintAccessToken({
      clientId: "svc-a",
      scopes: ["a"],
      claims: { iss: globalIssuer },
    });
    expect((await verifierFor(issuer).verify(token)).iss).toBe(globalIssuer);
  });

  it("honours expiresInSeconds", async () => {
    const issuer = createTestIssuer({ userPoolId: POOL });
    const token = issuer.mintAccessToken({ clientId: "c", scopes: [], expiresInSeconds: 90 });
    const payload = await verifierFor(issuer).verify(token);
    expect(payload.exp - payload.iat).toBe(90);
  });

  it("adds, replaces and removes claims and header fields", () => {
    const issuer = createTestIssuer({ userPoolId: POOL });
    const token = issuer.mintAccessToken({
      clientId: "c",
      scopes: ["a"],
      claims: { custom: "yes", version: undefined, scope: "b" },
      header: { typ: "at+jwt" },
    });

    const payload = decodeSegment(token, 1);
    expect(payload.custom).toBe("yes");
    expect(payload.scope).toBe("b");
    expect(payload).not.toHaveProperty("version");
    expect(decodeSegment(token, 0)).toEqual({ alg: "RS256", kid: issuer.kid, typ: "at+jwt" });
  });
});

describe("tokens the verifier must reject", () => {
  const issuer = createTestIssuer({ userPoolId: POOL });
  const verifier = verifierFor(issuer);
  const base = { clientId: "svc-a", scopes: ["orders/read"] };

  it("rejects an expired token with JwtExpiredError", async () => {
    const token = issuer.mintAccessToken({ ...base, expiresInSeconds: -60 });
    await expect(verifier.verify(token)).rejects.toBeInstanceOf(JwtExpiredError);
  });

  it("rejects a token from another pool", async () => {
    // CognitoJwtVerifier 5.2 configures two issuers (regional and global format) per pool, so
    // it looks the token's `iss` up and reports an unknown one as ParameterValidationError.
    const other = `https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other`;
    const token = issuer.mintAccessToken({ ...base, claims: { iss: other } });
    await expect(verifier.verify(token)).rejects.toThrow(ParameterValidationError);
    await expect(verifier.verify(token)).rejects.toThrow(/issuer not configured/);
  });

  it("rejects a wrong issuer with JwtInvalidIssuerError for a single issuer", async () => {
    const single = JwtVerifier.create(
      { issuer: issuer.issuer, jwksUri: `${issuer.issuer}/.well-known/jwks.json`, audience: null },
      { jwksCache: issuer.verifierOptions.jwksCache },
    );
    const good = issuer.mintAccessToken(base);
    expect((await single.verify(good)).client_id).toBe("svc-a");

    const token = issuer.mintAccessToken({ ...base, claims: { iss: "https://evil.example" } });
    await expect(single.verify(token)).rejects.toBeInstanceOf(JwtInvalidIssuerError);
  });

  it("rejects an id token with CognitoJwtInvalidTokenUseError", async () => {
    const token = issuer.mintAccessToken({ ...base, claims: { token_use: "id" } });
    await expect(verifier.verify(token)).rejects.toBeInstanceOf(CognitoJwtInvalidTokenUseError);
  });

  it("rejects an unknown kid with NonRetryableFetchError and never uses the network", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const token = issuer.mintAccessToken({ ...base, header: { kid: "other" } });

    await expect(verifier.verify(token)).rejects.toBeInstanceOf(NonRetryableFetchError);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("rejects a token without kid with JwtWithoutValidKidError", async () => {
    const token = issuer.mintAccessToken({ ...base, header: { kid: undefined } });
    expect(decodeSegment(token, 0)).not.toHaveProperty("kid");
    await expect(verifier.verify(token)).rejects.toBeInstanceOf(JwtWithoutValidKidError);
  });

  it("mints alg none tokens unsigned, and the verifier refuses them", async () => {
    const token = issuer.mintAccessToken({ ...base, header: { alg: "none" } });
    expect(token.endsWith(".")).toBe(true);
    expect(decodeSegment(token, 0).alg).toBe("none");
    await expect(verifier.verify(token)).rejects.toBeInstanceOf(JwtParseError);
  });

  it("rejects an alg unlike the key's with JwtInvalidSignatureAlgorithmError", async () => {
    const token = issuer.mintAccessToken({ ...base, header: { alg: "HS256" } });
    await expect(verifier.verify(token)).rejects.toBeInstanceOf(JwtInvalidSignatureAlgorithmError);
  });

  it("rejects a token signed by a foreign key under a trusted kid", async () => {
    const foreign = createTestIssuer({ userPoolId: POOL });
    const token = foreign.mintAccessToken({ ...base, header: { kid: issuer.kid } });
    await expect(verifier.verify(token)).rejects.toBeInstanceOf(JwtInvalidSignatureError);
  });

  it("rejects a token whose payload was altered after signing", async () => {
    const [header, , signature] = issuer.mintAccessToken(base).split(".");
    const forged = issuer.mintAccessToken({ ...base, scopes: ["admin"] }).split(".")[1];
    await expect(verifier.verify(`${header}.${forged}.${signature}`)).rejects.toBeInstanceOf(
      JwtInvalidSignatureError,
    );
  });
});
