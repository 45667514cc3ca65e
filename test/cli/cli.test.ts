import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

import { afterEach, describe, expect, it } from "vitest";

import { createCognitoM2M } from "../../src/index.js";
import { startLocalIssuer } from "../../src/testing/index.js";
import type { LocalIssuer } from "../../src/testing/index.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSX = `${ROOT}node_modules/.bin/tsx`;
const MAIN = `${ROOT}src/cli/main.ts`;

const POOL = "eu-west-1_CliPool";
const READER = {
  clientId: "reader",
  clientSecret: "reader-secret-Zq81x",
  scopes: ["orders/read", "orders/write"],
};

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from source as a child process; `COGNITO_CLIENT_SECRET` only when given. */
function cli(args: string[], options: { env?: Record<string, string>; stdin?: string } = {}) {
  const env = { ...process.env, ...options.env };
  if (options.env?.COGNITO_CLIENT_SECRET === undefined) delete env.COGNITO_CLIENT_SECRET;

  return new Promise<CliResult>((resolve, reject) => {
    const child = spawn(TSX, [MAIN, ...args], { cwd: ROOT, env });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? "");
  });
}

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function start(): Promise<LocalIssuer> {
  const issuer = await startLocalIssuer({ userPoolId: POOL, clients: [READER] });
  cleanups.push(() => issuer.close());
  return issuer;
}

function verifyArgs(issuer: LocalIssuer, token: string, ...extra: string[]): string[] {
  return ["verify", token, "--user-pool-id", POOL, "--jwks-uri", issuer.jwksUri, ...extra];
}

function tokenArgs(issuer: LocalIssuer, ...extra: string[]): string[] {
  return ["token", "--token-url", issuer.tokenUrl, "--client-id", READER.clientId, ...extra];
}

const withSecret = (secret = READER.clientSecret) => ({ env: { COGNITO_CLIENT_SECRET: secret } });

