import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import { initTRPC } from "@trpc/server";
import { afterAll, beforeEach, describe, expect, it } from "vitest";

import {
  AnonymousUser,
  ConfigurationError,
  createCognitoM2M,
  ServicePrincipalProxyUser,
  type CognitoM2MOptions,
  type ServicePrincipal,
} from "../../src/index.js";
import { createTestIssuer } from "../../src/testing/index.js";
import { describeEachDatabase, openDatabase, type TestDatabase } from "../support/databases.js";
import { captureLogger, serveStandalone, type RunningServer } from "../support/trpc-server.js";

const issuer = createTestIssuer({ userPoolId: "us-west-2_Persist1" });
const bearer = (clientId: string, claims: Record<string, unknown> = {}) =>
  `Bearer ${issuer.mintAccessToken({ clientId, scopes: ["r/read"], claims })}`;

type Options = Omit<CognitoM2MOptions, "userPoolId" | "verifierOptions">;

/** Serves `whoami` (user + principal) behind machineProcedure for the given options. */
async function serve(options: Options) {
  const log = captureLogger();
  const m2m = createCognitoM2M({
    userPoolId: issuer.userPoolId,
    verifierOptions: issuer.verifierOptions,
    logger: log.logger,
    ...options,
  });
  const t = initTRPC.context<Awaited<ReturnType<typeof m2m.createContext>>>().create();
  const router = t.router({
    whoami: t.procedure.concat(m2m.machineProcedure).query(({ ctx }) => {
      const user = ctx.user as unknown;
      return {
        clientId: ctx.servicePrincipal.clientId,
        kind:
          user instanceof AnonymousUser
            ? "anonymous"
            : user instanceof ServicePrincipalProxyUser
              ? "proxy"
              : "row",
        username: (user as { username?: string }).username ?? null,
        id: (user as { id?: number | null }).id ?? null,
      };
    }),
  });
  const server = await serveStandalone(router, m2m.createContext);
  const call = (authorization: string) =>
    createTRPCClient<typeof router>({
      links: [httpLink({ url: server.url, headers: { authorization } })],
    }).whoami.query();
  return { m2m, server, call, log };
}

async function failureOf(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCClientError) {
      return { code: (error.data as { code: string }).code, message: error.message };
    }
    throw error;
  }
  throw new Error("expected the call to fail");
}

describeEachDatabase("user mapping through a tRPC request", (db) => {
  let servers: RunningServer[] = [];
  let alpha: number;

  beforeEach(async () => {
    await db().reset();
    alpha = (await db().prisma.user.create({ data: { username: "alpha", email: "a@x" } })).id;
    await db().prisma.user.create({ data: { username: "twin" } });
    await db().prisma.user.create({ data: { username: "twin" } });
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });

  async function start(options: Options) {
    const app = await serve({ prisma: db().prisma, ...options });
    servers.push(app.server);
    return app;
  }

  it("maps by client id to the user row", async () => {
    const app = await start({ userMapping: { strategy: "clientIdField", field: "username" } });
    await expect(app.call(bearer("alpha"))).resolves.toEqual({
      clientId: "alpha",
      kind: "row",
      username: "alpha",
      id: alpha,
    });
  });

  it("maps by a claim to the user row", async () => {
    const app = await start({
      userMapping: { strategy: "claimField", claim: "sub", field: "username" },
    });
    const result = await app.call(bearer("client-7", { sub: "alpha" }));
    expect(result).toMatchObject({ clientId: "client-7", kind: "row", username: "alpha" });
  });

  it("maps with a callable and with a mapper object using the app's Prisma client", async () => {
    const callable = await start({
      userMapping: {
        strategy: "callable",
        map: (principal, { prisma }) =>
          (prisma as TestDatabase["prisma"]).user.findFirst({
            where: { email: `${principal.clientId.slice(0, 1)}@x` },
          }),
      },
    });
    await expect(callable.call(bearer("alpha"))).resolves.toMatchObject({ kind: "row", id: alpha });

    const mapper = await start({
      userMapping: {
        strategy: "class",
        mapper: {
          prefix: "al",
          async mapPrincipalToUser(this: { prefix: string }, principal: ServicePrincipal) {
            return principal.clientId.startsWith(this.prefix)
              ? db().prisma.user.findFirst({ where: { username: "alpha" } })
              : null;
          },
        } as never,
      },
    });
    await expect(mapper.call(bearer("alpha"))).resolves.toMatchObject({ kind: "row", id: alpha });
    await expect(mapper.call(bearer("beta"))).resolves.toMatchObject({ kind: "anonymous" });
  });

  it("falls back to the proxy user, or anonymous, when no row matches — never another row", async () => {
    const proxy = await start({
      userMapping: { strategy: "clientIdField", field: "username" },
      returnUserProxy: true,
    });
    await expect(proxy.call(bearer("nobody"))).resolves.toEqual({
      clientId: "nobody",
      kind: "proxy",
      username: "nobody",
      id: null,
    });
    const plain = await start({ userMapping: { strategy: "clientIdField", field: "username" } });
    await expect(plain.call(bearer("nobody"))).resolves.toMatchObject({ kind: "anonymous" });
  });

  it("answers 500 user_mapping_error for ambiguous, missing-claim and throwing lookups", async () => {
    const twin = await start({ userMapping: { strategy: "clientIdField", field: "username" } });
    expect(await failureOf(twin.call(bearer("twin")))).toEqual({
      code: "INTERNAL_SERVER_ERROR",
      message: "User mapping failed.",
    });

    const claim = await start({
      userMapping: { strategy: "claimField", claim: "employee_id", field: "username" },
    });
    expect((await failureOf(claim.call(bearer("alpha")))).message).toBe("User mapping failed.");

    const throwing = await start({
      userMapping: {
        strategy: "callable",
        map: () => {
          throw new Error("lookup exploded with secret detail");
        },
      },
    });
    const failure = await failureOf(throwing.call(bearer("alpha")));
    expect(failure.message).toBe("User mapping failed.");
    expect(failure.message).not.toContain("secret detail");
    expect(throwing.log.lines.some((l) => l.level === "error")).toBe(true);
  });

  it("passes checkSetup for a schema that merged the fragment", async () => {
    const app = await start({
      userMapping: { strategy: "clientIdField", field: "username" },
      trackClientActivity: true,
    });
    await expect(app.m2m.checkSetup()).resolves.toBeUndefined();
    await app.m2m.close();
  });
});

