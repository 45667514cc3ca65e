import { parseArgs } from "node:util";

import { SimpleJwksCache } from "aws-jwt-verify/jwk";

import { createCognitoM2M } from "../create.js";
import {
  CognitoM2MError,
  ConfigurationError,
  InsufficientScopeError,
  InvalidTokenError,
} from "../errors.js";
import type { CognitoM2MOptions } from "../options.js";
import type { ServicePrincipal } from "../principal.js";
import { LoopbackJwksFetcher } from "../testing/loopback-fetcher.js";
import { resolvePool } from "../testing/pool.js";
import { describeCauses, EXIT_FAILURE, EXIT_OK, redact, UsageError, type CliIO } from "./io.js";
import { parseEndpointUrl } from "./urls.js";

const OPTIONS = {
  "user-pool-id": { type: "string" },
  "client-id": { type: "string", multiple: true },
  scope: { type: "string", multiple: true },
  "jwks-uri": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Visible ASCII only, as in an Authorization header. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

/** What `verify` was asked to do, after the command line was checked. */
interface VerifyPlan {
  readonly tokenArgument: string;
  readonly userPoolId: string;
  readonly clientIds: readonly string[];
  readonly scopes: readonly string[];
  readonly jwksUri: URL | undefined;
  readonly json: boolean;
}

/**
 * `verify`: checks an access token the way a server using this library would (real
 * aws-jwt-verify, the pool's issuer and keys, `--client-id` as `allowedClientIds`) and then
 * requires every `--scope`. Prints the principal; returns the exit status.
 */
export async function runVerifyCommand(
  args: readonly string[],
  io: CliIO,
  printHelp: () => void,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: OPTIONS,
    strict: true,
    allowPositionals: true,
  });
  if (values.help === true) {
    printHelp();
    return EXIT_OK;
  }

  const plan = planVerification(values, positionals);
  const m2m = createVerifier(plan);
  const token = await readToken(plan.tokenArgument, io);
  try {
    const principal = await authenticate(m2m, token, plan.scopes);
    io.writeStdout(plan.json ? formatPrincipalJson(principal) : formatPrincipal(principal));
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof CognitoM2MError)) throw error;
    io.writeStderr(redactToken(formatVerifyError(error, plan.json), token));
    return EXIT_FAILURE;
  }
}

