/**
 * A separate process for the race test: a real tRPC standalone server with activity tracking
 * (`minIntervalMs: 0`) on a PostgreSQL database.
 *   RACE_WORKER='{"url":…,"userPoolId":…,"jwks":…}' tsx race-server.ts
 * Prints `{"type":"ready","url":…}` once it listens. On the line "report" on stdin it closes
 * the tracker (flushing), and prints `{"type":"report",…}`: every line its logger received and
 * every activity write it made (the times it sent), then exits.
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";

import { PrismaPg } from "@prisma/adapter-pg";
import { initTRPC } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { SimpleJwksCache, type Jwks } from "aws-jwt-verify/jwk";

import { createCognitoM2M } from "../../../src/index.js";
import { resolvePool } from "../../../src/testing/pool.js";
import { OfflineFetcher } from "../../../src/testing/test-issuer.js";
import { PrismaClient } from "../../generated/prisma-pg/client.js";
import { capturingLogger } from "../../support/logger.js";

const config = JSON.parse(process.env.RACE_WORKER ?? "null") as {
  url: string;
  userPoolId: string;
  jwks: Jwks;
} | null;
if (config === null) throw new Error("RACE_WORKER is not set");

const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: config.url }) });
await prisma.$connect();

/** Every activity write: the first and last sighting it sent, and whether it succeeded. */
const writes: { firstSeen: number; lastSeen: number; ok: boolean }[] = [];
const recording = new Proxy(prisma, {
  get(target, property) {
    if (property === "$executeRawUnsafe") {
      return async (query: string, ...values: unknown[]) => {
        const [, firstSeen, lastSeen] = values as [string, Date, Date];
        const entry = { firstSeen: firstSeen.getTime(), lastSeen: lastSeen.getTime(), ok: false };
        writes.push(entry);
        const count = await target.$executeRawUnsafe(query, ...values);
        entry.ok = true;
        return count;
      };
    }
    return Reflect.get(target, property, target);
  },
});

const pool = resolvePool(config.userPoolId);
const jwksCache = new SimpleJwksCache({ fetcher: new OfflineFetcher() });
jwksCache.addJwks(pool.regionalJwksUri, config.jwks);

const logger = capturingLogger();
const m2m = createCognitoM2M({
  userPoolId: config.userPoolId,
  verifierOptions: { jwksCache },
  prisma: recording,
  trackClientActivity: { minIntervalMs: 0 },
  logger,
});
const t = initTRPC.context<Awaited<ReturnType<typeof m2m.createContext>>>().create();
const router = t.router({
  whoami: t.procedure
    .concat(m2m.machineProcedure)
    .query(({ ctx }) => ctx.servicePrincipal.clientId),
});

let requests = 0;
const server = createHTTPServer({
  router,
  createContext: (opts) => {
    requests += 1;
    return m2m.createContext(opts);
  },
});
server.listen(0, "127.0.0.1");
await once(server, "listening");
const { port } = server.address() as AddressInfo;
process.stdout.write(`${JSON.stringify({ type: "ready", url: `http://127.0.0.1:${port}` })}\n`);

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() === "report") break;
}
lines.close();

await m2m.close();
server.closeAllConnections();
server.close();
await prisma.$disconnect();
const logged = logger.entries.filter((entry) => entry.level !== "debug" && entry.level !== "info");
process.stdout.write(`${JSON.stringify({ type: "report", requests, logged, writes })}\n`);
