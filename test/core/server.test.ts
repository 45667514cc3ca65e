import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from "@trpc/client";
import { initTRPC } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  createCognitoM2M,
  getClientId,
  type CognitoProcedureMeta,
  type ServicePrincipal,
} from "../../src/index.js";
import { createTestIssuer } from "../../src/testing/index.js";
import { captureLogger, serveStandalone, type RunningServer } from "../support/trpc-server.js";

const issuer = createTestIssuer({ userPoolId: "us-west-2_Core1" });
const log = captureLogger();

function makeApp(failOnInvalidBearer: boolean) {
  const m2m = createCognitoM2M({
    userPoolId: issuer.userPoolId,
    verifierOptions: issuer.verifierOptions,
    allowedClientIds: ["reader", "writer", "admin"],
    failOnInvalidBearer,
    logger: log.logger,
  });
  const t = initTRPC
    .context<Awaited<ReturnType<typeof m2m.createContext>>>()
    .meta<CognitoProcedureMeta>()
    .create();
  const pub = t.procedure;
  const describePrincipal = (p: ServicePrincipal) => ({
    clientId: p.clientId,
    scopes: [...p.scopes],
  });

  const router = t.router({
    health: pub.query(({ ctx }) => ({ ok: true, clientId: getClientId(ctx) })),
    whoami: pub
      .concat(m2m.machineProcedure)
      .query(({ ctx }) => describePrincipal(ctx.servicePrincipal)),
    read: pub.concat(m2m.scopedProcedure(["widgets/read"])).query(() => "read"),
    readOrWrite: pub
      .concat(m2m.anyScopeProcedure(["widgets/read", "widgets/write"]))
      .query(() => "either"),
    readAndWrite: pub
      .concat(m2m.allScopesProcedure(["widgets/read", "widgets/write"]))
      .query(() => "both"),
    adminOnly: pub.concat(m2m.clientProcedure(["admin"])).query(() => "admin"),
    allowlisted: pub.concat(m2m.clientProcedure()).query(() => "allowlisted"),
    metaScoped: pub
      .concat(m2m.machineProcedure)
      .meta({ cognito: { scopes: ["widgets/write"] } })
      .mutation(() => "meta"),
    widgets: t.router({
      list: pub
        .concat(
          m2m.scopeMapProcedure(
            { byType: { query: ["widgets/read"], mutation: ["widgets/write"] } },
            { strict: true },
          ),
        )
        .query(() => "list"),
      create: pub
        .concat(
          m2m.scopeMapProcedure(
            {
              byType: { mutation: ["widgets/write"] },
              byPath: { "widgets.create": ["widgets/admin"] },
            },
            { strict: true },
          ),
        )
        .mutation(() => "created"),
      uncovered: pub
        .concat(
          m2m.scopeMapProcedure({ byType: { mutation: ["widgets/write"] } }, { strict: true }),
        )
        .query(() => "uncovered"),
    }),
  });
  return { m2m, router };
}

type AppRouter = ReturnType<typeof makeApp>["router"];

let strict: RunningServer;
let lenient: RunningServer;

beforeAll(async () => {
  const a = makeApp(true);
  strict = await serveStandalone(a.router, a.m2m.createContext);
  const b = makeApp(false);
  lenient = await serveStandalone(b.router, b.m2m.createContext);
});

afterAll(async () => {
  await strict.close();
  await lenient.close();
});

const token = (clientId: string, scopes: string[], extra: object = {}) =>
  issuer.mintAccessToken({ clientId, scopes, ...extra });

function client(url: string, authorization?: string) {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url, headers: authorization ? { authorization } : {} })],
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCClientError)
      return (error.data as { code?: string } | undefined)?.code;
    throw error;
  }
  return "OK";
}

async function rawGet(url: string, path: string, authorization?: string) {
  const res = await fetch(`${url}/${path}`, {
    headers: authorization === undefined ? {} : { authorization },
  });
  return { status: res.status, body: await res.json() };
}

