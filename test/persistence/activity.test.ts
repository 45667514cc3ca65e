import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { ConfigurationError } from "../../src/errors.js";
import {
  createActivityTracker,
  type ActivityPrismaClient,
  type ActivityTracker,
  type ActivityTrackerOptions,
} from "../../src/persistence/index.js";
import { describeEachDatabase, openDatabase, type TestDatabase } from "../support/databases.js";
import { capturingLogger, type CapturingLogger } from "../support/logger.js";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/** A clock the test moves by hand. */
function manualClock(start = T0): {
  now: () => Date;
  set(ms: number): void;
  advance(ms: number): void;
} {
  let current = start;
  return {
    now: () => new Date(current),
    set: (ms) => {
      current = ms;
    },
    advance: (ms) => {
      current += ms;
    },
  };
}

/** Lets the tracker's scheduled work (one `setImmediate`) start. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A client that forwards to `real` but fails every write while `broken` is set. */
function flakyClient(real: TestDatabase["prisma"], provider: string) {
  const state = { broken: true };
  const fail = (): Promise<never> => Promise.reject(new Error("connection refused"));
  const client: ActivityPrismaClient & { _activeProvider: string } = {
    _activeProvider: provider,
    serviceClientActivity: {
      upsert: (args) => (state.broken ? fail() : real.serviceClientActivity.upsert(args)),
    },
    $executeRawUnsafe: (query, ...values) =>
      state.broken ? fail() : real.$executeRawUnsafe(query, ...values),
  };
  return { client, state };
}

