import { createHash, timingSafeEqual } from "node:crypto";

/** An app client the local issuer accepts at its token endpoint. */
export interface LocalIssuerClient {
  /** The app client id. */
  clientId: string;
  /** The client secret; compared in constant time and never echoed in responses. */
  clientSecret: string;
  /** The scopes the client may request; all of them when a request names none. */
  scopes: readonly string[];
}

/** The parts of an HTTP request the token endpoint looks at. */
export interface TokenRequest {
  /** The `Content-Type` header. */
  readonly contentType: string | undefined;
  /** The `Authorization` header. */
  readonly authorization: string | undefined;
  /** The raw request body. */
  readonly body: Uint8Array;
}

/** What the token endpoint answers: a status, extra headers and a JSON body. */
export interface EndpointResponse {
  /** The HTTP status code. */
  readonly status: number;
  /** Headers besides `Content-Type`, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The value sent as the JSON body. */
  readonly body: unknown;
}

/** Mints the access token for an authenticated client and its granted scopes. */
export type IssueToken = (clientId: string, scopes: readonly string[]) => string;

/** An RFC 6749 §5.2 error, with the HTTP status it is sent with. */
class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly challenge = false,
  ) {
    super(description);
    this.name = "OAuthError";
  }
}

const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" } as const;
const BASIC_CHALLENGE = 'Basic realm="oauth2", charset="UTF-8"';
const FORM_TYPE = "application/x-www-form-urlencoded";
const UNKNOWN_CLIENT_DIGEST = digest("\u0000no such client\u0000");

interface RegisteredClient {
  readonly secretDigest: Buffer;
  readonly scopes: ReadonlySet<string>;
}

interface Credentials {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly viaBasic: boolean;
}

/**
 * Builds a client-credentials token endpoint that answers like Cognito's `/oauth2/token`
 * (RFC 6749 §4.4): Basic or body client authentication, scope checks, RFC error bodies.
 */
export function createTokenEndpoint(
  clients: readonly LocalIssuerClient[],
  lifetimeSeconds: number,
  issueToken: IssueToken,
): (request: TokenRequest) => EndpointResponse {
  const registry = registerClients(clients);

  return (request) => {
    try {
      return grant(registry, request, lifetimeSeconds, issueToken);
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      return errorResponse(error);
    }
  };
}

function registerClients(clients: readonly LocalIssuerClient[]): Map<string, RegisteredClient> {
  const registry = new Map<string, RegisteredClient>();
  for (const client of clients) {
    if (client.clientId === "" || client.clientSecret === "") {
      throw new Error("Every local issuer client needs a non-empty clientId and clientSecret.");
    }
    if (registry.has(client.clientId)) {
      throw new Error(`Client ${JSON.stringify(client.clientId)} is listed twice.`);
    }
    registry.set(client.clientId, {
      secretDigest: digest(client.clientSecret),
      scopes: new Set(client.scopes),
    });
  }
  return registry;
}

function grant(
  registry: ReadonlyMap<string, RegisteredClient>,
  request: TokenRequest,
  lifetimeSeconds: number,
  issueToken: IssueToken,
): EndpointResponse {
  if (!isFormContentType(request.contentType)) {
    throw invalidRequest(`Content-Type must be ${FORM_TYPE}.`);
  }
  const params = parseForm(request.body);
  const grantType = params.get("grant_type");
  if (grantType === undefined) throw invalidRequest("Missing grant_type.");

  const credentials = readCredentials(params, request.authorization);
  const client = authenticate(registry, credentials);
  if (grantType !== "client_credentials") {
    throw new OAuthError(400, "unsupported_grant_type", "Only client_credentials is supported.");
  }
  const scopes = grantScopes(client, params.get("scope"));

  const body = {
    access_token: issueToken(credentials.clientId, scopes),
    expires_in: lifetimeSeconds,
    token_type: "Bearer",
  };
  return { status: 200, headers: NO_STORE, body };
}

