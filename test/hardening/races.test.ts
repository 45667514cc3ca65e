import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";

import { expect, it } from "vitest";

import { createTestIssuer } from "../../src/testing/index.js";
import { describePostgres } from "../support/databases.js";

const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));
const workerScript = fileURLToPath(new URL("./workers/race-server.ts", import.meta.url));

const PROCESSES = 4;
const REQUESTS_PER_PROCESS = 200;
const CLIENT_ID = "svc-race";

interface Report {
  type: "report";
  requests: number;
  logged: { level: string; message: string; details: object }[];
  writes: { firstSeen: number; lastSeen: number; ok: boolean }[];
}

/** A race-server process and its stdout, one JSON message a line. */
interface Worker {
  child: ChildProcessWithoutNullStreams;
  reader: Interface;
  messages: AsyncIterator<string>;
  stderr: string[];
  exited: Promise<number | null>;
}

function startWorker(config: object): Worker {
  const child = spawn(tsx, [workerScript], {
    env: { ...process.env, RACE_WORKER: JSON.stringify(config) },
  });
  const stderr: string[] = [];
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const reader = createInterface({ input: child.stdout });
  return { child, reader, messages: reader[Symbol.asyncIterator](), stderr, exited };
}

async function nextMessage<T>(worker: Worker): Promise<T> {
  const line = await worker.messages.next();
  if (line.done === true) throw new Error(`race worker ended early: ${worker.stderr.join("")}`);
  return JSON.parse(line.value) as T;
}

describePostgres("first requests of one client racing in four servers [postgresql]", (db) => {
  it(`${PROCESSES} processes × ${REQUESTS_PER_PROCESS} concurrent requests leave one row, the earliest first seen, no error`, async () => {
    const issuer = createTestIssuer({ userPoolId: "eu-west-1_Race1" });
    const config = { url: db().url, userPoolId: issuer.userPoolId, jwks: issuer.jwks };
    const workers = Array.from({ length: PROCESSES }, () => startWorker(config));

    try {
      const urls = await Promise.all(
        workers.map(async (w) => (await nextMessage<{ url: string }>(w)).url),
      );
      const tokens = urls.map(() => issuer.mintAccessToken({ clientId: CLIENT_ID, scopes: [] }));
      expect(await db().prisma.serviceClientActivity.count()).toBe(0);

      const startedAt = Date.now();
      const statuses = await Promise.all(
        urls.flatMap((url, i) =>
          Array.from({ length: REQUESTS_PER_PROCESS }, () =>
            fetch(`${url}/whoami`, { headers: { authorization: `Bearer ${tokens[i]}` } }).then(
              async (response) => {
                await response.arrayBuffer();
                return response.status;
              },
            ),
          ),
        ),
      );
      const finishedAt = Date.now();
      expect(statuses.filter((s) => s !== 200)).toEqual([]);

      for (const w of workers) w.child.stdin.end("report\n");
      const reports = await Promise.all(workers.map((w) => nextMessage<Report>(w)));
      expect(await Promise.all(workers.map((w) => w.exited))).toEqual(workers.map(() => 0));

      expect(reports.map((r) => r.requests)).toEqual(workers.map(() => REQUESTS_PER_PROCESS));
      expect(reports.map((r) => r.logged)).toEqual(workers.map(() => []));
      const writes = reports.flatMap((r) => r.writes);
      expect(writes.filter((w) => !w.ok)).toEqual([]);
      for (const report of reports) expect(report.writes.length).toBeGreaterThan(0);

      const rows = await db().prisma.serviceClientActivity.findMany();
      expect(rows.map((r) => r.clientId)).toEqual([CLIENT_ID]);
      const earliest = Math.min(...writes.map((w) => w.firstSeen));
      const latest = Math.max(...writes.map((w) => w.lastSeen));
      expect(rows[0]!.firstSeenAt.getTime()).toBe(earliest);
      expect(rows[0]!.lastSeenAt.getTime()).toBe(latest);
      expect(earliest).toBeGreaterThanOrEqual(startedAt);
      expect(latest).toBeLessThanOrEqual(finishedAt);
    } finally {
      for (const w of workers) {
        w.reader.close();
        if (w.child.exitCode === null) w.child.kill();
      }
    }
  }, 60_000);
});