describe("trpc-cognito-m2m token", () => {
  it("prints only the access token, which the library verifies", async () => {
    const issuer = await start();
    const result = await cli(tokenArgs(issuer, "--scope", "orders/read"), withSecret());

    expect(result).toMatchObject({ code: 0, stderr: "" });
    const token = result.stdout.trimEnd();
    expect(result.stdout).toBe(`${token}\n`);
    expect(token.split(".")).toHaveLength(3);

    const m2m = createCognitoM2M({ userPoolId: POOL, verifierOptions: issuer.verifierOptions });
    const principal = await m2m.authenticate({ authorization: `Bearer ${token}` });
    expect(principal?.clientId).toBe("reader");
    expect([...principal!.scopes]).toEqual(["orders/read"]);
  });

  it("prints access_token, expires_in and the granted scopes with --json", async () => {
    const issuer = await start();
    const result = await cli(tokenArgs(issuer, "--json"), withSecret());

    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout);
    expect(Object.keys(output)).toEqual(["access_token", "expires_in", "scopes"]);
    expect(output).toMatchObject({ expires_in: 3600, scopes: READER.scopes });
    expect(output.access_token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it("accepts the secret from --client-secret", async () => {
    const issuer = await start();
    const result = await cli(tokenArgs(issuer, "--client-secret", READER.clientSecret));

    expect(result.code).toBe(0);
    expect(result.stdout.trim().split(".")).toHaveLength(3);
  });

  it("exits 1 with invalid_client for a wrong secret and never prints the secret", async () => {
    const issuer = await start();
    const wrong = "wrong-secret-Kp42v";
    const fromEnv = await cli(tokenArgs(issuer), withSecret(wrong));
    const fromFlag = await cli(tokenArgs(issuer, "--client-secret", wrong));

    for (const result of [fromEnv, fromFlag]) {
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(/^error: invalid_client \(401\)/);
      expect(result.stderr).not.toContain(wrong);
      expect(result.stderr).not.toContain(READER.clientSecret);
    }
  });

  it("reports token errors as JSON with --json", async () => {
    const issuer = await start();
    const result = await cli(tokenArgs(issuer, "--json"), withSecret("nope-nope-nope"));

    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(JSON.parse(result.stderr)).toMatchObject({ error: "invalid_client", status: 401 });
    expect(result.stderr).not.toContain("nope-nope-nope");
  });

  it("exits 1 with network_error when the endpoint is down", async () => {
    const issuer = await start();
    await issuer.close();
    const result = await cli(tokenArgs(issuer), withSecret());

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: network_error: /);
    expect(result.stderr).not.toContain(READER.clientSecret);
  });

  it("exits 2 on usage errors", async () => {
    const issuer = await start();
    const noSecret = await cli(tokenArgs(issuer));
    const noClient = await cli(["token", "--token-url", issuer.tokenUrl], withSecret());
    const plainHttp = await cli(
      ["token", "--token-url", "http://example.com/oauth2/token", "--client-id", "reader"],
      withSecret(),
    );
    const unknownFlag = await cli(tokenArgs(issuer, "--client-secrets", "x"), withSecret());

    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain("COGNITO_CLIENT_SECRET");
    expect(noClient.code).toBe(2);
    expect(noClient.stderr).toContain("--client-id");
    expect(plainHttp.code).toBe(2);
    expect(plainHttp.stderr).toContain("loopback");
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toContain("--client-secrets");
    for (const result of [noSecret, noClient, plainHttp, unknownFlag]) {
      expect(result.stdout).toBe("");
    }
  });
});

describe("trpc-cognito-m2m verify", () => {
  it("prints the principal of a valid token", async () => {
    const issuer = await start();
    const token = issuer.mintAccessToken({ clientId: "reader", scopes: ["orders/read"] });
    const result = await cli(verifyArgs(issuer, token));

    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(/^client id: +reader$/m);
    expect(result.stdout).toMatch(/^scopes: +orders\/read$/m);
    expect(result.stdout).toMatch(/^sub: +reader$/m);
    expect(result.stdout).toMatch(/^expires: +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/m);
    expect(result.stdout).toContain(`issuer:    ${issuer.issuer}\n`);
    expect(result.stdout).not.toContain(token);
  });

  it("prints the principal as JSON with --json, without the token", async () => {
    const issuer = await start();
    const token = issuer.mintAccessToken({ clientId: "reader", scopes: ["a/b", "c/d"] });
    const result = await cli(verifyArgs(issuer, token, "--json", "--client-id", "reader"));

    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout);
    expect(output).toMatchObject({
      clientId: "reader",
      scopes: ["a/b", "c/d"],
      sub: "reader",
      iss: issuer.issuer,
      claims: { client_id: "reader", token_use: "access" },
    });
    expect(new Date(output.expiresAt).getTime()).toBe(output.exp * 1000);
    expect(result.stdout).not.toContain(token);
  });

  it("reads the token from stdin when it is -", async () => {
    const issuer = await start();
    const token = issuer.mintAccessToken({ clientId: "reader", scopes: ["orders/read"] });
    const ok = await cli(verifyArgs(issuer, "-", "--scope", "orders/read"), {
      stdin: `${token}\n`,
    });
    const empty = await cli(verifyArgs(issuer, "-"), { stdin: "\n" });

    expect(ok).toMatchObject({ code: 0, stderr: "" });
    expect(ok.stdout).toMatch(/^client id: +reader$/m);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("stdin");
  });

  it("accepts a token fetched by the token command", async () => {
    const issuer = await start();
    const fetched = await cli(tokenArgs(issuer, "--scope", "orders/write"), withSecret());
    const result = await cli(verifyArgs(issuer, "-", "--scope", "orders/write"), {
      stdin: fetched.stdout,
    });

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^scopes: +orders\/write$/m);
  });

  it("exits 1 with expired_token for an expired token", async () => {
    const issuer = await start();
    const token = issuer.mintAccessToken({ clientId: "reader", scopes: [], expiresInSeconds: -60 });
    const result = await cli(verifyArgs(issuer, token));

    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^error: expired_token: /);
    expect(result.stderr).toContain("reason: JwtExpiredError");
    expect(result.stderr).not.toContain(token);
  });

  it("exits 1 with client_not_allowed when --client-id names another client", async () => {
    const issuer = await start();
    const token = issuer.mintAccessToken({ clientId: "reader", scopes: [] });
    const result = await cli(verifyArgs(issuer, token, "--client-id", "other"));

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: client_not_allowed: /);
    expect(result.stderr).not.toContain(token);
  });

  it("exits 1 with insufficient_scope when a --scope is not granted", async () => {
    const issuer = await start();
    const token = issuer.mintAccessToken({ clientId: "reader", scopes: ["orders/read"] });
    const text = await cli(verifyArgs(issuer, token, "--scope", "orders/read", "--scope", "x/y"));
    const json = await cli(verifyArgs(issuer, token, "--scope", "x/y", "--json"));

    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/^error: insufficient_scope: /);
    expect(text.stderr).toContain("required scopes: orders/read x/y");
    expect(text.stderr).toContain("reason: The token grants: orders/read.");
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toMatchObject({
      error: "insufficient_scope",
      requiredScopes: ["x/y"],
    });
    for (const result of [text, json]) expect(result.stderr).not.toContain(token);
  });

  it("exits 1 with jwks_unavailable when the keys cannot be fetched", async () => {
    const issuer = await start();
    const token = issuer.mintAccessToken({ clientId: "reader", scopes: [] });
    await issuer.close();
    const result = await cli(verifyArgs(issuer, token));

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: jwks_unavailable: /);
    expect(result.stderr).toContain("reason: FetchError");
    expect(result.stderr).not.toContain(token);
  });

  it("exits 1 with invalid_token for garbage and for a token of another key", async () => {
    const issuer = await start();
    const stranger = await startLocalIssuer({ userPoolId: POOL, clients: [] });
    cleanups.push(() => stranger.close());
    const foreign = stranger.mintAccessToken({ clientId: "reader", scopes: [] });

    const garbage = await cli(verifyArgs(issuer, "not-a-jwt-at-all"));
    const spaced = await cli(verifyArgs(issuer, "-"), { stdin: "two words" });
    const wrongKey = await cli(verifyArgs(issuer, foreign));

    for (const result of [garbage, spaced, wrongKey]) {
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(/^error: invalid_token: /);
    }
    expect(garbage.stderr).not.toContain("not-a-jwt-at-all");
    expect(wrongKey.stderr).not.toContain(foreign);
  });

  it("exits 1 with invalid_token and JSON on stderr with --json", async () => {
    const issuer = await start();
    const result = await cli(verifyArgs(issuer, "abc.def.ghi", "--json"));

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stderr)).toMatchObject({ error: "invalid_token" });
  });

  it("exits 2 on usage errors", async () => {
    const issuer = await start();
    const token = issuer.mintAccessToken({ clientId: "reader", scopes: [] });
    const results = await Promise.all([
      cli(["verify", "--user-pool-id", POOL]),
      cli(["verify", token]),
      cli(["verify", token, "--user-pool-id", "not-a-pool"]),
      cli(["verify", token, "--user-pool-id", "not-a-pool", "--jwks-uri", issuer.jwksUri]),
      cli(verifyArgs(issuer, token, "extra")),
      cli(verifyArgs(issuer, token, "--frobnicate")),
      cli(verifyArgs(issuer, token, "--client-id", "")),
      cli(["verify", token, "--user-pool-id", POOL, "--jwks-uri", "http://example.com/k"]),
    ]);

    for (const result of results) {
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(/^error: /);
      expect(result.stderr).not.toContain(token);
    }
  });
});

