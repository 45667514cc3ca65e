import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { SimpleJwksCache } from "aws-jwt-verify/jwk";
import type { Jwks } from "aws-jwt-verify/jwk";

import { LoopbackJwksFetcher } from "./loopback-fetcher.js";
import { resolvePool } from "./pool.js";
import type { TestVerifierOptions } from "./test-issuer.js";
import { createTokenEndpoint } from "./token-endpoint.js";
import type { EndpointResponse, LocalIssuerClient } from "./token-endpoint.js";
import { createSigningKey, mintAccessToken, toJwks } from "./token-minter.js";
import type { MintAccessTokenOptions } from "./token-minter.js";

/** Options for {@link startLocalIssuer}. */
export interface LocalIssuerOptions {
  /** TCP port to listen on. Default 0: a free port chosen by the OS. */
  port?: number;
  /**
   * Interface to listen on. Default `"127.0.0.1"`. Anything but loopback lets other machines
   * mint tokens that your tests' verifiers trust.
   */
  host?: string;
  /** The user pool the tokens claim to come from, e.g. `eu-west-1_AbC123`. */
  userPoolId: string;
  /** The pool's AWS region. Default: the pool id's prefix; a different value throws. */
  region?: string;
  /** The app clients the token endpoint accepts. Client ids must be unique. */
  clients: readonly LocalIssuerClient[];
  /** Lifetime of tokens from the token endpoint, in seconds (`expires_in`). Default 3600. */
  tokenLifetimeSeconds?: number;
}

/** A running local stand-in for Cognito's OAuth2 token endpoint and JWKS. */
export interface LocalIssuer {
  /** `http://<host>:<port>/oauth2/token`: the client-credentials token endpoint. */
  readonly tokenUrl: string;
  /** `http://<host>:<port>/.well-known/jwks.json`: the public keys. */
  readonly jwksUri: string;
  /** The public signing key set served at {@link jwksUri}. */
  readonly jwks: Jwks;
  /** The real Cognito `iss` of the pool, which the tokens carry. */
  readonly issuer: string;
  /** The user pool id. */
  readonly userPoolId: string;
  /** The port the issuer listens on; kept across {@link stop} and {@link start}. */
  readonly port: number;
  /**
   * Verifier settings whose JWKS cache fetches the pool's keys from this issuer over loopback
   * instead of from AWS. Nothing is cached up front.
   */
  readonly verifierOptions: TestVerifierOptions;
  /** How many times `verifierOptions` fetched the JWKS (attempts, failed ones included). */
  readonly jwksFetchCount: number;
  /** Mints an access token signed with this issuer's key, without an HTTP request. */
  mintAccessToken(options: MintAccessTokenOptions): string;
  /** Stops listening and drops open connections; keys and port are kept for {@link start}. */
  stop(): Promise<void>;
  /** Listens again on the same port after {@link stop}. No-op while running. */
  start(): Promise<void>;
  /** Shuts the issuer down for good. */
  close(): Promise<void>;
}

const TOKEN_PATH = "/oauth2/token";
const JWKS_PATH = "/.well-known/jwks.json";
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Starts a local HTTP server that behaves like a Cognito user pool's OAuth2 endpoints:
 * `POST /oauth2/token` (client credentials, RFC 6749 errors) and `GET /.well-known/jwks.json`
 * (also under `/<userPoolId>/`). Tokens carry the pool's real Cognito issuer, and
 * `verifierOptions` routes the verifier's JWKS requests here, so real aws-jwt-verify checks
 * them end to end. Never use it outside tests.
 */
