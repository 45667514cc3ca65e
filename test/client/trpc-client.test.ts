import type { AddressInfo } from "node:net";

import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { initTRPC, TRPCError } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import type { CreateHTTPContextOptions } from "@trpc/server/adapters/standalone";
import { CognitoJwtVerifier } from "aws-jwt-verify";
import { afterEach, describe, expect, it } from "vitest";

import { bearerHeaders, createClientCredentialsTokenSource } from "../../src/client/index.js";
import { startLocalIssuer } from "../../src/testing/index.js";
import type { LocalIssuer } from "../../src/testing/index.js";

const POOL = "ap-southeast-2_Trpc1";
const CLIENT = { clientId: "reports", clientSecret: "reports-secret", scopes: ["reports/read"] };

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A tRPC server that checks the bearer token it receives with real aws-jwt-verify. */
async function startApi(issuer: LocalIssuer, revoked: Set<string>) {
  const verifier = CognitoJwtVerifier.create(
    { userPoolId: issuer.userPoolId, tokenUse: "access", clientId: null },
    { jwksCache: issuer.verifierOptions.jwksCache },
  );
  const createContext = ({ req }: CreateHTTPContextOptions) => ({
    authorization: req.headers.authorization,
  });
  const t = initTRPC.context<typeof createContext>().create();

  const router = t.router({
    whoami: t.procedure.query(async ({ ctx }) => {
      const token = /^Bearer (.+)$/.exec(ctx.authorization ?? "")?.[1];
      if (token === undefined) return { valid: false as const };
      const payload = await verifier.verify(token).catch(() => undefined);
      if (payload === undefined) return { valid: false as const };
      return { valid: true as const, clientId: payload.client_id, scope: payload.scope };
    }),
    guarded: t.procedure.query(({ ctx }) => {
      const token = ctx.authorization?.replace(/^Bearer /, "") ?? "";
      if (revoked.has(token)) throw new TRPCError({ code: "UNAUTHORIZED" });
      return "ok";
    }),
  });

  const server = createHTTPServer({ router, createContext });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, router };
}

type AppRouter = Awaited<ReturnType<typeof startApi>>["router"];

async function setup() {
  const issuer = await startLocalIssuer({ userPoolId: POOL, clients: [CLIENT] });
  cleanups.push(() => issuer.close());
  const revoked = new Set<string>();
  const api = await startApi(issuer, revoked);

  let tokenRequests = 0;
  const tokens = createClientCredentialsTokenSource({
    tokenUrl: issuer.tokenUrl,
    clientId: CLIENT.clientId,
    clientSecret: CLIENT.clientSecret,
    fetch: (input, init) => {
      tokenRequests += 1;
      return fetch(input, init);
    },
  });
  const client = createTRPCClient<AppRouter>({
    links: [httpBatchLink({ url: api.url, headers: bearerHeaders(tokens) })],
  });
  return { issuer, revoked, tokens, client, tokenRequests: () => tokenRequests };
}

describe("bearerHeaders with @trpc/client", () => {
  it("sends a bearer token the server verifies, fetching the token once", async () => {
    const { client, tokenRequests, issuer } = await setup();

    const [first, second] = await Promise.all([client.whoami.query(), client.whoami.query()]);
    const third = await client.whoami.query();

    for (const result of [first, second, third]) {
      expect(result).toEqual({ valid: true, clientId: "reports", scope: "reports/read" });
    }
    expect(tokenRequests()).toBe(1);
    expect(issuer.jwksFetchCount).toBe(1);
  });

  it("resolves to an Authorization header built from the current token", async () => {
    const { tokens } = await setup();
    const headers = await bearerHeaders(tokens)();
    expect(headers).toEqual({ authorization: `Bearer ${await tokens.getToken()}` });
  });

  it("lets a caller retry once with a fresh token after a 401", async () => {
    const { client, tokens, revoked, tokenRequests } = await setup();
    revoked.add(await tokens.getToken());

    const error = await client.guarded.query().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<AppRouter>).data?.httpStatus).toBe(401);

    tokens.invalidate();
    expect(await client.guarded.query()).toBe("ok");
    expect(tokenRequests()).toBe(2);
  });
});
