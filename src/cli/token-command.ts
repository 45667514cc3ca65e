import { parseArgs } from "node:util";

import { createClientCredentialsTokenSource, TokenRequestError } from "../client/index.js";
import { parseScopeClaim } from "../principal.js";
import { describeCauses, EXIT_FAILURE, EXIT_OK, redact, UsageError, type CliIO } from "./io.js";
import { parseEndpointUrl } from "./urls.js";

/** The environment variable the client secret is read from when `--client-secret` is absent. */
export const CLIENT_SECRET_ENV = "COGNITO_CLIENT_SECRET";

const OPTIONS = {
  "token-url": { type: "string" },
  "client-id": { type: "string" },
  "client-secret": { type: "string" },
  scope: { type: "string", multiple: true },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** What `token` was asked to do, after the command line was checked. */
interface TokenRequestPlan {
  readonly tokenUrl: URL;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: readonly string[];
  readonly json: boolean;
}

/** What the token endpoint granted. */
interface Grant {
  readonly accessToken: string;
  readonly expiresIn: number | undefined;
}

/**
 * `token`: fetches an access token with the client-credentials grant and prints it alone on
 * stdout, or as JSON with `--json`. Returns the exit status; usage errors throw `UsageError`.
 */
export async function runTokenCommand(
  args: readonly string[],
  io: CliIO,
  printHelp: () => void,
): Promise<number> {
  // Without allowPositionals, parseArgs refuses stray arguments as a usage error.
  const { values } = parseArgs({ args: [...args], options: OPTIONS, strict: true });
  if (values.help === true) {
    printHelp();
    return EXIT_OK;
  }

  const plan = planRequest(values, io.env);
  const secrets = [plan.clientSecret];
  try {
    const grant = await fetchGrant(plan);
    io.writeStdout(formatGrant(grant, plan));
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof TokenRequestError)) throw error;
    io.writeStderr(redact(formatTokenError(error, plan.json), secrets));
    return EXIT_FAILURE;
  }
}

function planRequest(
  values: {
    "token-url"?: string;
    "client-id"?: string;
    "client-secret"?: string;
    scope?: string[];
    json?: boolean;
  },
  env: CliIO["env"],
): TokenRequestPlan {
  const tokenUrlValue = values["token-url"];
  if (tokenUrlValue === undefined) throw new UsageError("token needs --token-url.");
  const clientId = values["client-id"];
  if (clientId === undefined || clientId === "") throw new UsageError("token needs --client-id.");

  const clientSecret = values["client-secret"] ?? env[CLIENT_SECRET_ENV];
  if (clientSecret === undefined || clientSecret === "") {
    throw new UsageError(`token needs the client secret in ${CLIENT_SECRET_ENV}.`);
  }
  return {
    tokenUrl: parseEndpointUrl("--token-url", tokenUrlValue),
    clientId,
    clientSecret,
    scopes: values.scope ?? [],
    json: values.json === true,
  };
}

/**
 * Fetches one token through the library's token source. The source hands out only the token,
 * so the `expires_in` of the same response is read from a copy of it on the way through.
 */
async function fetchGrant(plan: TokenRequestPlan): Promise<Grant> {
  let expiresIn: number | undefined;
  const observingFetch: typeof globalThis.fetch = async (input, init) => {
    const response = await globalThis.fetch(input, init);
    if (response.ok) expiresIn = await readExpiresIn(response.clone());
    return response;
  };

  const source = createClientCredentialsTokenSource({
    tokenUrl: plan.tokenUrl,
    clientId: plan.clientId,
    clientSecret: plan.clientSecret,
    scopes: plan.scopes,
    fetch: observingFetch,
  });
  const accessToken = await source.getToken();
  return { accessToken, expiresIn };
}

async function readExpiresIn(response: Response): Promise<number | undefined> {
  try {
    const body = (await response.json()) as { expires_in?: unknown };
    return typeof body.expires_in === "number" ? body.expires_in : undefined;
  } catch {
    return undefined;
  }
}

function formatGrant(grant: Grant, plan: TokenRequestPlan): string {
  if (!plan.json) return `${grant.accessToken}\n`;

  const output = {
    access_token: grant.accessToken,
    ...(grant.expiresIn === undefined ? {} : { expires_in: grant.expiresIn }),
    scopes: grantedScopes(grant.accessToken) ?? [...plan.scopes],
  };
  return `${JSON.stringify(output)}\n`;
}

/**
 * The `scope` claim of the token, read without verification (the token came straight from the
 * endpoint); `undefined` when the token is not a JWT with a string `scope` claim.
 */
function grantedScopes(token: string): string[] | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as {
      scope?: unknown;
    };
    return typeof claims.scope === "string" ? parseScopeClaim(claims.scope) : undefined;
  } catch {
    return undefined;
  }
}

function formatTokenError(error: TokenRequestError, json: boolean): string {
  const reason = describeCauses(error);
  if (json) {
    const output = {
      error: error.code,
      status: error.status ?? null,
      ...(error.description === undefined ? {} : { description: error.description }),
      ...(reason === undefined ? {} : { reason }),
    };
    return `${JSON.stringify(output)}\n`;
  }

  const status = error.status === undefined ? "" : ` (${error.status})`;
  const description = error.description === undefined ? "" : `: ${error.description}`;
  const cause = reason === undefined ? "" : `\n  reason: ${reason}`;
  return `error: ${error.code}${status}${description}${cause}\n`;
}
