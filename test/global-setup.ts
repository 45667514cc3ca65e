import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The test Prisma configs: one generated client per provider. */
const CONFIGS = ["test/prisma/prisma.config.ts", "test/prisma/prisma-pg.config.ts"];

/** Vitest global setup: generates the test Prisma clients (skipped when up to date). */
export default function setup(): void {
  for (const config of CONFIGS) {
    execFileSync(process.execPath, ["scripts/prisma-generate.mjs", config], {
      cwd: root,
      stdio: "inherit",
    });
  }
}