export async function startLocalIssuer(options: LocalIssuerOptions): Promise<LocalIssuer> {
  const pool = resolvePool(options.userPoolId, options.region);
  const lifetimeSeconds = options.tokenLifetimeSeconds ?? 3600;
  if (!Number.isSafeInteger(lifetimeSeconds) || lifetimeSeconds <= 0) {
    throw new Error("tokenLifetimeSeconds must be a positive whole number.");
  }
  const host = options.host ?? "127.0.0.1";
  const key = createSigningKey();
  const mint = (mintOptions: MintAccessTokenOptions): string =>
    mintAccessToken(key, pool.issuer, mintOptions);
  const tokenEndpoint = createTokenEndpoint(options.clients, lifetimeSeconds, (clientId, scopes) =>
    mint({ clientId, scopes, expiresInSeconds: lifetimeSeconds }),
  );

  const jwks = toJwks([key]);
  const jwksPaths = new Set([JWKS_PATH, `/${pool.userPoolId}${JWKS_PATH}`]);
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path === TOKEN_PATH) return send(res, await tokenRoute(req, tokenEndpoint));
    if (jwksPaths.has(path)) return send(res, jwksRoute(req, jwks));
    return send(res, { status: 404, headers: {}, body: { error: "not_found" } });
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    void route(req, res).catch(() => {
      if (res.headersSent) res.destroy();
      else send(res, { status: 500, headers: {}, body: { error: "server_error" } });
    });
  };

  const listener = new Listener(handler, host, options.port ?? 0);
  await listener.start();
  const origin = `http://${host.includes(":") ? `[${host}]` : host}:${listener.port}`;
  const fetcher = new LoopbackJwksFetcher(
    new Map([
      [pool.regionalJwksUri, `${origin}${JWKS_PATH}`],
      [pool.globalJwksUri, `${origin}${JWKS_PATH}`],
    ]),
  );

  return {
    tokenUrl: `${origin}${TOKEN_PATH}`,
    jwksUri: `${origin}${JWKS_PATH}`,
    jwks,
    issuer: pool.issuer,
    userPoolId: pool.userPoolId,
    port: listener.port,
    verifierOptions: { jwksCache: new SimpleJwksCache({ fetcher }) },
    get jwksFetchCount() {
      return fetcher.attempts;
    },
    mintAccessToken: mint,
    stop: () => listener.stop(),
    start: () => listener.start(),
    close: () => listener.close(),
  };
}

async function tokenRoute(
  req: IncomingMessage,
  tokenEndpoint: ReturnType<typeof createTokenEndpoint>,
): Promise<EndpointResponse> {
  if (req.method !== "POST") return methodNotAllowed("POST");

  const body = await readBody(req);
  if (body === undefined) {
    const error = { error: "invalid_request", error_description: "The request body is too large." };
    return { status: 400, headers: {}, body: error };
  }
  return tokenEndpoint({
    contentType: req.headers["content-type"],
    authorization: req.headers.authorization,
    body,
  });
}

function jwksRoute(req: IncomingMessage, jwks: unknown): EndpointResponse {
  if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed("GET, HEAD");
  return { status: 200, headers: {}, body: jwks };
}

function methodNotAllowed(allow: string): EndpointResponse {
  return { status: 405, headers: { allow }, body: { error: "method_not_allowed" } };
}

/** Reads the whole body, or returns `undefined` once it grows past the limit. */
async function readBody(req: IncomingMessage): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks);
}

function send(res: ServerResponse, response: EndpointResponse): void {
  const json = JSON.stringify(response.body);
  res.writeHead(response.status, {
    ...response.headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(json),
  });
  res.end(json);
}

/** One HTTP server that can stop and listen again on the same port. */
class Listener {
  #server: Server | undefined;
  #port: number;
  #closed = false;

  constructor(
    private readonly handler: (req: IncomingMessage, res: ServerResponse) => void,
    private readonly host: string,
    port: number,
  ) {
    this.#port = port;
  }

  get port(): number {
    return this.#port;
  }

  async start(): Promise<void> {
    if (this.#closed) throw new Error("The local issuer has been closed.");
    if (this.#server !== undefined) return;

    const server = createServer(this.handler);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, this.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;

    this.#server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.stop();
  }
}
