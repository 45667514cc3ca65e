import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe } from "vitest";

import { PrismaClient as SqlitePrismaClient } from "../generated/prisma/client.js";
import { PrismaClient as PgPrismaClient } from "../generated/prisma-pg/client.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The PostgreSQL server the tests use (trust authentication). */
export const PG_HOST = process.env.PGHOST ?? "127.0.0.1";
export const PG_PORT = Number(process.env.PGPORT ?? 5432);
export const PG_USER = process.env.PGUSER ?? "postgres";

/** The shipped migration SQL for `provider` followed by the test `User` table. */
export function schemaSql(provider: "sqlite" | "postgresql"): string {
  const migrations = join(root, "prisma", "migrations", provider);
  const shipped = readdirSync(migrations)
    .sort()
    .map((folder) => readFileSync(join(migrations, folder, "migration.sql"), "utf8"));
  const user = readFileSync(join(root, "test", "prisma", "sql", `user.${provider}.sql`), "utf8");
  return [...shipped, user].join("\n");
}

/** A throwaway SQLite database with the library's table and the test `User` table. */
export interface SqliteDatabase {
  prisma: SqlitePrismaClient;
  /** The database file. */
  file: string;
  /** Disconnects and deletes the file. */
  drop(): Promise<void>;
}

/** Creates a SQLite file in a temporary folder, applies the shipped migration and connects. */
export function createSqliteDatabase(): SqliteDatabase {
  const dir = mkdtempSync(join(tmpdir(), "cognito-m2m-"));
  const file = join(dir, "test.db");
  const db = new Database(file);
  db.exec(schemaSql("sqlite"));
  db.close();

  const prisma = new SqlitePrismaClient({ adapter: new PrismaBetterSqlite3({ url: file }) });
  const drop = async (): Promise<void> => {
    await prisma.$disconnect();
    rmSync(dir, { recursive: true, force: true });
  };
  return { prisma, file, drop };
}

/** A PostgreSQL database created for one test file. */
export interface PostgresDatabase {
  prisma: PgPrismaClient;
  /** Its connection string. */
  url: string;
  /** Its name. */
  name: string;
  /** Disconnects and drops the database (forcing other sessions out). */
  drop(): Promise<void>;
}

function adminClient(): pg.Client {
  return new pg.Client({
    host: PG_HOST,
    port: PG_PORT,
    user: PG_USER,
    database: "postgres",
    connectionTimeoutMillis: 3_000,
  });
}

async function withAdmin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = adminClient();
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Whether the PostgreSQL server answers. */
export async function postgresAvailable(): Promise<boolean> {
  try {
    await withAdmin((client) => client.query("SELECT 1"));
    return true;
  } catch {
    return false;
  }
}

/** Drops a test database, ending any session still connected to it. */
export async function dropPostgresDatabase(name: string): Promise<void> {
  await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/** Creates a uniquely named database, applies the shipped migration and connects Prisma. */
export async function createPostgresDatabase(): Promise<PostgresDatabase> {
  const name = `cognito_m2m_test_${randomUUID().replaceAll("-", "")}`;
  await withAdmin((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = `postgresql://${PG_USER}@${PG_HOST}:${PG_PORT}/${name}`;

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(schemaSql("postgresql"));
  } finally {
    await client.end();
  }

  const prisma = new PgPrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
  const drop = async (): Promise<void> => {
    await prisma.$disconnect();
    await dropPostgresDatabase(name);
  };
  return { prisma, url, name, drop };
}

/** The provider-neutral view of a test database the shared suites use. */
export interface TestDatabase {
  provider: "sqlite" | "postgresql";
  /** The client; both generated clients have the same models, so one type serves both. */
  prisma: SqlitePrismaClient;
  /** Empties both tables. */
  reset(): Promise<void>;
  /** Makes the database unusable for `prisma` (file deleted / database dropped). */
  break(): Promise<void>;
  /** Disconnects and removes the database. */
  drop(): Promise<void>;
}

/** Creates a fresh test database of `provider` with both tables. */
export async function openDatabase(provider: TestDatabase["provider"]): Promise<TestDatabase> {
  if (provider === "sqlite") {
    const db = createSqliteDatabase();
    return {
      provider,
      prisma: db.prisma,
      reset: () => resetTables(db.prisma),
      break: async () => {
        await db.prisma.$disconnect();
        rmSync(dirname(db.file), { recursive: true, force: true });
      },
      drop: db.drop,
    };
  }
  const db = await createPostgresDatabase();
  const prisma = db.prisma as unknown as SqlitePrismaClient;
  return {
    provider,
    prisma,
    reset: () => resetTables(prisma),
    break: () => dropPostgresDatabase(db.name),
    drop: db.drop,
  };
}

async function resetTables(prisma: SqlitePrismaClient): Promise<void> {
  await prisma.serviceClientActivity.deleteMany();
  await prisma.user.deleteMany();
}

const inCI = process.env.CI === "true";
const pgWhere = `${PG_USER}@${PG_HOST}:${PG_PORT}`;

/** Whether PostgreSQL answered when this module was loaded (once per test file). */
export const pgReady = await postgresAvailable();
if (!pgReady && !inCI) {
  console.warn(`[skipped] PostgreSQL at ${pgWhere} is unreachable: its suites do not run.`);
}

/**
 * Defines `body` twice: against a SQLite database and against a PostgreSQL database, each
 * created before the suite and dropped after it. When PostgreSQL is unreachable its suite is
 * skipped with a message, except in CI (`CI=true`), where it fails.
 */
export function describeEachDatabase(title: string, body: (db: () => TestDatabase) => void): void {
  for (const provider of ["sqlite", "postgresql"] as const) {
    const skip = provider === "postgresql" && !pgReady && !inCI;
    describe.skipIf(skip)(`${title} [${provider}]`, () => {
      let database: TestDatabase | undefined;
      beforeAll(async () => {
        if (provider === "postgresql" && !pgReady) {
          throw new Error(`PostgreSQL at ${pgWhere} is unreachable; CI needs it.`);
        }
        database = await openDatabase(provider);
      });
      afterAll(async () => {
        await database?.drop();
      });
      body(() => {
        if (database === undefined) throw new Error("The test database was not created.");
        return database;
      });
    });
  }
}

/**
 * Defines `body` against a fresh PostgreSQL database, created before the suite and dropped
 * after it; skipped with a message when PostgreSQL is unreachable, except in CI, where it fails.
 */
export function describePostgres(title: string, body: (db: () => PostgresDatabase) => void): void {
  describe.skipIf(!pgReady && !inCI)(title, () => {
    let database: PostgresDatabase | undefined;
    beforeAll(async () => {
      if (!pgReady) throw new Error(`PostgreSQL at ${pgWhere} is unreachable; CI needs it.`);
      database = await createPostgresDatabase();
    });
    afterAll(async () => {
      await database?.drop();
    });
    body(() => {
      if (database === undefined) throw new Error("The test database was not created.");
      return database;
    });
  });
}
