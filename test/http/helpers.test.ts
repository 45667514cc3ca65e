import { initTRPC, TRPCError } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import {
  ClientNotAllowedError,
  composeResponseMeta,
  createCognitoM2M,
  ExpiredTokenError,
  InsufficientScopeError,
  JwksUnavailableError,
  MissingTokenError,
  ServicePrincipal,
  toTRPCError,
  UserMappingError,
} from "../../src/index.js";
import { createTestIssuer } from "../../src/testing/index.js";

const issuer = createTestIssuer({ userPoolId: "eu-west-1_HttpUnit" });
const m2m = createCognitoM2M({
  userPoolId: issuer.userPoolId,
  verifierOptions: { ...issuer.verifierOptions, graceSeconds: 5 },
});

/** Runs `m2m.responseMeta` for library errors as tRPC hands them over (wrapped). */
function metaFor(errors: unknown[], instance = m2m) {
  const meta = instance.responseMeta({ errors, type: "query", eagerGeneration: false });
  const headers = new Headers(meta.headers as Headers);
  return { meta, www: headers.get("www-authenticate"), retry: headers.get("retry-after") };
}

function principal(exp?: number): ServicePrincipal {
  const claims = exp === undefined ? { client_id: "svc" } : { client_id: "svc", exp };
  return new ServicePrincipal({ clientId: "svc", scopes: [], claims, rawToken: "raw" });
}

describe("m2m.responseMeta", () => {
  it("adds nothing, and never a status, without library errors", () => {
    expect(metaFor([]).meta).toEqual({});
    const other = metaFor([new TRPCError({ code: "NOT_FOUND" }), new Error("boom")]);
    expect(other.www).toBeNull();
    expect(other.meta.status).toBeUndefined();
    expect(metaFor([toTRPCError(new UserMappingError())]).www).toBeNull();
  });

  it("uses the realm option", () => {
    const { userPoolId, verifierOptions } = issuer;
    const custom = createCognitoM2M({ userPoolId, verifierOptions, realm: "orders" });
    expect(metaFor([toTRPCError(new MissingTokenError())], custom).www).toBe(
      'Bearer realm="orders"',
    );
  });

  it("prefers a 401 challenge to a 403 one, and takes the first of a kind", () => {
    const errors = [
      toTRPCError(new InsufficientScopeError(["a"], "all")),
      toTRPCError(new ExpiredTokenError()),
      toTRPCError(new MissingTokenError()),
    ];
    expect(metaFor(errors).www).toBe(
      'Bearer realm="api", error="invalid_token", error_description="The access token expired"',
    );
    const forbidden = [new ClientNotAllowedError(), new InsufficientScopeError(["a"], "all")];
    expect(metaFor(forbidden).www).toContain("error_description=");
  });

  it("sets Retry-After beside a challenge, with the longest wait", () => {
    const errors = [
      toTRPCError(new JwksUnavailableError(3)),
      toTRPCError(new MissingTokenError()),
      toTRPCError(new JwksUnavailableError(7.2)),
    ];
    const { www, retry } = metaFor(errors);
    expect(www).toBe('Bearer realm="api"');
    expect(retry).toBe("8");
  });

  it("omits scope for an empty list, and quotes odd scope names safely", () => {
    expect(metaFor([new InsufficientScopeError([], "all")]).www).toBe(
      'Bearer realm="api", error="insufficient_scope"',
    );
    expect(metaFor([new InsufficientScopeError(['a"b\\c', "d\r\ne"], "any")]).www).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="a\\"b\\\\c de"',
    );
  });
});

