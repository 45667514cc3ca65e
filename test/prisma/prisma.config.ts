import { defineConfig } from "prisma/config";

/** Prisma CLI configuration for the SQLite test schema (a folder: the fragment is merged). */
export default defineConfig({
  schema: "schema",
  datasource: { url: process.env.DATABASE_URL ?? "file:./test.db" },
});
