/**
 * `npm run example`: a local Cognito-shaped issuer, the widgets API and the services that call
 * it, then a scripted list of calls. Prints what each call got and exits with 1 if any outcome
 * differs from the expected one.
 */
import { isTRPCClientError } from "@trpc/client";
import superjson, { type SuperJSONResult } from "superjson";

import { startApi, type AppRouter } from "./api.js";
import { createApiClient, createCallingService } from "./caller.js";
import { createExampleDatabase } from "./database.js";
import { CLIENTS, startExampleIssuer, USER_POOL_ID, type ExampleClient } from "./issuer.js";

/** What a call got: the HTTP status, the library's error code and the auth challenge. */
interface Outcome {
  status: number;
  /** `error.data.cognito.code`; `null` on success or for errors of other origins. */
  code: string | null;
  /** The `WWW-Authenticate` response header, if any. */
  challenge?: string | null;
  /** What a successful call returned. */
  result?: unknown;
}

/** The part of the API's error shape the example reads. */
interface ErrorShape {
  data: { cognito?: { code: string } };
}

/** One scripted call and what it should get. */
interface Check {
  caller: string;
  procedure: string;
  expected: Outcome;
  run: () => Promise<Outcome>;
  /** Print the call's result after the table. */
  showResult?: boolean;
}

/**
 * Makes a call with the typed tRPC client. A failed call throws a `TRPCClientError` whose
 * `data` is the server's error shape (with `cognito.code` from `m2m.errorData`) and whose
 * `meta.response` is the HTTP response.
 */
async function viaClient(call: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { status: 200, code: null, result: await call() };
  } catch (error) {
    if (!isTRPCClientError<AppRouter>(error) || error.data == null) throw error;
    const response = error.meta?.response as Response | undefined;
    return {
      status: response?.status ?? error.data.httpStatus,
      code: error.data.cognito?.code ?? null,
      challenge: response?.headers.get("www-authenticate"),
    };
  }
}

/**
 * Makes a GET request as any HTTP client could. The body is tRPC's JSON, encoded by the API's
 * superjson transformer: `{ error: <encoded error shape> }` when the call failed.
 */
async function viaFetch(url: string): Promise<Outcome> {
  const response = await fetch(url);
  const body = (await response.json()) as { error?: SuperJSONResult };
  const shape = body.error && superjson.deserialize<ErrorShape>(body.error);
  return {
    status: response.status,
    code: shape?.data.cognito?.code ?? null,
    challenge: response.headers.get("www-authenticate"),
  };
}

/** The token with one character of its signature changed: well formed, but not the pool's. */
function tamper(token: string): string {
  const at = token.lastIndexOf(".") + 10;
  const replacement = token[at] === "A" ? "B" : "A";
  return token.slice(0, at) + replacement + token.slice(at + 1);
}

/** A token's first characters: enough to recognise one, useless to whoever reads the log. */
function preview(token: string): string {
  return `${token.slice(0, 7)}…`;
}

function describeOutcome(outcome: Outcome): string {
  return outcome.code === null ? String(outcome.status) : `${outcome.status} ${outcome.code}`;
}

/** Prints `rows` in left-aligned columns under `header`. */
function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();

  console.log(line(header));
  console.log(line(widths.map((width) => "-".repeat(width))));
  for (const row of rows) console.log(line(row));
}