describe("trpc-cognito-m2m help and dispatch", () => {
  it("prints help for --help, help and help <command>", async () => {
    const [main, word, verify, token] = await Promise.all([
      cli(["--help"]),
      cli(["help"]),
      cli(["help", "verify"]),
      cli(["token", "--help"]),
    ]);

    for (const result of [main, word, verify, token]) {
      expect(result).toMatchObject({ code: 0, stderr: "" });
    }
    expect(main.stdout).toContain("token");
    expect(main.stdout).toContain("verify");
    expect(word.stdout).toBe(main.stdout);
    for (const flag of ["--user-pool-id", "--client-id", "--scope", "--jwks-uri", "--json"]) {
      expect(verify.stdout).toContain(flag);
    }
    for (const flag of ["--token-url", "--client-id", "--client-secret", "--scope", "--json"]) {
      expect(token.stdout).toContain(flag);
    }
    expect(token.stdout).toContain("COGNITO_CLIENT_SECRET");
  });

  it("exits 2 without a command or with an unknown one", async () => {
    const [none, unknown, badHelp] = await Promise.all([
      cli([]),
      cli(["mint"]),
      cli(["help", "mint"]),
    ]);

    expect(none.code).toBe(2);
    expect(none.stderr).toContain("Usage:");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "mint"');
    expect(badHelp.code).toBe(2);
  });
});