describe("through a real standalone server and @trpc/client", () => {
  it("lets a valid token reach a protected procedure with a non-null principal", async () => {
    const c = client(strict.url, `Bearer ${token("reader", ["widgets/read"])}`);
    await expect(c.whoami.query()).resolves.toEqual({
      clientId: "reader",
      scopes: ["widgets/read"],
    });
    await expect(c.health.query()).resolves.toEqual({ ok: true, clientId: "reader" });
  });

  it("answers 401 without a token on protected procedures and serves public ones", async () => {
    const c = client(strict.url);
    await expect(c.health.query()).resolves.toEqual({ ok: true, clientId: null });
    const res = await rawGet(strict.url, "whoami");
    expect(res.status).toBe(401);
    expect(res.body.error.message).toBe("Authentication credentials were not provided.");
    expect(res.body.error.data.code).toBe("UNAUTHORIZED");
  });

  it("lets other schemes pass through as unauthenticated", async () => {
    const res = await rawGet(strict.url, "health", "Basic dXNlcjpwYXNz");
    expect(res.status).toBe(200);
    expect((await rawGet(strict.url, "whoami", "Basic dXNlcjpwYXNz")).status).toBe(401);
  });

  it("fails the whole request for an invalid bearer when failOnInvalidBearer is on", async () => {
    const expired = token("reader", ["widgets/read"], { expiresInSeconds: -60 });
    const health = await rawGet(strict.url, "health", `Bearer ${expired}`);
    expect(health.status).toBe(401);
    expect(health.body.error.message).toBe("Bearer token has expired.");

    const garbage = await rawGet(strict.url, "health", "Bearer not-a-jwt");
    expect(garbage.status).toBe(401);
    expect(garbage.body.error.message).toBe("Invalid bearer token.");

    const malformed = await rawGet(strict.url, "health", "Bearer a b");
    expect(malformed.status).toBe(401);
    expect(malformed.body.error.message).toBe("Malformed Authorization header.");
  });

  it("serves public procedures and reports the real reason later when failOnInvalidBearer is off", async () => {
    const expired = token("reader", ["widgets/read"], { expiresInSeconds: -60 });
    const health = await rawGet(lenient.url, "health", `Bearer ${expired}`);
    expect(health.status).toBe(200);
    expect(health.body.result.data).toEqual({ ok: true, clientId: null });

    const whoami = await rawGet(lenient.url, "whoami", `Bearer ${expired}`);
    expect(whoami.status).toBe(401);
    expect(whoami.body.error.message).toBe("Bearer token has expired.");

    const outsider = await rawGet(lenient.url, "whoami", `Bearer ${token("stranger", [])}`);
    expect(outsider.status).toBe(403);
    expect(outsider.body.error.message).toBe("Client is not allowed.");
  });

  it("answers 403, not 401, for a valid token of a client outside allowedClientIds", async () => {
    const res = await rawGet(strict.url, "health", `Bearer ${token("stranger", ["widgets/read"])}`);
    expect(res.status).toBe(403);
    expect(res.body.error.data.code).toBe("FORBIDDEN");
    expect(res.body.error.message).toBe("Client is not allowed.");
  });

  it("enforces scopes with all and any matching", async () => {
    const reader = client(strict.url, `Bearer ${token("reader", ["widgets/read"])}`);
    const writer = client(strict.url, `Bearer ${token("writer", ["widgets/write"])}`);
    const both = client(strict.url, `Bearer ${token("writer", ["widgets/read", "widgets/write"])}`);
    const none = client(strict.url, `Bearer ${token("reader", [])}`);

    expect(await codeOf(reader.read.query())).toBe("OK");
    expect(await codeOf(writer.read.query())).toBe("FORBIDDEN");
    expect(await codeOf(reader.readOrWrite.query())).toBe("OK");
    expect(await codeOf(writer.readOrWrite.query())).toBe("OK");
    expect(await codeOf(none.readOrWrite.query())).toBe("FORBIDDEN");
    expect(await codeOf(reader.readAndWrite.query())).toBe("FORBIDDEN");
    expect(await codeOf(both.readAndWrite.query())).toBe("OK");
  });

  it("enforces client ids from the builder and from allowedClientIds", async () => {
    const admin = client(strict.url, `Bearer ${token("admin", [])}`);
    const reader = client(strict.url, `Bearer ${token("reader", [])}`);
    expect(await codeOf(admin.adminOnly.query())).toBe("OK");
    expect(await codeOf(reader.adminOnly.query())).toBe("FORBIDDEN");
    expect(await codeOf(reader.allowlisted.query())).toBe("OK");
  });

  it("honours per-procedure meta on machineProcedure", async () => {
    const reader = client(strict.url, `Bearer ${token("reader", ["widgets/read"])}`);
    const writer = client(strict.url, `Bearer ${token("writer", ["widgets/write"])}`);
    expect(await codeOf(reader.metaScoped.mutate())).toBe("FORBIDDEN");
    expect(await codeOf(writer.metaScoped.mutate())).toBe("OK");
  });

  it("maps scopes by procedure type and path, path entries winning, strict denying the rest", async () => {
    const writer = client(
      strict.url,
      `Bearer ${token("writer", ["widgets/read", "widgets/write"])}`,
    );
    const admin = client(strict.url, `Bearer ${token("admin", ["widgets/admin"])}`);
    expect(await codeOf(writer.widgets.list.query())).toBe("OK");
    expect(await codeOf(admin.widgets.list.query())).toBe("FORBIDDEN");
    expect(await codeOf(writer.widgets.create.mutate())).toBe("FORBIDDEN");
    expect(await codeOf(admin.widgets.create.mutate())).toBe("OK");
    expect(await codeOf(writer.widgets.uncovered.query())).toBe("FORBIDDEN");
  });

  it("gives a batch of public and protected calls per-call results", async () => {
    const reader = `Bearer ${token("reader", ["widgets/read"])}`;
    const res = await fetch(`${strict.url}/health,read,adminOnly?batch=1&input={}`, {
      headers: { authorization: reader },
    });
    expect(res.status).toBe(207);
    const body = (await res.json()) as any[];
    expect(body[0].result.data).toEqual({ ok: true, clientId: "reader" });
    expect(body[1].result.data).toBe("read");
    expect(body[2].error.data.httpStatus).toBe(403);

    const batch = createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: strict.url, headers: { authorization: reader } })],
    });
    const results = await Promise.allSettled([batch.health.query(), batch.adminOnly.query()]);
    expect(results[0]).toEqual({ status: "fulfilled", value: { ok: true, clientId: "reader" } });
    expect(results[1].status).toBe("rejected");
  });

  it("never puts the token in a response body or a log line", async () => {
    const expired = token("reader", ["widgets/read"], { expiresInSeconds: -60 });
    const valid = token("reader", ["widgets/read"]);
    const texts = [
      JSON.stringify((await rawGet(strict.url, "health", `Bearer ${expired}`)).body),
      JSON.stringify((await rawGet(strict.url, "adminOnly", `Bearer ${valid}`)).body),
      JSON.stringify((await rawGet(strict.url, "whoami", `Bearer ${valid}`)).body),
    ];
    for (const text of [...texts, log.text()]) {
      expect(text).not.toContain(expired);
      expect(text).not.toContain(valid);
      expect(text).not.toContain(valid.split(".")[2]);
    }
    expect(
      log.lines.some((l) => l.level === "info" && l.message === "Authenticated machine client"),
    ).toBe(true);
  });
});
