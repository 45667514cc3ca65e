import { defineConfig } from "prisma/config";

/** Prisma CLI configuration for the PostgreSQL test schema (a folder: the fragment is merged). */
export default defineConfig({
  schema: "schema-pg",
  datasource: {
    url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres",
  },
});
