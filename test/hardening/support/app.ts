import {
  createServer,
  request,
  type Agent,
  type OutgoingHttpHeaders,
  type Server,
} from "node:http";
import type { AddressInfo } from "node:net";

import { initTRPC } from "@trpc/server";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";

import {
  createCognitoM2M,
  type CognitoM2MOptions,
  type CognitoProcedureMeta,
} from "../../../src/index.js";
import { captureLogger } from "../../support/trpc-server.js";

/** Client ids the hardened app accepts; any other valid token is refused with 403. */
export const ALLOWED_CLIENTS = ["reader", "writer"] as const;

/**
 * The app the hardening suites attack: a public, a protected and a scoped procedure, one that
 * shows the mapped user, the library's `errorData` in the error shape and its `responseMeta` on
 * every response.
 */
export function createHardenedApp(options: CognitoM2MOptions) {
  const log = captureLogger();
  const m2m = createCognitoM2M({
    allowedClientIds: [...ALLOWED_CLIENTS],
    logger: log.logger,
    ...options,
  });
  const t = initTRPC
    .context<Awaited<ReturnType<typeof m2m.createContext>>>()
    .meta<CognitoProcedureMeta>()
    .create({
      errorFormatter: ({ shape, error }) => ({
        ...shape,
        data: { ...shape.data, ...m2m.errorData(error) },
      }),
    });
  const router = t.router({
    health: t.procedure.query(() => "ok"),
    whoami: t.procedure
      .concat(m2m.machineProcedure)
      .query(({ ctx }) => ctx.servicePrincipal.clientId),
    read: t.procedure.concat(m2m.scopedProcedure(["widgets/read"])).query(() => "read"),
    user: t.procedure.concat(m2m.machineProcedure).query(({ ctx }) => {
      const user = ctx.user as { id?: unknown; username?: unknown } | undefined;
      return {
        clientId: ctx.servicePrincipal.clientId,
        id: user?.id ?? null,
        username: user?.username ?? null,
      };
    }),
  });
  return { m2m, router, log };
}

export type HardenedApp = ReturnType<typeof createHardenedApp>;

/** A running server for a {@link HardenedApp}. */
export interface HardenedServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * Serves `app` as tRPC's standalone adapter does (`http.createServer(createHTTPHandler(…))`),
 * with `m2m.responseMeta`, on a random loopback port. `serverOptions` reach `http.createServer`
 * (for example a larger `maxHeaderSize`).
 */
export async function serveHardened(
  app: HardenedApp,
  serverOptions: { maxHeaderSize?: number } = {},
): Promise<HardenedServer> {
  const handler = createHTTPHandler({
    router: app.router,
    createContext: app.m2m.createContext,
    responseMeta: app.m2m.responseMeta,
  });
  const server = createServer(serverOptions, handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What {@link send} got back: the status, headers and body, parsed when it is JSON. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/**
 * One GET with `node:http`, so header values can be arrays (sent as repeated header lines) and
 * a keep-alive `agent` can be reused across many calls.
 */
export function send(
  url: string,
  path: string,
  headers: Record<string, string | string[]> = {},
  agent?: Agent,
): Promise<RawResponse> {
  const outgoing = headers as OutgoingHttpHeaders;
  return new Promise((resolve, reject) => {
    const req = request(`${url}/${path}`, { method: "GET", headers: outgoing, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

/** `error.data.cognito.code` of a tRPC error body, if any. */
export function cognitoCode(body: any): string | undefined {
  return body?.error?.data?.cognito?.code;
}
