import { beforeEach, describe, expect, it } from "vitest";

import { ConfigurationError, UserMappingError } from "../../src/errors.js";
import {
  createUserMapper,
  userMappingSchema,
  type UserMappingOptions,
} from "../../src/persistence/index.js";
import { ServicePrincipal } from "../../src/principal.js";
import { describeEachDatabase, openDatabase } from "../support/databases.js";
import { capturingLogger, type CapturingLogger } from "../support/logger.js";

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl";

function principal(clientId: string, claims: Record<string, unknown> = {}): ServicePrincipal {
  return new ServicePrincipal({
    clientId,
    scopes: ["orders/read"],
    claims: { client_id: clientId, token_use: "access", ...claims },
    rawToken: TOKEN,
  });
}

/** Asserts that `promise` rejects with a UserMappingError and returns it. */
async function mappingError(promise: Promise<unknown>): Promise<UserMappingError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserMappingError);
  return error as UserMappingError;
}

describeEachDatabase("user mapping", (database) => {
  let logger: CapturingLogger;
  const prisma = () => database().prisma;

  beforeEach(async () => {
    await database().reset();
    logger = capturingLogger();
    await prisma().user.createMany({
      data: [
        { username: "svc-orders", email: "orders@example.test" },
        { username: "svc-dup", email: "dup1@example.test" },
        { username: "svc-dup", email: "dup2@example.test" },
      ],
    });
  });

  describe("clientIdField", () => {
    it("maps the client id to the matching user", async () => {
      const map = createUserMapper(
        { strategy: "clientIdField", field: "username" },
        { prisma: prisma(), logger },
      );
      expect(await map(principal("svc-orders"))).toMatchObject({
        username: "svc-orders",
        email: "orders@example.test",
      });
      expect(logger.entries).toEqual([]);
    });

    it("accepts the model name as written in the schema", async () => {
      const map = createUserMapper(
        { strategy: "clientIdField", field: "username", model: "User" },
        { prisma: prisma(), logger },
      );
      expect(await map(principal("svc-orders"))).toMatchObject({ username: "svc-orders" });
    });

    it("gives null when no user matches", async () => {
      const map = createUserMapper(
        { strategy: "clientIdField", field: "username" },
        { prisma: prisma(), logger },
      );
      expect(await map(principal("svc-unknown"))).toBeNull();
      expect(logger.entries).toEqual([]);
    });

    it("refuses an ambiguous match with UserMappingError and logs it", async () => {
      const map = createUserMapper(
        { strategy: "clientIdField", field: "username" },
        { prisma: prisma(), logger },
      );
      const error = await mappingError(map(principal("svc-dup")));
      expect(String((error.cause as Error).message)).toMatch(/More than one `user`/);
      expect(logger.at("error")).toHaveLength(1);
      expect(logger.at("error")[0]!.details).toMatchObject({
        clientId: "svc-dup",
        strategy: "clientIdField",
      });
    });

    it("wraps a failing lookup in UserMappingError with the database error as cause", async () => {
      const broken = await openDatabase(database().provider);
      await broken.break();
      try {
        const map = createUserMapper(
          { strategy: "clientIdField", field: "username" },
          { prisma: broken.prisma, logger },
        );
        const error = await mappingError(map(principal("svc-orders")));
        expect(error.cause).toBeInstanceOf(Error);
        expect(logger.at("error")[0]!.details).toMatchObject({
          clientId: "svc-orders",
          strategy: "clientIdField",
          error: (error.cause as Error).message,
        });
      } finally {
        await broken.drop();
      }
    });
  });

  describe("claimField", () => {
    it("maps a string claim to the matching user", async () => {
      const map = createUserMapper(
        { strategy: "claimField", claim: "mapped_email", field: "email" },
        { prisma: prisma(), logger },
      );
      const user = await map(principal("svc-x", { mapped_email: "orders@example.test" }));
      expect(user).toMatchObject({ username: "svc-orders" });
    });

    it("maps a number claim to a numeric field", async () => {
      const target = await prisma().user.findFirstOrThrow({ where: { username: "svc-orders" } });
      const map = createUserMapper(
        { strategy: "claimField", claim: "legacy_user_id", field: "id" },
        { prisma: prisma(), logger },
      );
      expect(await map(principal("svc-x", { legacy_user_id: target.id }))).toEqual(target);
    });

    it("gives null when no user has the claim's value", async () => {
      const map = createUserMapper(
        { strategy: "claimField", claim: "mapped_email", field: "email" },
        { prisma: prisma(), logger },
      );
      expect(await map(principal("svc-x", { mapped_email: "nobody@example.test" }))).toBeNull();
    });

    it("refuses an ambiguous match", async () => {
      const map = createUserMapper(
        { strategy: "claimField", claim: "legacy_username", field: "username" },
        { prisma: prisma(), logger },
      );
      await mappingError(map(principal("svc-x", { legacy_username: "svc-dup" })));
    });

    it.each([
      ["missing", {}, /"mapped_email" is missing/],
      ["an object", { mapped_email: { a: 1 } }, /"mapped_email" is an object/],
      ["a list", { mapped_email: ["a"] }, /"mapped_email" is a list/],
      ["a boolean", { mapped_email: true }, /"mapped_email" is a boolean/],
      ["null", { mapped_email: null }, /"mapped_email" is null/],
    ])("refuses a claim that is %s", async (_, claims, reason) => {
      const map = createUserMapper(
        { strategy: "claimField", claim: "mapped_email", field: "email" },
        { prisma: prisma(), logger },
      );
      const error = await mappingError(map(principal("svc-x", claims)));
      expect((error.cause as Error).message).toMatch(reason);
      expect(logger.at("error")[0]!.details).toMatchObject({ strategy: "claimField" });
    });
  });

  describe("callable and class", () => {
    it("passes the principal and the client to a callable", async () => {
      const map = createUserMapper(
        {
          strategy: "callable",
          map: async (p, ctx) => {
            const client = ctx.prisma as ReturnType<typeof prisma>;
            return client.user.findFirst({ where: { email: `${p.clientId}@example.test` } });
          },
        },
        { prisma: prisma(), logger },
      );
      expect(await map(principal("orders"))).toMatchObject({ username: "svc-orders" });
      expect(await map(principal("nobody"))).toBeNull();
    });

    it("calls a mapper object's method with its own `this`", async () => {
      class EmailMapper {
        constructor(private readonly domain: string) {}

        async mapPrincipalToUser(p: ServicePrincipal, ctx: { prisma: unknown }) {
          const client = ctx.prisma as ReturnType<typeof prisma>;
          return client.user.findFirst({ where: { email: `${p.clientId}@${this.domain}` } });
        }
      }
      const map = createUserMapper(
        { strategy: "class", mapper: new EmailMapper("example.test") },
        { prisma: prisma(), logger },
      );
      expect(await map(principal("dup1"))).toMatchObject({ email: "dup1@example.test" });
    });
  });
});

