import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

import { PrismaPg } from "@prisma/adapter-pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";

import { JwksUnavailableError, type CognitoM2MOptions } from "../../src/index.js";
import { createActivityTracker } from "../../src/persistence/index.js";
import { createTestIssuer, startLocalIssuer, type LocalIssuer } from "../../src/testing/index.js";
import { PrismaClient as PgPrismaClient } from "../generated/prisma-pg/client.js";
import {
  createSqliteDatabase,
  describePostgres,
  dropPostgresDatabase,
} from "../support/databases.js";
import { capturingLogger } from "../support/logger.js";
import {
  cognitoCode,
  createHardenedApp,
  send,
  serveHardened,
  type HardenedApp,
  type HardenedServer,
  type RawResponse,
} from "./support/app.js";

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** An app and its server, closed by {@link closeAll}. */
const running: { app: HardenedApp; server: HardenedServer }[] = [];

async function start(options: CognitoM2MOptions) {
  const app = createHardenedApp(options);
  const server = await serveHardened(app);
  running.push({ app, server });
  return { app, server, get: (path: string, token?: string) => getWith(server, path, token) };
}

function getWith(server: HardenedServer, path: string, token?: string): Promise<RawResponse> {
  return send(server.url, path, token === undefined ? {} : bearer(token));
}

afterAll(async () => {
  for (const { app, server } of running) {
    await server.close();
    await app.m2m.close();
  }
});

afterEach(() => {
  vi.useRealTimers();
});

/** Moves the frozen `Date` forward; timers stay real. */
function advanceDate(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

function expectUnavailable(response: RawResponse, maxSeconds = 10): number {
  expect({ status: response.status, code: cognitoCode(response.json) }).toEqual({
    status: 503,
    code: "jwks_unavailable",
  });
  const retryAfter = Number(response.headers["retry-after"]);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxSeconds);
  expect(response.json.error.data.cognito.retryAfterSeconds).toBe(retryAfter);
  return retryAfter;
}

describe.each([
  { label: "token cache on", tokenCache: undefined },
  { label: "tokenCache: false", tokenCache: false as const },
])("JWKS endpoint down with the key already cached ($label)", ({ tokenCache }) => {
  const POOL = tokenCache === false ? "eu-west-1_OutageB" : "eu-west-1_OutageA";
  let issuer: LocalIssuer;

  beforeAll(async () => {
    issuer = await startLocalIssuer({ userPoolId: POOL, clients: [] });
  });

  afterAll(async () => {
    await issuer.close();
  });

  const mint = (kid?: string) =>
    issuer.mintAccessToken({
      clientId: "reader",
      scopes: ["widgets/read"],
      ...(kid === undefined ? {} : { header: { kid } }),
    });

  it("keeps accepting tokens of the cached key, answers 503 for unknown kids, fetches rarely, recovers", async () => {
    const { get } = await start({
      userPoolId: POOL,
      verifierOptions: issuer.verifierOptions,
      ...(tokenCache === false ? { tokenCache } : {}),
    });
    const seen = mint();
    expect((await get("whoami", seen)).status).toBe(200);
    expect(issuer.jwksFetchCount).toBe(1);

    await issuer.stop();
    vi.useFakeTimers({ toFake: ["Date"] });

    // Fresh tokens of the cached kid: verified against the cached key, no fetch.
    for (let i = 0; i < 5; i += 1) expect((await get("whoami", mint())).status).toBe(200);
    expect((await get("whoami", seen)).status).toBe(200);
    expect(issuer.jwksFetchCount).toBe(1);

    // An unknown kid needs the key set: one failed fetch, then 10 s of cache-only checks.
    expect(expectUnavailable(await get("whoami", mint("rotated-1")))).toBe(10);
    expect(issuer.jwksFetchCount).toBe(2);

    const burst = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        get("whoami", mint(i % 2 === 0 ? `new-${i}` : undefined)),
      ),
    );
    for (let i = 0; i < 20; i += 1) burst.push(await get("whoami", mint(`later-${i}`)));
    for (const [i, response] of burst.entries()) {
      if (i < 40 && i % 2 === 1) expect(response.status).toBe(200);
      else expectUnavailable(response);
    }
    expect(issuer.jwksFetchCount).toBe(2);

    advanceDate(4_000);
    expect(expectUnavailable(await get("whoami", mint("rotated-2")))).toBe(6);

    // The endpoint is back, but the window is not over: still no fetch.
    await issuer.start();
    expectUnavailable(await get("whoami", mint("rotated-3")), 6);
    expect(issuer.jwksFetchCount).toBe(2);

    // After the window: the next unknown kid fetches again, finds no such key: 401.
    advanceDate(6_001);
    const unknown = await get("whoami", mint("rotated-4"));
    expect({ status: unknown.status, code: cognitoCode(unknown.json) }).toEqual({
      status: 401,
      code: "invalid_token",
    });
    expect(unknown.headers["retry-after"]).toBeUndefined();
    expect(issuer.jwksFetchCount).toBe(3);
    expect((await get("whoami", mint())).status).toBe(200);
  });
});

