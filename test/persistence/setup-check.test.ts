import { describe, expect, it } from "vitest";

import { ConfigurationError } from "../../src/errors.js";
import { checkPersistenceSetup } from "../../src/persistence/index.js";
import { describeEachDatabase, openDatabase } from "../support/databases.js";

/** The ConfigurationError `promise` rejects with. */
async function configurationError(promise: Promise<unknown>): Promise<ConfigurationError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigurationError);
  return error as ConfigurationError;
}

describeEachDatabase("checkPersistenceSetup", (database) => {
  it("passes with a field mapping and activity tracking on a migrated database", async () => {
    await expect(
      checkPersistenceSetup({
        prisma: database().prisma,
        userMapping: { strategy: "claimField", claim: "sub", field: "email", model: "User" },
        trackActivity: true,
      }),
    ).resolves.toBeUndefined();
  });

  it("says to add the fragment and generate when the client lacks the activity model", async () => {
    const { user } = database().prisma;
    const error = await configurationError(
      checkPersistenceSetup({ prisma: { user }, trackActivity: true }),
    );
    expect(error.message).toBe(
      "The Prisma client has no `serviceClientActivity` model. Add prisma/cognito_m2m.prisma " +
        "from trpc-cognito-m2m to your schema folder and run `prisma generate`.",
    );
  });

  it("says to migrate when the activity table is missing", async () => {
    const db = await openDatabase(database().provider);
    try {
      await db.prisma.$executeRawUnsafe(`DROP TABLE "cognito_m2m_service_client_activity"`);
      const error = await configurationError(
        checkPersistenceSetup({ prisma: db.prisma, trackActivity: true }),
      );
      expect(error.message).toMatch(
        /^Table cognito_m2m_service_client_activity is not reachable: run `prisma migrate dev`/,
      );
      expect(error.message).toMatch(/\(cause: .*cognito_m2m_service_client_activity.*\)$/);
      expect(error.cause).toBeInstanceOf(Error);
    } finally {
      await db.drop();
    }
  });

  it("names a user model the client does not have", async () => {
    const error = await configurationError(
      checkPersistenceSetup({
        prisma: database().prisma,
        userMapping: { strategy: "clientIdField", field: "username", model: "account" },
        trackActivity: false,
      }),
    );
    expect(error.message).toMatch(/^The Prisma client has no `account` model/);
  });

  it("names a user field the model does not have", async () => {
    const error = await configurationError(
      checkPersistenceSetup({
        prisma: database().prisma,
        userMapping: { strategy: "clientIdField", field: "nickname" },
        trackActivity: false,
      }),
    );
    expect(error.message).toMatch(/^Users cannot be looked up by `user\.nickname`/);
    expect(error.message).toMatch(/cause: Unknown field `nickname`/);
  });

  it("says to migrate when the user table is missing", async () => {
    const db = await openDatabase(database().provider);
    try {
      await db.prisma.$executeRawUnsafe(`DROP TABLE "User"`);
      const error = await configurationError(
        checkPersistenceSetup({
          prisma: db.prisma,
          userMapping: { strategy: "clientIdField", field: "username" },
          trackActivity: false,
        }),
      );
      expect(error.message).toMatch(/run `prisma migrate dev`.*\(cause: .*User.*\)$/);
    } finally {
      await db.drop();
    }
  });
});

describe("checkPersistenceSetup without a database", () => {
  it("has nothing to check without field mapping or activity tracking", async () => {
    await expect(
      checkPersistenceSetup({
        userMapping: { strategy: "callable", map: () => null },
        trackActivity: false,
      }),
    ).resolves.toBeUndefined();
    await expect(checkPersistenceSetup({ trackActivity: false })).resolves.toBeUndefined();
  });

  it("requires prisma for activity tracking", async () => {
    const error = await configurationError(checkPersistenceSetup({ trackActivity: true }));
    expect(error.message).toBe("trackActivity needs the `prisma` option (your PrismaClient).");
  });

  it("requires prisma for a field mapping", async () => {
    const error = await configurationError(
      checkPersistenceSetup({
        userMapping: { strategy: "clientIdField", field: "username" },
        trackActivity: false,
      }),
    );
    expect(error.message).toMatch(/userMapping strategy "clientIdField" needs the `prisma` option/);
  });

  it("refuses a malformed mapping", async () => {
    const error = await configurationError(
      checkPersistenceSetup({
        userMapping: { strategy: "claimField", field: "username" } as never,
        trackActivity: false,
      }),
    );
    expect(error.message).toMatch(/Invalid `userMapping` option: claim/);
  });
});