describeEachDatabase("client activity through tRPC requests", (db) => {
  beforeEach(async () => {
    await db().reset();
  });

  it("records first and last sighting without holding the request, and flushes on demand", async () => {
    const app = await serve({ prisma: db().prisma, trackClientActivity: { minIntervalMs: 0 } });
    try {
      await app.call(bearer("svc-a"));
      await app.call(bearer("svc-a"));
      await app.call(bearer("svc-b"));
      await app.m2m.flush();
      const rows = await db().prisma.serviceClientActivity.findMany({
        orderBy: { clientId: "asc" },
      });
      expect(rows.map((r) => r.clientId)).toEqual(["svc-a", "svc-b"]);
      expect(rows[0]!.lastSeenAt.getTime()).toBeGreaterThanOrEqual(rows[0]!.firstSeenAt.getTime());
    } finally {
      await app.m2m.close();
      await app.server.close();
    }
  });

  it("keeps serving requests when the database is gone, logging the failure once", async () => {
    const broken = await openDatabase(db().provider);
    const app = await serve({ prisma: broken.prisma, trackClientActivity: { minIntervalMs: 0 } });
    try {
      await broken.break();
      for (let i = 0; i < 20; i += 1) {
        await expect(app.call(bearer(`svc-${i % 3}`))).resolves.toMatchObject({
          kind: "anonymous",
        });
        await app.m2m.flush();
      }
      const errors = app.log.lines.filter((l) => l.level === "error");
      expect(errors).toHaveLength(1);
      expect(app.log.text()).not.toContain("eyJ");
    } finally {
      await app.m2m.close();
      await app.server.close();
      await broken.drop().catch(() => undefined);
    }
  });
});

describe("persistence options", () => {
  it("refuses activity tracking or a field mapping without a Prisma client", () => {
    expect(() =>
      createCognitoM2M({ userPoolId: "us-west-2_P1", trackClientActivity: true }),
    ).toThrow(ConfigurationError);
    expect(() =>
      createCognitoM2M({
        userPoolId: "us-west-2_P1",
        userMapping: { strategy: "clientIdField", field: "username" },
      }),
    ).toThrow(ConfigurationError);
  });

  it("names a malformed userMapping in the error", () => {
    expect(() =>
      createCognitoM2M({
        userPoolId: "us-west-2_P1",
        userMapping: { strategy: "callable", map: "not a function" } as never,
      }),
    ).toThrow(/userMapping/);
  });
});