describe("JWKS endpoint down before any key was fetched", () => {
  const POOL = "eu-west-1_OutageC";
  let issuer: LocalIssuer;

  beforeAll(async () => {
    issuer = await startLocalIssuer({ userPoolId: POOL, clients: [] });
  });

  afterAll(async () => {
    await issuer.close();
  });

  it("answers 503 with Retry-After, fetches once per window, and recovers without a restart", async () => {
    const mint = () => issuer.mintAccessToken({ clientId: "writer", scopes: [] });
    const { get, app } = await start({
      userPoolId: POOL,
      verifierOptions: issuer.verifierOptions,
      tokenCache: false,
    });
    await issuer.stop();
    vi.useFakeTimers({ toFake: ["Date"] });

    expect(expectUnavailable(await get("whoami", mint()))).toBe(10);
    const during = await Promise.all(Array.from({ length: 30 }, () => get("whoami", mint())));
    for (const response of during) expectUnavailable(response);
    expect((await get("health")).status).toBe(200);
    expect(issuer.jwksFetchCount).toBe(1);

    await issuer.start();
    advanceDate(9_000);
    expect(expectUnavailable(await get("whoami", mint()))).toBe(1);
    expect(issuer.jwksFetchCount).toBe(1);

    advanceDate(1_001);
    const recovered = await get("whoami", mint());
    expect(recovered.status).toBe(200);
    expect(recovered.json.result.data).toBe("writer");
    for (let i = 0; i < 5; i += 1) expect((await get("whoami", mint())).status).toBe(200);
    expect(issuer.jwksFetchCount).toBe(2);

    // The outage is logged at debug per refused request, never with the token.
    expect(app.log.text()).not.toContain("eyJ");
  });

  it("makes ready() reject with JwksUnavailableError while the endpoint is down", async () => {
    const other = await startLocalIssuer({ userPoolId: "eu-west-1_OutageD", clients: [] });
    try {
      const { app } = await start({
        userPoolId: other.userPoolId,
        verifierOptions: other.verifierOptions,
      });
      await other.stop();
      await expect(app.m2m.ready()).rejects.toBeInstanceOf(JwksUnavailableError);
      await other.start();
      vi.useFakeTimers({ toFake: ["Date"] });
      advanceDate(10_001);
      await expect(app.m2m.ready()).resolves.toBeUndefined();
    } finally {
      await other.close();
    }
  });

  // Inside the no-fetch window the cached key is still checked through the async path, so an
  // async customJwtCheck keeps working during an outage.
  it("accepts valid tokens during an outage when customJwtCheck is async", async () => {
    const issuer2 = await startLocalIssuer({ userPoolId: "eu-west-1_OutageE", clients: [] });
    try {
      const { get } = await start({
        userPoolId: issuer2.userPoolId,
        verifierOptions: {
          ...issuer2.verifierOptions,
          customJwtCheck: async () => undefined,
        },
        tokenCache: false,
      });
      const mint = (kid?: string) =>
        issuer2.mintAccessToken({
          clientId: "reader",
          scopes: [],
          ...(kid === undefined ? {} : { header: { kid } }),
        });
      expect((await get("whoami", mint())).status).toBe(200);
      await issuer2.stop();
      expectUnavailable(await get("whoami", mint("unknown-kid")));
      expect((await get("whoami", mint())).status).toBe(200);
    } finally {
      await issuer2.close();
    }
  });
});

/**
 * Wraps a PrismaClient so the activity writes (`$executeRawUnsafe`, the model's `upsert`)
 * fail while `down` is set, like a database that cannot be reached, and pass through otherwise.
 */