describeEachDatabase("activity tracker", (database) => {
  let logger: CapturingLogger;
  let trackers: ActivityTracker[];

  const track = (options: Partial<ActivityTrackerOptions> = {}): ActivityTracker => {
    const tracker = createActivityTracker({
      prisma: database().prisma,
      minIntervalMs: 0,
      logger,
      ...options,
    });
    trackers.push(tracker);
    return tracker;
  };
  const rows = () =>
    database().prisma.serviceClientActivity.findMany({ orderBy: { clientId: "asc" } });
  const row = (clientId: string) =>
    database().prisma.serviceClientActivity.findUnique({ where: { clientId } });

  beforeEach(async () => {
    await database().reset();
    logger = capturingLogger();
    trackers = [];
  });

  afterEach(async () => {
    await Promise.all(trackers.map((tracker) => tracker.close()));
    vi.restoreAllMocks();
  });

  it("writes first and last seen times from the clock, keeping the first", async () => {
    const clock = manualClock();
    const tracker = track({ now: clock.now });

    tracker.record("svc-a");
    await tracker.flush();
    expect(await row("svc-a")).toEqual({
      clientId: "svc-a",
      firstSeenAt: new Date(T0),
      lastSeenAt: new Date(T0),
    });

    clock.advance(5_000);
    tracker.record("svc-a");
    await tracker.flush();
    expect(await row("svc-a")).toMatchObject({
      firstSeenAt: new Date(T0),
      lastSeenAt: new Date(T0 + 5_000),
    });
    expect(logger.entries).toEqual([]);
  });

  it("writes in the background, without flush", async () => {
    const tracker = track();
    const before = Date.now();
    tracker.record("svc-bg");

    await vi.waitFor(async () => expect(await row("svc-bg")).not.toBeNull());
    const written = await row("svc-bg");
    expect(written!.firstSeenAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(written!.lastSeenAt.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it("writes a client at most once per minIntervalMs and catches up afterwards", async () => {
    const clock = manualClock();
    const writes = vi.spyOn(database().prisma, "$executeRawUnsafe");
    const tracker = track({ minIntervalMs: 60_000, now: clock.now });

    tracker.record("svc-t");
    await vi.waitFor(() => expect(writes).toHaveBeenCalledTimes(1));
    await vi.waitFor(async () => expect(await row("svc-t")).not.toBeNull());

    clock.advance(10_000);
    tracker.record("svc-t");
    clock.advance(10_000);
    tracker.record("svc-t");
    await nextTurn();
    await nextTurn();
    expect(writes).toHaveBeenCalledTimes(1);
    expect((await row("svc-t"))!.lastSeenAt).toEqual(new Date(T0));

    clock.set(T0 + 61_000);
    tracker.record("svc-t");
    await vi.waitFor(() => expect(writes).toHaveBeenCalledTimes(2));
    await vi.waitFor(async () =>
      expect((await row("svc-t"))!.lastSeenAt).toEqual(new Date(T0 + 61_000)),
    );

    clock.advance(1_000);
    tracker.record("svc-t");
    await tracker.flush();
    expect(writes).toHaveBeenCalledTimes(3);
    expect(await row("svc-t")).toMatchObject({
      firstSeenAt: new Date(T0),
      lastSeenAt: new Date(T0 + 62_000),
    });
  });

  it("writes a throttled observation when the interval ends, from its timer", async () => {
    const writes = vi.spyOn(database().prisma, "$executeRawUnsafe");
    const tracker = track({ minIntervalMs: 200 });

    tracker.record("svc-timer");
    await vi.waitFor(() => expect(writes).toHaveBeenCalledTimes(1));
    const secondAt = Date.now();
    tracker.record("svc-timer");
    await nextTurn();
    expect(writes).toHaveBeenCalledTimes(1);

    await vi.waitFor(() => expect(writes).toHaveBeenCalledTimes(2), { timeout: 3_000 });
    await vi.waitFor(async () =>
      expect((await row("svc-timer"))!.lastSeenAt.getTime()).toBeGreaterThanOrEqual(secondAt),
    );
  });

  it("with minIntervalMs 0 writes after every request", async () => {
    const clock = manualClock();
    const writes = vi.spyOn(database().prisma, "$executeRawUnsafe");
    const tracker = track({ minIntervalMs: 0, now: clock.now });

    for (let i = 1; i <= 3; i += 1) {
      clock.advance(1);
      tracker.record("svc-0");
      await vi.waitFor(() => expect(writes).toHaveBeenCalledTimes(i));
      await vi.waitFor(async () =>
        expect((await row("svc-0"))!.lastSeenAt).toEqual(new Date(T0 + i)),
      );
    }
    expect((await row("svc-0"))!.firstSeenAt).toEqual(new Date(T0 + 1));
  });

  it("never moves lastSeenAt backwards; an earlier time only lowers firstSeenAt", async () => {
    const clock = manualClock();
    const tracker = track({ now: clock.now });

    clock.set(T0 + 2_000);
    tracker.record("svc-back");
    await tracker.flush();
    clock.set(T0 + 1_000);
    tracker.record("svc-back");
    await tracker.flush();

    expect(await row("svc-back")).toMatchObject({
      firstSeenAt: new Date(T0 + 1_000),
      lastSeenAt: new Date(T0 + 2_000),
    });
  });

  it("turns 200 concurrent records of a new client into one row and one write", async () => {
    const writes = vi.spyOn(database().prisma, "$executeRawUnsafe");
    const tracker = track({ minIntervalMs: 0 });

    await Promise.all(
      Array.from({ length: 200 }, async () => {
        tracker.record("svc-burst");
      }),
    );
    await tracker.flush();

    expect(await rows()).toHaveLength(1);
    expect(writes).toHaveBeenCalledTimes(1);
    expect(logger.entries).toEqual([]);
  });

  it("200 concurrent flushing trackers of one new client leave one row and no error", async () => {
    const clock = manualClock();
    const many = Array.from({ length: 200 }, (_, i) =>
      track({ now: () => new Date(clock.now().getTime() + i) }),
    );

    await Promise.all(
      many.map(async (tracker) => {
        tracker.record("svc-race");
        await tracker.flush();
      }),
    );

    expect(await rows()).toEqual([
      { clientId: "svc-race", firstSeenAt: new Date(T0), lastSeenAt: new Date(T0 + 199) },
    ]);
    expect(logger.entries).toEqual([]);
  });

  it("uses the raw statement for this provider, detected from the client", async () => {
    const raw = vi.spyOn(database().prisma, "$executeRawUnsafe");
    const upsert = vi.spyOn(database().prisma.serviceClientActivity, "upsert");
    const tracker = track();

    tracker.record("svc-raw");
    await tracker.flush();

    expect(raw).toHaveBeenCalledTimes(1);
    expect(raw.mock.calls[0]![0]).toContain("cognito_m2m_service_client_activity");
    expect(upsert).not.toHaveBeenCalled();
  });

  it("falls back to the model's upsert for an unknown provider", async () => {
    const clock = manualClock();
    const raw = vi.spyOn(database().prisma, "$executeRawUnsafe");
    const upsert = vi.spyOn(database().prisma.serviceClientActivity, "upsert");
    const tracker = track({ provider: "cockroachdb", now: clock.now });

    tracker.record("svc-up");
    await tracker.flush();
    clock.advance(1_000);
    tracker.record("svc-up");
    await tracker.flush();

    expect(raw).not.toHaveBeenCalled();
    expect(upsert).toHaveBeenCalledTimes(2);
    expect(await row("svc-up")).toMatchObject({
      firstSeenAt: new Date(T0),
      lastSeenAt: new Date(T0 + 1_000),
    });
  });

  it("survives a broken database: no throw, flush resolves, one error per interval", async () => {
    const broken = await openDatabase(database().provider);
    await broken.break();
    const clock = manualClock();
    const tracker = track({ prisma: broken.prisma, minIntervalMs: 1_000, now: clock.now });

    try {
      expect(() => {
        for (const id of ["svc-1", "svc-2", "svc-3"]) tracker.record(id);
      }).not.toThrow();
      await expect(tracker.flush()).resolves.toBeUndefined();
      expect(logger.at("error")).toHaveLength(1);
      expect(logger.at("error")[0]!.details).toMatchObject({ failedClients: 3 });

      for (let i = 0; i < 5; i += 1) {
        clock.advance(1_000);
        expect(() => tracker.record("svc-1")).not.toThrow();
        await expect(tracker.flush()).resolves.toBeUndefined();
      }
      expect(logger.at("error")).toHaveLength(1);

      clock.advance(60_000);
      tracker.record("svc-1");
      await tracker.flush();
      expect(logger.at("error")).toHaveLength(2);
      expect(logger.at("error")[1]!.details).toMatchObject({ suppressedErrors: 5 });
    } finally {
      await tracker.close();
      await broken.drop();
    }
  });

  it("keeps failed observations (bounded) and writes them once the database is back", async () => {
    const clock = manualClock();
    const { client, state } = flakyClient(database().prisma, database().provider);
    const tracker = track({ prisma: client, minIntervalMs: 1_000, now: clock.now, maxClients: 3 });

    for (const id of ["svc-1", "svc-2", "svc-3", "svc-4", "svc-5"]) tracker.record(id);
    await tracker.flush();
    clock.advance(500);
    tracker.record("svc-1");
    tracker.record("svc-6");
    await tracker.flush();

    expect(logger.at("error")).toHaveLength(1);
    expect(logger.at("warn")).toHaveLength(1);
    expect(logger.at("warn")[0]!.details).toMatchObject({ maxClients: 3, droppedClients: 1 });

    state.broken = false;
    await tracker.flush();
    expect(await rows()).toEqual([
      { clientId: "svc-1", firstSeenAt: new Date(T0), lastSeenAt: new Date(T0 + 500) },
      { clientId: "svc-2", firstSeenAt: new Date(T0), lastSeenAt: new Date(T0) },
      { clientId: "svc-3", firstSeenAt: new Date(T0), lastSeenAt: new Date(T0) },
    ]);

    clock.advance(2_000);
    tracker.record("svc-4");
    await tracker.flush();
    expect((await rows()).map((r) => r.clientId)).toEqual(["svc-1", "svc-2", "svc-3", "svc-4"]);
  });

  it("ignores records after close and leaves nothing pending", async () => {
    const clock = manualClock();
    const tracker = track({ minIntervalMs: 60_000, now: clock.now });

    tracker.record("svc-close");
    await tracker.flush();
    clock.advance(1_000);
    tracker.record("svc-close");
    await tracker.close();
    clock.advance(1_000);
    tracker.record("svc-after");
    await tracker.flush();

    expect(await rows()).toEqual([
      { clientId: "svc-close", firstSeenAt: new Date(T0), lastSeenAt: new Date(T0 + 1_000) },
    ]);
  });
});

describe("createActivityTracker options", () => {
  const logger = capturingLogger();
  const prisma: ActivityPrismaClient = {
    serviceClientActivity: { upsert: () => Promise.resolve({}) },
    $executeRawUnsafe: () => Promise.resolve(1),
  };

  it("refuses a client without the serviceClientActivity model", () => {
    const bare = { $executeRawUnsafe: prisma.$executeRawUnsafe } as unknown as ActivityPrismaClient;
    expect(() => createActivityTracker({ prisma: bare, minIntervalMs: 0, logger })).toThrow(
      /no `serviceClientActivity` model.*prisma\/cognito_m2m\.prisma.*prisma generate/,
    );
  });

  it.each([-1, Number.NaN, Infinity])("refuses minIntervalMs %s", (minIntervalMs) => {
    expect(() => createActivityTracker({ prisma, minIntervalMs, logger })).toThrow(
      ConfigurationError,
    );
  });

  it.each([0, 1.5])("refuses maxClients %s", (maxClients) => {
    expect(() => createActivityTracker({ prisma, minIntervalMs: 0, logger, maxClients })).toThrow(
      /maxClients/,
    );
  });

  it("keeps record() from throwing when the clock or the logger throws", async () => {
    const angryLogger = {
      ...logger,
      error: () => {
        throw new Error("logger down");
      },
    };
    const tracker = createActivityTracker({
      prisma,
      minIntervalMs: 0,
      logger: angryLogger,
      now: () => {
        throw new Error("clock down");
      },
    });
    expect(() => tracker.record("svc")).not.toThrow();
    await expect(tracker.close()).resolves.toBeUndefined();
  });
});
