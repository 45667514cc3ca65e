import { inspect } from "node:util";

import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";

import {
  AnonymousUser,
  AuthenticationError,
  AuthorizationError,
  ClientNotAllowedError,
  CognitoM2MError,
  ConfigurationError,
  ExpiredTokenError,
  InsufficientScopeError,
  InvalidTokenError,
  JwksUnavailableError,
  MalformedAuthorizationHeaderError,
  MissingTokenError,
  ServicePrincipal,
  ServicePrincipalProxyUser,
  UserMappingError,
  toTRPCError,
} from "../../src/index.js";

describe("error table", () => {
  const cause = new Error("verifier detail that must stay server-side");
  const rows = [
    [
      new MissingTokenError(),
      "missing_token",
      "Authentication credentials were not provided.",
      "UNAUTHORIZED",
    ],
    [
      new MalformedAuthorizationHeaderError(),
      "malformed_authorization_header",
      "Malformed Authorization header.",
      "UNAUTHORIZED",
    ],
    [new InvalidTokenError({ cause }), "invalid_token", "Invalid bearer token.", "UNAUTHORIZED"],
    [
      new ExpiredTokenError({ cause }),
      "expired_token",
      "Bearer token has expired.",
      "UNAUTHORIZED",
    ],
    [
      new InsufficientScopeError(["a/b"], "all"),
      "insufficient_scope",
      "Insufficient scope.",
      "FORBIDDEN",
    ],
    [new ClientNotAllowedError(), "client_not_allowed", "Client is not allowed.", "FORBIDDEN"],
    [
      new JwksUnavailableError(10, { cause }),
      "jwks_unavailable",
      "Token signing keys are unavailable.",
      "SERVICE_UNAVAILABLE",
    ],
    [
      new UserMappingError({ cause }),
      "user_mapping_error",
      "User mapping failed.",
      "INTERNAL_SERVER_ERROR",
    ],
  ] as const;

  it.each(rows)("%o has its code, message and tRPC code", (error, code, message, trpcCode) => {
    expect(error).toBeInstanceOf(CognitoM2MError);
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
    expect(error.name).toBe(error.constructor.name);

    const trpc = toTRPCError(error);
    expect(trpc).toBeInstanceOf(TRPCError);
    expect(trpc.code).toBe(trpcCode);
    expect(trpc.message).toBe(message);
    expect(trpc.cause).toBe(error);
  });

  it("keeps the verifier's message in cause only", () => {
    const error = new InvalidTokenError({ cause });
    expect(error.cause).toBe(cause);
    expect(toTRPCError(error).message).not.toContain("server-side");
  });

  it("arranges the classes in the documented hierarchy", () => {
    expect(new ExpiredTokenError()).toBeInstanceOf(InvalidTokenError);
    expect(new InvalidTokenError()).toBeInstanceOf(AuthenticationError);
    expect(new MissingTokenError()).toBeInstanceOf(AuthenticationError);
    expect(new InsufficientScopeError([], "any")).toBeInstanceOf(AuthorizationError);
    expect(new ClientNotAllowedError()).toBeInstanceOf(AuthorizationError);
    expect(new ConfigurationError("bad").code).toBe("configuration_error");
  });

  it("records required scopes and match on InsufficientScopeError", () => {
    const error = new InsufficientScopeError(new Set(["x", "y"]), "any");
    expect(error.requiredScopes).toEqual(["x", "y"]);
    expect(error.match).toBe("any");
    expect(Object.isFrozen(error.requiredScopes)).toBe(true);
  });

  it("rounds Retry-After up to whole seconds, at least one", () => {
    expect(new JwksUnavailableError(2.2).retryAfterSeconds).toBe(3);
    expect(new JwksUnavailableError(0).retryAfterSeconds).toBe(1);
  });
});

describe("ServicePrincipal", () => {
  const raw = "header.payload.signature-secret";
  const claims = {
    client_id: "svc",
    scope: "a/read a/write",
    sub: "svc",
    iss: "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_X",
    exp: 2_000_000_000,
    aud: ["one", "two"],
    nested: { list: [1, { deep: true }] },
  };
  const principal = new ServicePrincipal({
    clientId: "svc",
    scopes: ["a/read", "a/write"],
    claims,
    rawToken: raw,
  });

  it("exposes identity, scopes and claim accessors", () => {
    expect(principal.clientId).toBe("svc");
    expect(principal.isAuthenticated).toBe(true);
    expect([...principal.scopes]).toEqual(["a/read", "a/write"]);
    expect(principal.sub).toBe("svc");
    expect(principal.subject).toBe("svc");
    expect(principal.iss).toBe(claims.iss);
    expect(principal.issuer).toBe(claims.iss);
    expect(principal.exp).toBe(2_000_000_000);
    expect(principal.expiration).toBe(2_000_000_000);
    expect(principal.aud).toEqual(["one", "two"]);
    expect(principal.audience).toEqual(["one", "two"]);
    expect(principal.rawToken).toBe(raw);
  });

  it("matches scopes with all and any", () => {
    expect(principal.hasScope("a/read")).toBe(true);
    expect(principal.hasScope("b/read")).toBe(false);
    expect(principal.hasScopes(["a/read", "a/write"])).toBe(true);
    expect(principal.hasScopes(["a/read", "b/read"])).toBe(false);
    expect(principal.hasScopes(["a/read", "b/read"], "any")).toBe(true);
    expect(principal.hasScopes(["b/read"], "any")).toBe(false);
    expect(principal.hasScopes([])).toBe(true);
  });

  it("is immutable all the way down", () => {
    expect(Object.isFrozen(principal)).toBe(true);
    expect(Object.isFrozen(principal.claims)).toBe(true);
    expect(Object.isFrozen((principal.claims.nested as { list: unknown[] }).list[1])).toBe(true);
    expect(() => (principal.scopes as Set<string>).add("x")).toThrow(TypeError);
    expect(() => (principal.scopes as Set<string>).delete("a/read")).toThrow(TypeError);
    expect(() => (principal.scopes as Set<string>).clear()).toThrow(TypeError);
    expect(() => {
      (principal as { clientId: string }).clientId = "other";
    }).toThrow(TypeError);
    expect(principal.scopes.size).toBe(2);
    // the caller's object was copied, not frozen in place
    expect(Object.isFrozen(claims)).toBe(false);
  });

  it("keeps the raw token out of JSON and util.inspect", () => {
    expect(JSON.stringify(principal)).not.toContain("signature-secret");
    expect(inspect(principal, { depth: 10, showHidden: true })).not.toContain("signature-secret");
    expect(JSON.parse(JSON.stringify(principal))).toMatchObject({ clientId: "svc" });
    expect(inspect(principal)).toContain("svc");
  });

  it("has a proxy user and an anonymous user shaped like the reference", () => {
    const proxy = new ServicePrincipalProxyUser(principal);
    expect(proxy).toMatchObject({
      id: null,
      username: "svc",
      clientId: "svc",
      isAuthenticated: true,
      isAnonymous: false,
    });
    expect(proxy.principal).toBe(principal);
    const anonymous = new AnonymousUser();
    expect(anonymous.isAuthenticated).toBe(false);
    expect(anonymous.isAnonymous).toBe(true);
  });
});