function switchableActivityClient<T extends object>(prisma: T) {
  const state = { down: false, attempts: 0, failures: 0, inFlight: 0, maxInFlight: 0 };
  const attempt = async <R>(write: () => PromiseLike<R>): Promise<R> => {
    state.attempts += 1;
    state.inFlight += 1;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    try {
      if (!state.down) return await write();
      await sleep(25);
      state.failures += 1;
      throw new Error("connect ECONNREFUSED 127.0.0.1:5432 (simulated outage)");
    } finally {
      state.inFlight -= 1;
    }
  };

  const real = prisma as unknown as {
    $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
    serviceClientActivity: { upsert(args: unknown): PromiseLike<unknown> };
  };
  const delegate = new Proxy(real.serviceClientActivity, {
    get(target, property) {
      if (property === "upsert") {
        return (args: unknown) => attempt(() => target.upsert(args));
      }
      return Reflect.get(target, property, target);
    },
  });
  const client = new Proxy(prisma, {
    get(target, property) {
      if (property === "$executeRawUnsafe") {
        return (query: string, ...values: unknown[]) =>
          attempt(() => real.$executeRawUnsafe(query, ...values));
      }
      if (property === "serviceClientActivity") return delegate;
      return Reflect.get(target, property, target);
    },
  });
  return { client, state };
}

describe("activity database unreachable, then back", () => {
  it("serves every request, logs once, bounds the writes, and records the outage's sightings later", async () => {
    const issuer = createTestIssuer({ userPoolId: "eu-west-1_Activity1" });
    const db = createSqliteDatabase();
    const gate = switchableActivityClient(db.prisma);
    const { app, get } = await start({
      userPoolId: issuer.userPoolId,
      verifierOptions: issuer.verifierOptions,
      allowedClientIds: null,
      prisma: gate.client,
      trackClientActivity: { minIntervalMs: 0 },
    });
    const clients = ["svc-a", "svc-b", "svc-c"];
    const tokens = new Map(
      clients.map((c) => [c, issuer.mintAccessToken({ clientId: c, scopes: [] })]),
    );
    const firstSent = new Map<string, number>();
    const firstDone = new Map<string, number>();
    const lastSent = new Map<string, number>();
    const lastDone = new Map<string, number>();

    try {
      gate.state.down = true;
      const outageStart = Date.now();
      let requests = 0;
      while (Date.now() - outageStart < 2_500) {
        await Promise.all(
          clients.flatMap((clientId) =>
            Array.from({ length: 4 }, async () => {
              const sentAt = Date.now();
              if (!firstSent.has(clientId)) firstSent.set(clientId, sentAt);
              lastSent.set(clientId, Math.max(lastSent.get(clientId) ?? 0, sentAt));
              const response = await get("whoami", tokens.get(clientId));
              expect(response.status).toBe(200);
              if (!firstDone.has(clientId)) firstDone.set(clientId, Date.now());
              lastDone.set(clientId, Date.now());
              requests += 1;
            }),
          ),
        );
        await sleep(150);
      }
      const outageMs = Date.now() - outageStart;

      // Writes are retried per client at most once a second, never once per request.
      const bound = clients.length * (Math.ceil(outageMs / 1_000) + 2);
      expect(requests).toBeGreaterThan(100);
      expect(gate.state.attempts).toBeGreaterThan(0);
      expect(gate.state.attempts).toBeLessThanOrEqual(bound);
      expect(gate.state.maxInFlight).toBeLessThanOrEqual(clients.length);
      const errors = app.log.lines.filter((l) => l.level === "error");
      expect(errors).toHaveLength(1);
      expect(JSON.stringify(errors)).not.toContain("eyJ");

      gate.state.down = false;
      const recoveredAt = Date.now();
      await vi.waitFor(
        async () => expect(await db.prisma.serviceClientActivity.count()).toBe(clients.length),
        { timeout: 5_000, interval: 100 },
      );
      const rows = await db.prisma.serviceClientActivity.findMany({ orderBy: { clientId: "asc" } });
      for (const row of rows) {
        const first = row.firstSeenAt.getTime();
        const last = row.lastSeenAt.getTime();
        expect(first).toBeGreaterThanOrEqual(firstSent.get(row.clientId)!);
        expect(first).toBeLessThanOrEqual(firstDone.get(row.clientId)!);
        expect(last).toBeGreaterThanOrEqual(lastSent.get(row.clientId)!);
        expect(last).toBeLessThanOrEqual(Math.min(lastDone.get(row.clientId)!, recoveredAt));
      }

      // Tracking goes on as usual; no further error was logged.
      const before = rows[0]!.lastSeenAt.getTime();
      await sleep(5);
      expect((await get("whoami", tokens.get("svc-a"))).status).toBe(200);
      await app.m2m.flush();
      const after = await db.prisma.serviceClientActivity.findUnique({
        where: { clientId: "svc-a" },
      });
      expect(after!.lastSeenAt.getTime()).toBeGreaterThan(before);
      expect(app.log.lines.filter((l) => l.level === "error")).toHaveLength(1);
    } finally {
      await app.m2m.close();
      await db.drop();
    }
  });
});