/** The scripted calls, each with the outcome it should have. */
async function scriptedChecks(apiUrl: string, tokenUrl: string): Promise<Check[]> {
  const service = (client: ExampleClient) => createCallingService({ apiUrl, tokenUrl, ...client });
  const reader = service(CLIENTS.reader);
  const writer = service(CLIENTS.writer);
  const unknown = service(CLIENTS.unknown);

  const readerToken = await reader.tokens.getToken();
  console.log(`reader's access token: ${preview(readerToken)} (never printed in full)\n`);
  const forger = createApiClient(apiUrl, { getToken: async () => tamper(readerToken) });

  return [
    {
      caller: "reader",
      procedure: "widgets.list",
      expected: { status: 200, code: null },
      run: () => viaClient(() => reader.api.widgets.list.query()),
    },
    {
      caller: "reader",
      procedure: "widgets.create",
      expected: { status: 403, code: "insufficient_scope" },
      run: () => viaClient(() => reader.api.widgets.create.mutate({ name: "gear" })),
    },
    {
      caller: "writer",
      procedure: "widgets.create",
      expected: { status: 200, code: null },
      run: () => viaClient(() => writer.api.widgets.create.mutate({ name: "gear" })),
    },
    {
      caller: "writer",
      procedure: "whoami",
      expected: { status: 200, code: null },
      run: () => viaClient(() => writer.api.whoami.query()),
      showResult: true,
    },
    {
      caller: "unknown-client",
      procedure: "widgets.list",
      expected: { status: 403, code: "client_not_allowed" },
      run: () => viaClient(() => unknown.api.widgets.list.query()),
    },
    {
      caller: "tampered token",
      procedure: "widgets.list",
      expected: { status: 401, code: "invalid_token" },
      run: () => viaClient(() => forger.widgets.list.query()),
    },
    {
      caller: "no token (fetch)",
      procedure: "widgets.list",
      expected: { status: 401, code: "missing_token" },
      run: () => viaFetch(`${apiUrl}/widgets.list`),
    },
    {
      caller: "no token (fetch)",
      procedure: "health",
      expected: { status: 200, code: null },
      run: () => viaFetch(`${apiUrl}/health`),
    },
  ];
}

/** Runs the checks one after another, prints them and returns how many went wrong. */
async function runChecks(checks: readonly Check[]): Promise<number> {
  const rows: string[][] = [];
  const challenges: string[] = [];
  const results: string[] = [];
  let failures = 0;

  for (const check of checks) {
    const actual = await check.run();
    const ok = actual.status === check.expected.status && actual.code === check.expected.code;
    if (!ok) failures += 1;
    if (actual.challenge)
      challenges.push(`${check.caller} ${check.procedure}: ${actual.challenge}`);
    if (check.showResult)
      results.push(`${check.caller} ${check.procedure}: ${JSON.stringify(actual.result)}`);
    rows.push([
      check.caller,
      check.procedure,
      describeOutcome(check.expected),
      String(actual.status),
      actual.code ?? "-",
      ok ? "✓" : "✗",
    ]);
  }

  printTable(["caller", "procedure", "expected", "status", "code", "ok"], rows);
  console.log("");
  for (const result of results) console.log(result);
  console.log("\nWWW-Authenticate headers sent with the refusals:");
  for (const challenge of challenges) console.log(`  ${challenge}`);
  return failures;
}

async function main(): Promise<number> {
  const database = createExampleDatabase();
  const { prisma } = database;
  await prisma.user.createMany({
    data: [
      { username: "reader", displayName: "Reporting service" },
      { username: "writer", displayName: "Inventory service" },
    ],
  });

  const issuer = await startExampleIssuer();
  const api = await startApi({
    userPoolId: USER_POOL_ID,
    allowedClientIds: [CLIENTS.reader.clientId, CLIENTS.writer.clientId],
    verifierOptions: issuer.verifierOptions,
    prisma,
  });

  try {
    console.log(`Local issuer: ${issuer.tokenUrl} (user pool ${USER_POOL_ID})`);
    console.log(`Widgets API:  ${api.url}`);
    const checks = await scriptedChecks(api.url, issuer.tokenUrl);
    const failures = await runChecks(checks);

    // Activity is written in the background; flush() writes whatever is still pending.
    await api.m2m.flush();
    const activity = await prisma.serviceClientActivity.findMany({ orderBy: { clientId: "asc" } });
    console.log("\nClient activity (cognito_m2m_service_client_activity, read with Prisma):");
    printTable(
      ["client id", "first seen", "last seen"],
      activity.map((row) => [
        row.clientId,
        row.firstSeenAt.toISOString(),
        row.lastSeenAt.toISOString(),
      ]),
    );

    console.log(
      `\n${checks.length - failures} of ${checks.length} calls got the expected outcome.`,
    );
    return failures === 0 ? 0 : 1;
  } finally {
    await api.close();
    await api.m2m.close();
    await database.drop();
    await issuer.close();
  }
}

process.exitCode = await main();
