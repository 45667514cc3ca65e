import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";

import { expect, it } from "vitest";

import { describePostgres } from "../support/databases.js";

const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));
const worker = fileURLToPath(new URL("./workers/activity-worker.ts", import.meta.url));

/** A running worker process and its stdout, line by line. */
interface Worker {
  child: ChildProcessWithoutNullStreams;
  lines: AsyncIterator<string>;
  reader: Interface;
  stderr: string[];
  exited: Promise<number | null>;
}

function startWorker(url: string, clientId: string, clockMs: number): Worker {
  const child = spawn(tsx, [worker, url, clientId, String(clockMs)]);
  const stderr: string[] = [];
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const reader = createInterface({ input: child.stdout });
  return { child, lines: reader[Symbol.asyncIterator](), reader, stderr, exited };
}

async function nextLine(worker: Worker): Promise<string> {
  const line = await worker.lines.next();
  if (line.done === true) throw new Error(`worker ended early: ${worker.stderr.join("")}`);
  return line.value;
}

describePostgres("activity tracker across processes [postgresql]", (db) => {
  it("four racing processes leave one row, the earliest first seen, no error", async () => {
    const base = Date.UTC(2026, 0, 1, 12, 0, 0);
    const clocks = [base + 2_000, base, base + 3_000, base + 1_000];
    const workers = clocks.map((clock) => startWorker(db().url, "svc-multi", clock));

    try {
      for (const w of workers) expect(await nextLine(w)).toBe("ready");
      for (const w of workers) w.child.stdin.end("go\n");
      const reports = await Promise.all(workers.map(async (w) => JSON.parse(await nextLine(w))));
      const exits = await Promise.all(workers.map((w) => w.exited));

      expect(reports).toEqual(clocks.map(() => ({ errors: [] })));
      expect(exits).toEqual(clocks.map(() => 0));
    } finally {
      for (const w of workers) {
        w.reader.close();
        if (w.child.exitCode === null) w.child.kill();
      }
    }

    expect(await db().prisma.serviceClientActivity.findMany()).toEqual([
      { clientId: "svc-multi", firstSeenAt: new Date(base), lastSeenAt: new Date(base + 3_000) },
    ]);
  }, 60_000);
});
