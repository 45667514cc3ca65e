import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

import { beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const TIMEOUT_MS = 120_000;

interface Run {
  exitCode: number | null;
  output: string;
}

/** Runs `npm run example` from the repository root and collects stdout and stderr. */
function runExample(): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", "example"], { cwd: root, timeout: TIMEOUT_MS });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (exitCode) => resolve({ exitCode, output }));
  });
}

/** A table row: its cells in order, separated by at least two spaces. */
function row(...cells: string[]): RegExp {
  const escaped = cells.map((cell) => cell.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(" {2,}")}$`, "m");
}

describe("npm run example", () => {
  let run: Run;

  beforeAll(async () => {
    run = await runExample();
  }, TIMEOUT_MS + 5_000);

  it("exits with 0 and says every call got the expected outcome", () => {
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toContain("8 of 8 calls got the expected outcome.");
    expect(run.output).not.toContain("✗");
  });

  it("prints each scripted call with its status and code", () => {
    const rows = [
      row("reader", "widgets.list", "200", "200", "-", "✓"),
      row("reader", "widgets.create", "403 insufficient_scope", "403", "insufficient_scope", "✓"),
      row("writer", "widgets.create", "200", "200", "-", "✓"),
      row("writer", "whoami", "200", "200", "-", "✓"),
      row(
        "unknown-client",
        "widgets.list",
        "403 client_not_allowed",
        "403",
        "client_not_allowed",
        "✓",
      ),
      row("tampered token", "widgets.list", "401 invalid_token", "401", "invalid_token", "✓"),
      row("no token (fetch)", "widgets.list", "401 missing_token", "401", "missing_token", "✓"),
      row("no token (fetch)", "health", "200", "200", "-", "✓"),
    ];
    for (const expected of rows) expect(run.output).toMatch(expected);
  });

  it("shows the mapped user and the refusals' WWW-Authenticate headers", () => {
    expect(run.output).toContain('"user":{"username":"writer","displayName":"Inventory service"}');
    expect(run.output).toContain(
      'reader widgets.create: Bearer realm="api", error="insufficient_scope", scope="widgets/write"',
    );
    expect(run.output).toMatch(
      /tampered token widgets\.list: Bearer realm="api", error="invalid_token"/,
    );
  });

  it("lists activity for the two allowed clients only", () => {
    const iso = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;
    expect(run.output).toMatch(new RegExp(`^reader {2,}${iso} {2,}${iso}$`, "m"));
    expect(run.output).toMatch(new RegExp(`^writer {2,}${iso} {2,}${iso}$`, "m"));
    expect(run.output).not.toMatch(new RegExp(`^unknown-client {2,}${iso}`, "m"));
  });

  it("never prints a whole token", () => {
    expect(run.output).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
    expect(run.output).toMatch(/eyJ[\w-]{4}…/);
  });
});