describe("composeResponseMeta", () => {
  it("merges headers (later wins, WWW-Authenticate and Set-Cookie kept) and keeps the last status", () => {
    const composed = composeResponseMeta<{ errors: unknown[] }>(
      () => ({ status: 418, headers: { "cache-control": "no-store", "set-cookie": "a=1" } }),
      () => ({ headers: new Headers({ "WWW-Authenticate": 'Basic realm="x"' }) }),
      () => ({ headers: { "Cache-Control": ["private", "max-age=0"], "set-cookie": "b=2" } }),
      m2m.responseMeta,
      () => ({}),
    );
    const meta = composed({ errors: [toTRPCError(new MissingTokenError())] });
    const headers = meta.headers as Headers;

    expect(meta.status).toBe(418);
    expect(headers.get("cache-control")).toBe("private, max-age=0");
    expect(headers.get("www-authenticate")).toBe('Basic realm="x", Bearer realm="api"');
    expect(headers.getSetCookie()).toEqual(["a=1", "b=2"]);
  });

  it("serves as an adapter's responseMeta beside a function typed by the app", async () => {
    const t = initTRPC.context<Awaited<ReturnType<typeof m2m.createContext>>>().create();
    const router = t.router({
      whoami: t.procedure.concat(m2m.machineProcedure).query(({ ctx }) => ctx.auth.clientId),
    });
    const server = createHTTPServer({
      router,
      createContext: m2m.createContext,
      responseMeta: composeResponseMeta(m2m.responseMeta, ({ ctx, type }) => ({
        headers: { "x-client-id": ctx?.servicePrincipal?.clientId ?? "none", "x-type": type },
      })),
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };

    try {
      const url = `http://127.0.0.1:${port}/whoami`;
      const anonymous = await fetch(url);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("www-authenticate")).toBe('Bearer realm="api"');
      expect(anonymous.headers.get("x-client-id")).toBe("none");
      expect(anonymous.headers.get("x-type")).toBe("query");

      const token = issuer.mintAccessToken({ clientId: "svc", scopes: [] });
      const ok = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get("www-authenticate")).toBeNull();
      expect(ok.headers.get("x-client-id")).toBe("svc");
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("leaves the status to tRPC when no function sets one", () => {
    const meta = composeResponseMeta(m2m.responseMeta)({ errors: [] });
    expect(meta).not.toHaveProperty("status");
  });
});

describe("m2m.errorData", () => {
  it("returns {} for errors that are not the library's", () => {
    expect(m2m.errorData(new Error("x"))).toEqual({});
    expect(m2m.errorData(new TRPCError({ code: "BAD_REQUEST", message: "nope" }))).toEqual({});
    expect(m2m.errorData(undefined)).toEqual({});
  });

  it("describes library errors, wrapped or not, without messages", () => {
    const scope = new InsufficientScopeError(["a", "b"], "any");
    expect(m2m.errorData(toTRPCError(scope))).toEqual({
      cognito: { code: "insufficient_scope", requiredScopes: ["a", "b"], match: "any" },
    });
    expect(m2m.errorData(scope).cognito?.requiredScopes).not.toBe(scope.requiredScopes);
    expect(m2m.errorData(new JwksUnavailableError(4))).toEqual({
      cognito: { code: "jwks_unavailable", retryAfterSeconds: 4 },
    });
    expect(m2m.errorData(toTRPCError(new ExpiredTokenError()))).toEqual({
      cognito: { code: "expired_token" },
    });
  });
});

describe("m2m.untilTokenExpiry", () => {
  const start = new Date("2030-01-01T00:00:00Z").getTime();

  beforeEach(() => {
    vi.useFakeTimers({ now: start });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("aborts with the expired_token TRPCError at exp plus graceSeconds, then clears its timer", () => {
    const ctx = m2m.contextFor(principal(start / 1000 + 10));
    const signal = m2m.untilTokenExpiry(ctx);

    vi.advanceTimersByTime(14_999);
    expect(signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(TRPCError);
    expect((signal.reason as TRPCError).code).toBe("UNAUTHORIZED");
    expect(m2m.errorData(signal.reason)).toEqual({ cognito: { code: "expired_token" } });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("follows the caller's signal and clears the timer when it aborts first", () => {
    const controller = new AbortController();
    const signal = m2m.untilTokenExpiry(
      m2m.contextFor(principal(start / 1000 + 60)),
      controller.signal,
    );
    expect(vi.getTimerCount()).toBe(1);

    controller.abort("client left");
    expect(signal.reason).toBe("client left");
    expect(vi.getTimerCount()).toBe(0);
    expect(m2m.untilTokenExpiry(m2m.contextFor(principal()), controller.signal).reason).toBe(
      "client left",
    );
  });

  it("is aborted at once without a principal, and never expires a token without exp", () => {
    const none = m2m.untilTokenExpiry(m2m.contextFor(null));
    expect(none.aborted).toBe(true);
    expect(m2m.errorData(none.reason)).toEqual({ cognito: { code: "missing_token" } });

    const forever = m2m.untilTokenExpiry(m2m.contextFor(principal()));
    vi.advanceTimersByTime(365 * 24 * 3600 * 1000);
    expect(forever.aborted).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("waits past setTimeout's limit of about 24.8 days", () => {
    const days = 30;
    const signal = m2m.untilTokenExpiry(m2m.contextFor(principal(start / 1000 + days * 86_400)));
    vi.advanceTimersByTime(days * 86_400_000 + 4_999);
    expect(signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(signal.aborted).toBe(true);
  });
});

describe("m2m.withTokenExpiry", () => {
  const start = new Date("2030-01-01T00:00:00Z").getTime();

  beforeEach(() => {
    vi.useFakeTimers({ now: start });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  /** Yields 0, 1, 2, … once a second; records whether it was closed. */
  function source() {
    const state = { closed: false };
    async function* gen() {
      try {
        for (let i = 0; ; i += 1) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          yield i;
        }
      } finally {
        state.closed = true;
      }
    }
    return { state, iterable: gen() };
  }

  async function collect(iterable: AsyncIterable<number>, values: number[]) {
    try {
      for await (const value of iterable) values.push(value);
      return undefined;
    } catch (error) {
      return error;
    }
  }

  it("throws the expired_token TRPCError when the token expires mid-stream", async () => {
    const { iterable } = source();
    const values: number[] = [];
    const ctx = m2m.contextFor(principal(start / 1000 + 2.5));
    const done = collect(m2m.withTokenExpiry(ctx, iterable), values);

    await vi.advanceTimersByTimeAsync(8_000);
    const error = await done;
    expect(values).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(error).toBeInstanceOf(TRPCError);
    expect(m2m.errorData(error)).toEqual({ cognito: { code: "expired_token" } });
  });

  it("ends quietly and closes the source when the caller's signal aborts", async () => {
    const { state, iterable } = source();
    const controller = new AbortController();
    const values: number[] = [];
    const ctx = m2m.contextFor(principal(start / 1000 + 3600));
    const done = collect(m2m.withTokenExpiry(ctx, iterable, controller.signal), values);

    await vi.advanceTimersByTimeAsync(2_500);
    controller.abort();
    expect(await done).toBeUndefined();
    expect(values).toEqual([0, 1]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(state.closed).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("completes with its source and clears its timer", async () => {
    async function* three() {
      yield* [1, 2, 3];
    }
    const values: number[] = [];
    const ctx = m2m.contextFor(principal(start / 1000 + 3600));
    expect(await collect(m2m.withTokenExpiry(ctx, three()), values)).toBeUndefined();
    expect(values).toEqual([1, 2, 3]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
