import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import Database from "better-sqlite3";

import { PrismaClient } from "./generated/prisma/client.js";

/** The migrations the library ships, one folder per migration (applied in name order). */
const SHIPPED_MIGRATIONS = fileURLToPath(new URL("../prisma/migrations/sqlite", import.meta.url));

/** The example's own table, as `prisma migrate` would create it from schema.prisma. */
const USER_TABLE_SQL = `
CREATE TABLE "User" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "username" TEXT NOT NULL,
    "displayName" TEXT NOT NULL
);
CREATE UNIQUE INDEX "User_username_key" ON "User"("username");
`;

/** The example's SQLite database: a fresh file that {@link ExampleDatabase.drop} removes. */
export interface ExampleDatabase {
  prisma: PrismaClient;
  /** The SQLite file. */
  file: string;
  /** Disconnects Prisma and deletes the file. */
  drop(): Promise<void>;
}

/**
 * Creates a SQLite file in a new temporary folder, applies the library's shipped migration and
 * the example's `User` table with better-sqlite3, and opens Prisma on it through the driver
 * adapter. An application creates these tables with its usual migrations; applying the SQL
 * directly keeps the example free of the Prisma CLI's schema engine, which is a download.
 */
export function createExampleDatabase(): ExampleDatabase {
  const dir = mkdtempSync(join(tmpdir(), "trpc-cognito-m2m-example-"));
  const file = join(dir, "example.db");

  const db = new Database(file);
  for (const folder of readdirSync(SHIPPED_MIGRATIONS).sort()) {
    db.exec(readFileSync(join(SHIPPED_MIGRATIONS, folder, "migration.sql"), "utf8"));
  }
  db.exec(USER_TABLE_SQL);
  db.close();

  const prisma = new PrismaClient({ adapter: new PrismaBetterSqlite3({ url: file }) });
  return {
    prisma,
    file,
    drop: async () => {
      await prisma.$disconnect();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
