import type { AddressInfo } from "node:net";

import { initTRPC } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import superjson from "superjson";
import { z } from "zod";

import {
  createCognitoM2M,
  type CognitoM2M,
  type CognitoProcedureMeta,
  type VerifierOptions,
} from "../src/index.js";
import type { PrismaClient } from "./generated/prisma/client.js";

/** What the API needs to know about the world around it. */
export interface ApiOptions {
  /** The Cognito user pool whose access tokens the API accepts. */
  userPoolId: string;
  /** The only app clients allowed to call at all. */
  allowedClientIds: readonly string[];
  /** Passed to aws-jwt-verify; the example points it at the local issuer's JWKS. */
  verifierOptions: VerifierOptions;
  /** The application's Prisma client: user mapping and client activity use it. */
  prisma: PrismaClient;
}

/** A widget, kept in memory: the API's data is not the point of the example. */
export interface Widget {
  id: number;
  name: string;
  createdBy: string;
  createdAt: Date;
}

/**
 * The auth instance: verifies Cognito access tokens, maps each client to its `User` row and
 * records when each client was first and last seen.
 */
function createAuth(options: ApiOptions) {
  return createCognitoM2M({
    userPoolId: options.userPoolId,
    allowedClientIds: options.allowedClientIds,
    verifierOptions: options.verifierOptions,
    prisma: options.prisma,
    // The user whose `username` equals the token's client id is put in `ctx.user`.
    userMapping: { strategy: "clientIdField", field: "username" },
    // Record every sighting (the default writes a client's row at most once a minute).
    trackClientActivity: { minIntervalMs: 0 },
  });
}

/** The widgets API: one public procedure, the others for machine clients with scopes. */
function createRouter(m2m: ReturnType<typeof createAuth>) {
  const t = initTRPC
    .context<Awaited<ReturnType<typeof m2m.createContext>>>()
    .meta<CognitoProcedureMeta>()
    .create({
      transformer: superjson,
      // Adds `data.cognito.code` (and the required scopes) to errors of the library.
      errorFormatter: ({ shape, error }) => ({
        ...shape,
        data: { ...shape.data, ...m2m.errorData(error) },
      }),
    });

  const publicProcedure = t.procedure;
  const machineProcedure = publicProcedure.concat(m2m.machineProcedure);
  const readProcedure = publicProcedure.concat(m2m.scopedProcedure(["widgets/read"]));
  const writeProcedure = publicProcedure.concat(m2m.scopedProcedure(["widgets/write"]));

  const widgets: Widget[] = [
    { id: 1, name: "sprocket", createdBy: "seed", createdAt: new Date("2026-01-01T00:00:00Z") },
  ];

  return t.router({
    health: publicProcedure.query(() => "ok" as const),

    whoami: machineProcedure.query(({ ctx }) => {
      // The User row whose username is the client id; an AnonymousUser when there is none.
      const user = "displayName" in ctx.user ? ctx.user : null;
      return {
        clientId: ctx.servicePrincipal.clientId,
        scopes: [...ctx.servicePrincipal.scopes],
        user: user && { username: user.username, displayName: user.displayName },
      };
    }),

    widgets: t.router({
      list: readProcedure.query(() => widgets),
      create: writeProcedure
        .input(z.object({ name: z.string().min(1).max(100) }))
        .mutation(({ ctx, input }) => {
          const widget: Widget = {
            id: widgets.length + 1,
            name: input.name,
            createdBy: ctx.servicePrincipal.clientId,
            createdAt: new Date(),
          };
          widgets.push(widget);
          return widget;
        }),
    }),
  });
}

/** The router's type, all the calling service needs from the API. */
export type AppRouter = ReturnType<typeof createRouter>;

/** The API, listening. */
export interface RunningApi {
  url: string;
  /** The auth instance, for `flush()` and `close()` of client activity tracking. */
  m2m: Pick<CognitoM2M, "flush" | "close">;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Serves the API with tRPC's standalone adapter on a free loopback port. */
export async function startApi(options: ApiOptions): Promise<RunningApi> {
  const m2m = createAuth(options);
  const router = createRouter(m2m);
  const server = createHTTPServer({
    router,
    createContext: m2m.createContext,
    // Adds `WWW-Authenticate` to the 401 and 403 responses the library causes.
    responseMeta: m2m.responseMeta,
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    m2m,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