describe("activity tracker with many clients while its database is down", () => {
  it("holds at most maxClients client ids, writes each once per attempt, and all of them once back", async () => {
    const db = createSqliteDatabase();
    const gate = switchableActivityClient(db.prisma);
    const logger = capturingLogger();
    const tracker = createActivityTracker({
      prisma: gate.client,
      minIntervalMs: 0,
      logger,
      maxClients: 50,
    });
    try {
      gate.state.down = true;
      for (let i = 0; i < 500; i += 1) tracker.record(`svc-${i}`);
      await tracker.flush();
      expect(gate.state.attempts).toBe(50);
      expect(logger.at("warn")).toHaveLength(1);
      expect(logger.at("warn")[0]!.details).toMatchObject({ maxClients: 50, droppedClients: 1 });

      for (let i = 0; i < 500; i += 1) tracker.record(`svc-${i % 100}`);
      await tracker.flush();
      expect(gate.state.attempts).toBe(100);
      expect(logger.at("error")).toHaveLength(1);

      gate.state.down = false;
      await tracker.flush();
      expect(await db.prisma.serviceClientActivity.count()).toBe(50);
      expect(logger.at("error")).toHaveLength(1);
    } finally {
      await tracker.close();
      await db.drop();
    }
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function expectMappingFailure(response: RawResponse): void {
  expect({ status: response.status, code: cognitoCode(response.json) }).toEqual({
    status: 500,
    code: "user_mapping_error",
  });
  expect(response.json.error.message).toBe("User mapping failed.");
  expect(response.text).not.toMatch(/ECONNREFUSED|does not exist|127\.0\.0\.1/);
}

describe("user-mapping database unreachable", () => {
  const issuer = createTestIssuer({ userPoolId: "eu-west-1_Mapping1" });
  const mint = (clientId: string) => issuer.mintAccessToken({ clientId, scopes: [] });

  it("answers 500 user_mapping_error for a PostgreSQL client pointed at a closed port", async () => {
    const port = await closedPort();
    const prisma = new PgPrismaClient({
      adapter: new PrismaPg({
        connectionString: `postgresql://postgres@127.0.0.1:${port}/gone`,
        connectionTimeoutMillis: 2_000,
      }),
    });
    try {
      for (const returnUserProxy of [false, true]) {
        const { get, app } = await start({
          userPoolId: issuer.userPoolId,
          verifierOptions: issuer.verifierOptions,
          prisma,
          userMapping: { strategy: "clientIdField", field: "username" },
          returnUserProxy,
        });
        for (let i = 0; i < 3; i += 1) expectMappingFailure(await get("user", mint("reader")));
        expect((await get("health")).status).toBe(200);
        const logged = app.log.lines.filter((l) => l.level === "error");
        expect(logged.length).toBeGreaterThanOrEqual(1);
        expect(logged[0]!.details).toMatchObject({ clientId: "reader", strategy: "clientIdField" });
        expect(app.log.text()).not.toContain("eyJ");
      }
    } finally {
      await prisma.$disconnect();
    }
  });

  describePostgres("[postgresql] database dropped under a running server", (db) => {
    it("maps the right user while up, then answers 500 and never another user", async () => {
      const reader = await db().prisma.user.create({ data: { username: "reader" } });
      await db().prisma.user.create({ data: { username: "writer" } });
      const { get } = await start({
        userPoolId: issuer.userPoolId,
        verifierOptions: issuer.verifierOptions,
        prisma: db().prisma,
        userMapping: { strategy: "clientIdField", field: "username" },
        returnUserProxy: true,
      });
      const up = await get("user", mint("reader"));
      expect(up.json.result.data).toEqual({
        clientId: "reader",
        id: reader.id,
        username: "reader",
      });

      await dropPostgresDatabase(db().name);
      for (const clientId of ["reader", "writer", "reader"]) {
        expectMappingFailure(await get("user", mint(clientId)));
      }
    });
  });
});
