import { defineConfig } from "prisma/config";

/**
 * Prisma CLI configuration of the example. `schema` names a folder, so the library's
 * cognito_m2m.prisma (symlinked there) is merged with the example's own schema.prisma.
 */
export default defineConfig({
  schema: "prisma",
  datasource: { url: process.env.DATABASE_URL ?? "file:./example.db" },
});