function isFormContentType(contentType: string | undefined): boolean {
  const mediaType = contentType?.split(";", 1)[0]?.trim().toLowerCase();
  return mediaType === FORM_TYPE;
}

/** Parses a form body strictly: UTF-8, valid percent-encoding, no repeated parameter. */
function parseForm(body: Uint8Array): Map<string, string> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    throw invalidRequest("The request body is not valid UTF-8.");
  }

  const params = new Map<string, string>();
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decodeFormComponent(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? "" : decodeFormComponent(pair.slice(eq + 1));
    if (name === undefined || value === undefined) throw invalidRequest("Malformed form body.");
    if (value === "") continue; // RFC 6749 §3.1: a parameter without a value is omitted.
    if (params.has(name)) throw invalidRequest(`Parameter ${JSON.stringify(name)} is repeated.`);
    params.set(name, value);
  }
  return params;
}

function decodeFormComponent(component: string): string | undefined {
  try {
    return decodeURIComponent(component.replaceAll("+", " "));
  } catch {
    return undefined;
  }
}

/** Reads the client credentials from HTTP Basic or from the body, never both. */
function readCredentials(
  params: ReadonlyMap<string, string>,
  authorization: string | undefined,
): Credentials {
  if (authorization === undefined) {
    const clientId = params.get("client_id");
    const clientSecret = params.get("client_secret");
    if (clientId === undefined || clientSecret === undefined) {
      throw new OAuthError(401, "invalid_client", "Client authentication is required.");
    }
    return { clientId, clientSecret, viaBasic: false };
  }

  if (params.has("client_secret")) {
    throw invalidRequest("Use one client authentication method, not both Basic and the body.");
  }
  const basic = parseBasic(authorization);
  if (basic === undefined) {
    throw new OAuthError(401, "invalid_client", "Malformed Basic credentials.", true);
  }
  const bodyClientId = params.get("client_id");
  if (bodyClientId !== undefined && bodyClientId !== basic.clientId) {
    throw invalidRequest("client_id in the body does not match the Basic credentials.");
  }
  return basic;
}

function parseBasic(authorization: string): Credentials | undefined {
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization);
  if (match?.[1] === undefined) return undefined;

  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(match[1], "base64"));
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(":");
  if (colon === -1) return undefined;

  // RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
  const clientId = decodeFormComponent(decoded.slice(0, colon));
  const clientSecret = decodeFormComponent(decoded.slice(colon + 1));
  if (clientId === undefined || clientSecret === undefined) return undefined;
  return { clientId, clientSecret, viaBasic: true };
}

/** Checks the secret in constant time, also for an unknown client id. */
function authenticate(
  registry: ReadonlyMap<string, RegisteredClient>,
  credentials: Credentials,
): RegisteredClient {
  const client = registry.get(credentials.clientId);
  const expected = client?.secretDigest ?? UNKNOWN_CLIENT_DIGEST;
  const secretMatches = timingSafeEqual(digest(credentials.clientSecret), expected);
  if (client === undefined || !secretMatches) {
    throw new OAuthError(
      401,
      "invalid_client",
      "Client authentication failed.",
      credentials.viaBasic,
    );
  }
  return client;
}

function grantScopes(client: RegisteredClient, scope: string | undefined): string[] {
  if (scope === undefined) return [...client.scopes];

  const requested = [...new Set(scope.split(" ").filter((s) => s !== ""))];
  const refused = requested.filter((s) => !client.scopes.has(s));
  if (refused.length > 0) {
    const description = `Scopes not allowed for this client: ${refused.join(" ")}.`;
    throw new OAuthError(400, "invalid_scope", description);
  }
  return requested;
}

function invalidRequest(description: string): OAuthError {
  return new OAuthError(400, "invalid_request", description);
}

function errorResponse(error: OAuthError): EndpointResponse {
  const headers: Record<string, string> = { ...NO_STORE };
  if (error.challenge) headers["www-authenticate"] = BASIC_CHALLENGE;
  return {
    status: error.status,
    headers,
    body: { error: error.error, error_description: error.description },
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
