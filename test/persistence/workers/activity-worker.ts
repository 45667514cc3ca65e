/**
 * A separate process for the cross-process activity test:
 *   tsx activity-worker.ts <database url> <client id> <clock ms>
 * Connects and prints "ready"; on a line from stdin (so all workers start together) records the
 * client 200 times concurrently, flushes, and prints the errors it logged as JSON.
 */
import { once } from "node:events";
import { createInterface } from "node:readline";

import { PrismaPg } from "@prisma/adapter-pg";

import { createActivityTracker } from "../../../src/persistence/index.js";
import { PrismaClient } from "../../generated/prisma-pg/client.js";
import { capturingLogger } from "../../support/logger.js";

const [url, clientId, clockMs] = process.argv.slice(2);
if (url === undefined || clientId === undefined || clockMs === undefined) {
  throw new Error("usage: activity-worker.ts <url> <client id> <clock ms>");
}

const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
await prisma.$connect();
const logger = capturingLogger();
const tracker = createActivityTracker({
  prisma,
  minIntervalMs: 60_000,
  logger,
  now: () => new Date(Number(clockMs)),
});

const lines = createInterface({ input: process.stdin });
process.stdout.write("ready\n");
await once(lines, "line");
lines.close();
await Promise.all(
  Array.from({ length: 200 }, async () => {
    tracker.record(clientId);
  }),
);
await tracker.close();
await prisma.$disconnect();
process.stdout.write(`${JSON.stringify({ errors: logger.at("error") })}\n`);
