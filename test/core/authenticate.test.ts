import { CognitoJwtVerifier } from "aws-jwt-verify";
import { afterEach, describe, expect, it, vi } from "vitest";

import {
  ClientNotAllowedError,
  ConfigurationError,
  createCognitoM2M,
  ExpiredTokenError,
  getClientId,
  getScopes,
  getServicePrincipal,
  InvalidTokenError,
  isMachineAuthenticated,
  JwksUnavailableError,
  MalformedAuthorizationHeaderError,
  ServicePrincipalProxyUser,
  AnonymousUser,
} from "../../src/index.js";
import { createTestIssuer } from "../../src/testing/index.js";
import { captureLogger } from "../support/trpc-server.js";

const issuer = createTestIssuer({ userPoolId: "eu-west-1_Auth1" });
const foreign = createTestIssuer({ userPoolId: "eu-west-1_Auth1" });
const base = { userPoolId: issuer.userPoolId, verifierOptions: issuer.verifierOptions };

const mint = (extra: Partial<Parameters<typeof issuer.mintAccessToken>[0]> = {}) =>
  issuer.mintAccessToken({ clientId: "svc", scopes: ["orders/read"], ...extra });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("m2m.authenticate with the real aws-jwt-verify", () => {
  const m2m = createCognitoM2M(base);

  it("returns a principal for a valid Cognito access token", async () => {
    const principal = await m2m.authenticate(bearer(mint()));
    expect(principal?.clientId).toBe("svc");
    expect([...(principal?.scopes ?? [])]).toEqual(["orders/read"]);
    expect(principal?.claims.token_use).toBe("access");
  });

  it("returns null without credentials or with another scheme", async () => {
    await expect(m2m.authenticate({})).resolves.toBeNull();
    await expect(m2m.authenticate({ authorization: "Basic Zm9vOmJhcg==" })).resolves.toBeNull();
    await expect(m2m.authenticate({ authorization: "Token abc" })).resolves.toBeNull();
  });

  it("accepts Fetch Headers and Request objects", async () => {
    const token = mint();
    const viaHeaders = await m2m.authenticate(new Headers(bearer(token)));
    const viaRequest = await m2m.authenticate(new Request("http://x/", { headers: bearer(token) }));
    expect(viaHeaders?.clientId).toBe("svc");
    expect(viaRequest?.clientId).toBe("svc");
  });

  it.each([
    ["an expired token", () => mint({ expiresInSeconds: -30 }), ExpiredTokenError],
    [
      "a token signed by another key under a known kid",
      () => foreign.mintAccessToken({ clientId: "svc", scopes: [], header: { kid: issuer.kid } }),
      InvalidTokenError,
    ],
    ["an ID token", () => mint({ claims: { token_use: "id" } }), InvalidTokenError],
    [
      "a foreign issuer",
      () => mint({ claims: { iss: "https://evil.example/pool" } }),
      InvalidTokenError,
    ],
    ["a missing client_id", () => mint({ claims: { client_id: undefined } }), InvalidTokenError],
    ["a numeric client_id", () => mint({ claims: { client_id: 42 } }), InvalidTokenError],
    ["a non-string scope", () => mint({ claims: { scope: ["a", "b"] } }), InvalidTokenError],
    [
      "nbf in the future",
      () => mint({ claims: { nbf: Math.floor(Date.now() / 1000) + 600 } }),
      InvalidTokenError,
    ],
  ])("rejects %s", async (_name, make, errorClass) => {
    const error = await m2m.authenticate(bearer(make())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(errorClass);
    expect((error as InvalidTokenError).code).toBe(
      errorClass === ExpiredTokenError ? "expired_token" : "invalid_token",
    );
  });

  it.each([
    ["Bearer", "Bearer with nothing after it"],
    ["Bearer a b", "extra parts"],
    ["Bearer tökén", "non-ASCII token"],
    ["", "an empty value"],
    ["   ", "a blank value"],
  ])("rejects %j as malformed (%s)", async (value) => {
    await expect(m2m.authenticate({ authorization: value })).rejects.toBeInstanceOf(
      MalformedAuthorizationHeaderError,
    );
  });

  it("treats duplicate Authorization headers as malformed", async () => {
    const token = mint();
    await expect(
      m2m.authenticate({
        headers: {},
        rawHeaders: ["Authorization", `Bearer ${token}`, "authorization", "Bearer x"],
      }),
    ).rejects.toBeInstanceOf(MalformedAuthorizationHeaderError);
    await expect(
      m2m.authenticate({ authorization: [`Bearer ${token}`, "Bearer x"] }),
    ).rejects.toBeInstanceOf(MalformedAuthorizationHeaderError);
  });

  it("rejects an absurdly long token as invalid without verifying it", async () => {
    await expect(m2m.authenticate(bearer("a".repeat(1_000_000)))).rejects.toBeInstanceOf(
      InvalidTokenError,
    );
  });

  it("compares the scheme case-insensitively", async () => {
    await expect(m2m.authenticate({ authorization: `bEaReR ${mint()}` })).resolves.not.toBeNull();
  });
});

describe("cheap rejection", () => {
  it.each([
    ["not three segments", "abc.def"],
    ["non-base64url characters", "a+b.c.d"],
    ["a header that is not JSON", `${Buffer.from("nope").toString("base64url")}.e30.c2ln`],
    ["alg none", `${Buffer.from('{"alg":"none","kid":"k"}').toString("base64url")}.e30.c2ln`],
    ["HS256", `${Buffer.from('{"alg":"HS256","kid":"k"}').toString("base64url")}.e30.c2ln`],
    ["no kid", `${Buffer.from('{"alg":"RS256"}').toString("base64url")}.e30.c2ln`],
  ])("refuses %s without calling aws-jwt-verify", async (_name, token) => {
    const spy = vi.spyOn(CognitoJwtVerifier.prototype, "verify");
    const m2m = createCognitoM2M(base);
    await expect(m2m.authenticate(bearer(token))).rejects.toBeInstanceOf(InvalidTokenError);
    expect(spy).not.toHaveBeenCalled();
  });

  it("does call aws-jwt-verify for a well-formed token", async () => {
    const spy = vi.spyOn(CognitoJwtVerifier.prototype, "verify");
    const m2m = createCognitoM2M({ ...base, tokenCache: false });
    await m2m.authenticate(bearer(mint()));
    expect(spy).toHaveBeenCalledTimes(1);
  });
});

describe("verified-token cache", () => {
  it("verifies a token once and returns the same principal on a hit", async () => {
    const spy = vi.spyOn(CognitoJwtVerifier.prototype, "verify");
    const m2m = createCognitoM2M(base);
    const token = mint();
    const first = await m2m.authenticate(bearer(token));
    const second = await m2m.authenticate(bearer(token));
    expect(second).toBe(first);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it("verifies every time with tokenCache: false", async () => {
    const spy = vi.spyOn(CognitoJwtVerifier.prototype, "verify");
    const m2m = createCognitoM2M({ ...base, tokenCache: false });
    const token = mint();
    await m2m.authenticate(bearer(token));
    await m2m.authenticate(bearer(token));
    expect(spy).toHaveBeenCalledTimes(2);
  });

  it("stops serving a hit once the token expires", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const m2m = createCognitoM2M(base);
    const token = mint({ expiresInSeconds: 60 });
    await m2m.authenticate(bearer(token));
    vi.setSystemTime(Date.now() + 61_000);
    await expect(m2m.authenticate(bearer(token))).rejects.toBeInstanceOf(ExpiredTokenError);
  });

  it("re-verifies after ttlSeconds, so a key removed from the JWKS stops working", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const local = createTestIssuer({ userPoolId: "eu-west-1_Ttl1" });
    const m2m = createCognitoM2M({
      userPoolId: local.userPoolId,
      verifierOptions: local.verifierOptions,
      tokenCache: { ttlSeconds: 30 },
    });
    const token = local.mintAccessToken({ clientId: "svc", scopes: [] });
    await m2m.authenticate(bearer(token));

    // revoke: replace the cached key sets with an empty one
    for (const uri of [
      "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ttl1/.well-known/jwks.json",
      "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ttl1/.well-known/jwks.json",
    ]) {
      local.verifierOptions.jwksCache.addJwks(uri, { keys: [] });
    }
    await expect(m2m.authenticate(bearer(token))).resolves.not.toBeNull();
    vi.setSystemTime(Date.now() + 31_000);
    const error = await m2m.authenticate(bearer(token)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JwksUnavailableError);
  });

  it("evicts the least recently used token past maxEntries", async () => {
    const verify = vi.fn((token: string) => ({ client_id: token.slice(-1), scope: "" }));
    const m2m = createCognitoM2M({ ...base, verifier: { verify }, tokenCache: { maxEntries: 2 } });
    const [a, b, c] = ["tok-a", "tok-b", "tok-c"].map(bearer);
    await m2m.authenticate(a!);
    await m2m.authenticate(b!);
    await m2m.authenticate(a!); // a is now the most recent
    await m2m.authenticate(c!); // evicts b
    expect(verify).toHaveBeenCalledTimes(3);
    await m2m.authenticate(a!);
    expect(verify).toHaveBeenCalledTimes(3);
    await m2m.authenticate(b!);
    expect(verify).toHaveBeenCalledTimes(4);
  });

  it("never caches a failure", async () => {
    let accept = false;
    const verify = vi.fn(() => {
      if (!accept) throw new Error("rejected by the verifier");
      return { client_id: "svc" };
    });
    const m2m = createCognitoM2M({ ...base, verifier: { verify } });
    await expect(m2m.authenticate(bearer("t"))).rejects.toBeInstanceOf(InvalidTokenError);
    accept = true;
    await expect(m2m.authenticate(bearer("t"))).resolves.not.toBeNull();
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it("still applies the client allowlist to cached principals", async () => {
    const m2m = createCognitoM2M({ ...base, allowedClientIds: ["other"] });
    const token = mint();
    await expect(m2m.authenticate(bearer(token))).rejects.toBeInstanceOf(ClientNotAllowedError);
    await expect(m2m.authenticate(bearer(token))).rejects.toBeInstanceOf(ClientNotAllowedError);
  });
});

describe("options", () => {
  it("checks the audience when one is configured", async () => {
    const m2m = createCognitoM2M({ ...base, audience: ["orders-api"] });
    await expect(
      m2m.authenticate(bearer(mint({ claims: { aud: "orders-api" } }))),
    ).resolves.not.toBeNull();
    await expect(
      m2m.authenticate(bearer(mint({ claims: { aud: "billing" } }))),
    ).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(m2m.authenticate(bearer(mint()))).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it("uses a custom verifier in place of aws-jwt-verify", async () => {
    const seen: string[] = [];
    const m2m = createCognitoM2M({
      userPoolId: "us-east-1_Custom",
      verifier: {
        verify(token: string) {
          seen.push(token);
          if (token !== "opaque-ok") throw new Error("unknown token");
          return { client_id: "legacy", scope: "x/y" };
        },
      },
    });
    const principal = await m2m.authenticate({ authorization: "Bearer opaque-ok" });
    expect(principal?.clientId).toBe("legacy");
    expect(principal?.hasScope("x/y")).toBe(true);
    await expect(m2m.authenticate({ authorization: "Bearer nope" })).rejects.toBeInstanceOf(
      InvalidTokenError,
    );
    expect(seen).toEqual(["opaque-ok", "nope"]);
  });

  it("reads a custom header name and prefix", async () => {
    const m2m = createCognitoM2M({ ...base, headerName: "X-Service-Token", headerPrefix: "M2M" });
    const token = mint();
    await expect(m2m.authenticate({ "x-service-token": `m2m ${token}` })).resolves.not.toBeNull();
    await expect(m2m.authenticate({ "X-Service-Token": `M2M ${token}` })).resolves.not.toBeNull();
    await expect(m2m.authenticate(bearer(token))).resolves.toBeNull();
  });

  it.each([
    [{ userPoolId: "not-a-pool" }, "userPoolId"],
    [{ userPoolId: "us-west-2_Abc", region: "eu-west-1" }, "region"],
    [{ userPoolId: "us-west-2_Abc", allowedClientIds: [] }, "allowedClientIds"],
    [{ userPoolId: "us-west-2_Abc", defaultScopeMatch: "some" }, "defaultScopeMatch"],
    [{ userPoolId: "us-west-2_Abc", verifier: { check: () => true } }, "verifier"],
    [{ userPoolId: "us-west-2_Abc", logger: { info: () => undefined } }, "logger"],
    [
      { userPoolId: "us-west-2_Abc", verifierOptions: { includeRawJwtInErrors: true } },
      "verifierOptions.includeRawJwtInErrors",
    ],
    [{ userPoolId: "us-west-2_Abc", tokenCache: { maxEntries: 0 } }, "tokenCache.maxEntries"],
    [{ userPoolId: "us-west-2_Abc", headerName: "bad header" }, "headerName"],
    [{ userPoolId: "us-west-2_Abc", contextKeys: { principal: "" } }, "contextKeys.principal"],
    [{ userPoolId: "us-west-2_Abc", unknownOption: true }, "options"],
  ])("throws ConfigurationError naming the option for %j", (options, name) => {
    const error = (() => {
      try {
        createCognitoM2M(options as never);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(name === "options" ? "unknownOption" : `"${name}"`);
  });

  it("fails closed when clientProcedure has no client ids", () => {
    const m2m = createCognitoM2M(base);
    expect(() => m2m.clientProcedure()).toThrow(ConfigurationError);
    expect(() => m2m.clientProcedure([])).toThrow(ConfigurationError);
  });

  it("logs a successful authentication once, at info, without the token", async () => {
    const log = captureLogger();
    const m2m = createCognitoM2M({ ...base, logger: log.logger });
    const token = mint();
    await m2m.authenticate(bearer(token));
    const infos = log.lines.filter((l) => l.level === "info");
    expect(infos).toHaveLength(1);
    expect(infos[0]?.details).toEqual({ clientId: "svc", scopes: ["orders/read"] });
    expect(log.text()).not.toContain(token);
  });
});

describe("context", () => {
  it("fills the chosen context keys and helpers find the principal under any of them", async () => {
    const m2m = createCognitoM2M({
      ...base,
      contextKeys: { principal: "machine", auth: "credentials", user: "account" },
      returnUserProxy: true,
    });
    const ctx = await m2m.createContext({ req: { headers: bearer(mint()) } });
    expect(ctx.machine?.clientId).toBe("svc");
    expect(ctx.credentials).toBe(ctx.machine);
    expect(ctx.account).toBeInstanceOf(ServicePrincipalProxyUser);
    expect(getServicePrincipal(ctx)).toBe(ctx.machine);
    expect(getServicePrincipal({ ...ctx })).toBe(ctx.machine);
    expect(getClientId(ctx)).toBe("svc");
    expect([...getScopes(ctx)]).toEqual(["orders/read"]);
    expect(isMachineAuthenticated(ctx)).toBe(true);
    expect(isMachineAuthenticated({})).toBe(false);
    expect(getScopes({}).size).toBe(0);
  });

  it("gives an anonymous user without a proxy and null principals without a token", async () => {
    const m2m = createCognitoM2M(base);
    const withToken = await m2m.createContext({
      req: new Request("http://x", { headers: bearer(mint()) }),
    });
    expect(withToken.user).toBeInstanceOf(AnonymousUser);
    const without = await m2m.createContext({ req: { headers: {} } });
    expect(without.servicePrincipal).toBeNull();
    expect(without.auth).toBeNull();
    expect(without.user).toBeInstanceOf(AnonymousUser);
  });

  it("reads aws-lambda events, capitalised header included", async () => {
    const m2m = createCognitoM2M(base);
    const ctx = await m2m.createContext({
      event: { headers: { Authorization: `Bearer ${mint()}` } },
    });
    expect(ctx.servicePrincipal?.clientId).toBe("svc");
  });

  it("reads websocket connectionParams (authorization or token)", async () => {
    const m2m = createCognitoM2M(base);
    const token = mint();
    const a = await m2m.createContext({
      req: { headers: {} },
      info: { connectionParams: { authorization: `Bearer ${token}` } },
    });
    const b = await m2m.createContext({
      req: { headers: {} },
      info: { connectionParams: { token } },
    });
    expect(a.servicePrincipal?.clientId).toBe("svc");
    expect(b.servicePrincipal?.clientId).toBe("svc");
  });

  it("builds contexts for createCaller with contextFor", async () => {
    const m2m = createCognitoM2M({ ...base, returnUserProxy: true });
    const principal = await m2m.authenticate(bearer(mint()));
    const ctx = m2m.contextFor(principal);
    expect(ctx.servicePrincipal).toBe(principal);
    expect(ctx.user).toBeInstanceOf(ServicePrincipalProxyUser);
    const anon = m2m.contextFor(null);
    expect(anon.servicePrincipal).toBeNull();
    expect(anon.user).toBeInstanceOf(AnonymousUser);
  });
});