describe("createUserMapper without a database", () => {
  let logger: CapturingLogger;

  beforeEach(() => {
    logger = capturingLogger();
  });

  it("treats undefined from a callable as null", async () => {
    const map = createUserMapper<{ id: number }>(
      { strategy: "callable", map: () => undefined as unknown as null },
      { logger },
    );
    expect(await map(principal("svc"))).toBeNull();
  });

  it("returns what a synchronous callable returns", async () => {
    const map = createUserMapper(
      { strategy: "callable", map: (p) => ({ name: p.clientId }) },
      {
        logger,
      },
    );
    expect(await map(principal("svc-sync"))).toEqual({ name: "svc-sync" });
  });

  it("wraps a throwing callable, keeps the cause and never logs the token", async () => {
    const failure = new Error(`backend refused token ${TOKEN}`);
    const map = createUserMapper(
      {
        strategy: "callable",
        map: () => {
          throw failure;
        },
      },
      { logger },
    );
    const error = await mappingError(map(principal("svc-throw")));
    expect(error.cause).toBe(failure);
    expect(logger.at("error")).toHaveLength(1);
    expect(logger.at("error")[0]!.details).toEqual({
      clientId: "svc-throw",
      strategy: "callable",
      error: "backend refused token [redacted]",
    });
    expect(JSON.stringify(logger.entries)).not.toContain(TOKEN);
  });

  it("wraps a rejecting mapper object", async () => {
    const failure = new Error("directory unavailable");
    const map = createUserMapper(
      { strategy: "class", mapper: { mapPrincipalToUser: () => Promise.reject(failure) } },
      { logger },
    );
    const error = await mappingError(map(principal("svc-class")));
    expect(error.cause).toBe(failure);
    expect(logger.at("error")[0]!.details).toMatchObject({ strategy: "class" });
  });

  it.each<UserMappingOptions>([
    { strategy: "clientIdField", field: "username" },
    { strategy: "claimField", claim: "sub", field: "username" },
  ])("refuses $strategy without prisma, naming the option", (mapping) => {
    expect(() => createUserMapper(mapping, { logger })).toThrow(ConfigurationError);
    expect(() => createUserMapper(mapping, { logger })).toThrow(/`prisma` option is required/);
  });

  it("refuses a model the client does not have", () => {
    const prisma = { user: { findMany: () => Promise.resolve([]) } };
    expect(() =>
      createUserMapper(
        { strategy: "clientIdField", field: "username", model: "account" },
        { prisma, logger },
      ),
    ).toThrow(/no `account` model \(userMapping\.model\)/);
  });

  it.each([
    [{ strategy: "nope", field: "username" }, /strategy/],
    [{ strategy: "clientIdField" }, /field/],
    [{ strategy: "clientIdField", field: "" }, /field/],
    [{ strategy: "clientIdField", field: "username", feild: "x" }, /feild/],
    [{ strategy: "claimField", field: "username" }, /claim/],
    [{ strategy: "callable", map: "not a function" }, /map: must be a function/],
    [{ strategy: "class", mapper: {} }, /mapper: must be an object with a mapPrincipalToUser/],
  ])("refuses the malformed mapping %j", (mapping, reason) => {
    const call = () =>
      createUserMapper(mapping as unknown as UserMappingOptions, { prisma: {}, logger });
    expect(call).toThrow(ConfigurationError);
    expect(call).toThrow(reason);
  });
});

describe("userMappingSchema", () => {
  it("accepts every strategy", () => {
    const valid: unknown[] = [
      { strategy: "clientIdField", field: "username" },
      { strategy: "clientIdField", field: "username", model: "account" },
      { strategy: "claimField", claim: "sub", field: "externalId" },
      { strategy: "callable", map: () => null },
      { strategy: "class", mapper: { mapPrincipalToUser: () => null } },
    ];
    for (const mapping of valid) expect(userMappingSchema.safeParse(mapping).success).toBe(true);
  });

  it("refuses unknown keys and wrong types", () => {
    expect(
      userMappingSchema.safeParse({ strategy: "callable", map: () => null, x: 1 }).success,
    ).toBe(false);
    expect(
      userMappingSchema.safeParse({ strategy: "claimField", claim: 1, field: "a" }).success,
    ).toBe(false);
    expect(userMappingSchema.safeParse(null).success).toBe(false);
  });
});
