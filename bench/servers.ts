/**
 * The servers compared over HTTP. Every one serves the same tiny router: one query, `ping`,
 * returning {@link PING_RESULT}. They differ only in how (and whether) the bearer token is
 * checked. Each verifying server fetches its keys from the same local issuer over loopback.
 */
import { createServer } from "node:http";
import type { Server } from "node:http";

import { TRPCError, initTRPC } from "@trpc/server";
import { createExpressMiddleware } from "@trpc/server/adapters/express";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { CognitoJwtVerifier } from "aws-jwt-verify";
import express from "express";
import { auth } from "express-oauth2-jwt-bearer";
import { createRemoteJWKSet, jwtVerify } from "jose";

import { createCognitoM2M } from "../src/index.js";
import type { CognitoM2MContext, CognitoProcedureMeta } from "../src/index.js";
import { loopbackJwksCache } from "./jwks.js";
import { auth0Options, PING_RESULT } from "./shared.js";
import type { ServerConfig, ServerKind } from "./shared.js";

/** Builds the server of `config.kind`, not yet listening, with its keys fetched. */
export async function createBenchServer(config: ServerConfig): Promise<Server> {
  const factories: Record<ServerKind, (c: ServerConfig) => Promise<Server>> = {
    a: noAuthServer,
    b: (c) => libraryServer(c, true),
    c: (c) => libraryServer(c, false),
    d: awsJwtVerifyServer,
    e: joseServer,
    f: auth0ExpressServer,
    x: plainExpressServer,
    y: skeletonServer,
  };
  return factories[config.kind](config);
}

function unauthorized(): TRPCError {
  return new TRPCError({ code: "UNAUTHORIZED", message: "Invalid or missing bearer token." });
}

/** Reads `Bearer <token>` from a Node request's headers; `null` when absent. */
function bearerToken(authorization: string | undefined): string | null {
  if (authorization === undefined || !authorization.startsWith("Bearer ")) return null;
  return authorization.slice("Bearer ".length);
}

/** (a) The router with no authentication at all. */
async function noAuthServer(): Promise<Server> {
  const t = initTRPC.create();
  const router = t.router({ ping: t.procedure.query(() => PING_RESULT) });
  return createHTTPServer({ router });
}

/** The router of (d), (e), (f) and (y): `ping` behind a middleware that requires claims. */
function claimsRouter() {
  const t = initTRPC.context<{ claims: object | null }>().create();
  const protectedProcedure = t.procedure.use(({ ctx, next }) => {
    if (ctx.claims === null) throw unauthorized();
    return next({ ctx: { claims: ctx.claims } });
  });
  return t.router({ ping: protectedProcedure.query(() => PING_RESULT) });
}

/**
 * A standalone server whose createContext reads the bearer token and turns it into claims
 * with `verify`; a rejection becomes a 401.
 */
function verifyingServer(verify: (token: string) => Promise<object>): Server {
  return createHTTPServer({
    router: claimsRouter(),
    async createContext({ req }) {
      const token = bearerToken(req.headers.authorization);
      if (token === null) return { claims: null };
      try {
        return { claims: await verify(token) };
      } catch {
        throw unauthorized();
      }
    },
  });
}

/**
 * (y) Reference: the skeleton of (d) without any verification. An async createContext reads
 * the bearer token and a middleware requires one, so (y) shows what tRPC's context and
 * middleware machinery cost per request before any authentication library does its work.
 */
async function skeletonServer(): Promise<Server> {
  return verifyingServer((token) => Promise.resolve({ token }));
}

/** (b) and (c) This library, with or without its verified-token cache. */
async function libraryServer(config: ServerConfig, tokenCache: boolean): Promise<Server> {
  const options = {
    userPoolId: config.userPoolId,
    verifierOptions: { jwksCache: loopbackJwksCache(config) },
    ...(tokenCache ? {} : { tokenCache: false as const }),
  };
  const m2m = createCognitoM2M(options);
  await m2m.ready();

  const t = initTRPC
    .context<CognitoM2MContext<typeof options>>()
    .meta<CognitoProcedureMeta>()
    .create();
  const publicProcedure = t.procedure;
  const router = t.router({
    ping: publicProcedure.concat(m2m.machineProcedure).query(() => PING_RESULT),
  });
  return createHTTPServer({ router, createContext: m2m.createContext });
}

/** (d) The pattern of tRPC's docs: one aws-jwt-verify verifier, `verify` in createContext. */
async function awsJwtVerifyServer(config: ServerConfig): Promise<Server> {
  const verifier = CognitoJwtVerifier.create(
    { userPoolId: config.userPoolId, tokenUse: "access", clientId: null },
    { jwksCache: loopbackJwksCache(config) },
  );
  await verifier.hydrate();
  return verifyingServer((token) => verifier.verify(token));
}

/** (e) jose: `jwtVerify` against a remote JWKS, checking issuer and `token_use` like Cognito. */
async function joseServer(config: ServerConfig): Promise<Server> {
  const jwks = createRemoteJWKSet(new URL(config.jwksUri));
  return verifyingServer(async (token) => {
    const { payload } = await jwtVerify(token, jwks, {
      issuer: config.issuer,
      algorithms: ["RS256"],
      requiredClaims: ["exp", "client_id"],
    });
    if (payload.token_use !== "access") throw new Error("token_use is not access");
    return payload;
  });
}

/** (f) Auth0's express-oauth2-jwt-bearer in front of tRPC's express adapter. */
async function auth0ExpressServer(config: ServerConfig): Promise<Server> {
  const router = claimsRouter();
  const app = express();
  app.use(auth(auth0Options(config)));
  app.use(
    createExpressMiddleware({
      router,
      createContext: ({ req }) => ({ claims: req.auth?.payload ?? null }),
    }),
  );
  app.use(sendAuthError);
  return createServer(app);
}

/** Answers auth() failures with their status and challenge, without express's stderr log. */
const sendAuthError: express.ErrorRequestHandler = (error, _req, res, _next) => {
  const { status, headers } = error as { status?: number; headers?: Record<string, string> };
  res
    .status(status ?? 500)
    .set(headers ?? {})
    .json({ error: status === 401 ? "unauthorized" : "error" });
};

/** (x) Reference for (f): express and tRPC's express adapter without authentication. */
async function plainExpressServer(): Promise<Server> {
  const t = initTRPC.create();
  const router = t.router({ ping: t.procedure.query(() => PING_RESULT) });

  const app = express();
  app.use(createExpressMiddleware({ router }));
  return createServer(app);
}