function planVerification(
  values: {
    "user-pool-id"?: string;
    "client-id"?: string[];
    scope?: string[];
    "jwks-uri"?: string;
    json?: boolean;
  },
  positionals: readonly string[],
): VerifyPlan {
  const [tokenArgument, extra] = positionals;
  if (tokenArgument === undefined) throw new UsageError("verify needs a token (or - for stdin).");
  if (extra !== undefined) throw new UsageError("verify takes one token.");

  const userPoolId = values["user-pool-id"];
  if (userPoolId === undefined) throw new UsageError("verify needs --user-pool-id.");
  try {
    resolvePool(userPoolId);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const clientIds = nonEmpty("--client-id", values["client-id"]);
  const scopes = nonEmpty("--scope", values.scope);
  const jwksUri = values["jwks-uri"];
  return {
    tokenArgument,
    userPoolId,
    clientIds,
    scopes,
    jwksUri: jwksUri === undefined ? undefined : parseEndpointUrl("--jwks-uri", jwksUri),
    json: values.json === true,
  };
}

function nonEmpty(flag: string, values: readonly string[] | undefined): readonly string[] {
  if (values?.some((value) => value === "")) throw new UsageError(`${flag} must not be empty.`);
  return values ?? [];
}

/** Builds the library instance; options it still refuses are a usage error. */
function createVerifier(plan: VerifyPlan) {
  const options: CognitoM2MOptions = {
    userPoolId: plan.userPoolId,
    allowedClientIds: plan.clientIds.length > 0 ? plan.clientIds : null,
    tokenCache: false,
  };
  if (plan.jwksUri !== undefined) {
    options.verifierOptions = { jwksCache: jwksCacheFor(plan.userPoolId, plan.jwksUri) };
  }
  try {
    return createCognitoM2M(options);
  } catch (error) {
    if (error instanceof ConfigurationError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * A JWKS cache that fetches the pool's keys (asked for under either of its Cognito JWKS URIs)
 * from `jwksUri` instead, over the global `fetch`.
 */
function jwksCacheFor(userPoolId: string, jwksUri: URL): SimpleJwksCache {
  const pool = resolvePool(userPoolId);
  const routes = new Map([
    [pool.regionalJwksUri, jwksUri.href],
    [pool.globalJwksUri, jwksUri.href],
  ]);
  return new SimpleJwksCache({ fetcher: new LoopbackJwksFetcher(routes) });
}

async function readToken(argument: string, io: CliIO): Promise<string> {
  const token = argument === "-" ? (await io.readStdin()).trim() : argument;
  if (token === "") {
    throw new UsageError(argument === "-" ? "no token on stdin." : "the token is empty.");
  }
  return token;
}

async function authenticate(
  m2m: ReturnType<typeof createCognitoM2M>,
  token: string,
  scopes: readonly string[],
): Promise<ServicePrincipal> {
  if (!TOKEN_CHARS.test(token)) {
    throw new InvalidTokenError({
      cause: new Error("Token contains spaces or control characters."),
    });
  }

  const principal = await m2m.authenticate({ authorization: `Bearer ${token}` });
  if (principal === null) throw new InvalidTokenError();
  if (!principal.hasScopes(scopes, "all")) {
    const granted = principal.scopes.size === 0 ? "none" : [...principal.scopes].join(" ");
    const cause = new Error(`The token grants: ${granted}.`);
    throw new InsufficientScopeError(scopes, "all", { cause });
  }
  return principal;
}

function expiresAt(principal: ServicePrincipal): string | undefined {
  const exp = principal.exp;
  return exp === undefined ? undefined : new Date(exp * 1000).toISOString();
}

function formatPrincipal(principal: ServicePrincipal): string {
  const rows: [string, string | undefined][] = [
    ["client id", principal.clientId],
    ["scopes", principal.scopes.size === 0 ? "(none)" : [...principal.scopes].join(" ")],
    ["sub", principal.sub],
    ["expires", expiresAt(principal)],
    ["issuer", principal.iss],
  ];
  return rows.map(([label, value]) => `${`${label}:`.padEnd(11)}${value ?? "-"}\n`).join("");
}

function formatPrincipalJson(principal: ServicePrincipal): string {
  const { clientId, scopes, claims } = principal.toJSON();
  const output = {
    clientId,
    scopes,
    sub: principal.sub ?? null,
    exp: principal.exp ?? null,
    expiresAt: expiresAt(principal) ?? null,
    iss: principal.iss ?? null,
    claims,
  };
  return `${JSON.stringify(output, null, 2)}\n`;
}

function formatVerifyError(error: CognitoM2MError, json: boolean): string {
  const reason = describeCauses(error);
  const required = error instanceof InsufficientScopeError ? error.requiredScopes : undefined;
  if (json) {
    const output = {
      error: error.code,
      description: error.message,
      ...(required === undefined ? {} : { requiredScopes: required }),
      ...(reason === undefined ? {} : { reason }),
    };
    return `${JSON.stringify(output)}\n`;
  }

  const lines = [`error: ${error.code}: ${error.message}`];
  if (required !== undefined) lines.push(`  required scopes: ${required.join(" ")}`);
  if (reason !== undefined) lines.push(`  reason: ${reason}`);
  return `${lines.join("\n")}\n`;
}

/** Removes the token, and each of its three parts, from text about to be printed. */
function redactToken(text: string, token: string): string {
  const parts = token.split(".").filter((part) => part.length >= 8);
  return redact(text, [token, ...parts]);
}
