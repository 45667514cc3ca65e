import { setTimeout as sleep } from "node:timers/promises";

import { initTRPC } from "@trpc/server";

import { createCognitoM2M, type CognitoProcedureMeta } from "../../../src/index.js";
import type { TestVerifierOptions } from "../../../src/testing/index.js";
import type { AUTH_STATE } from "../../../src/trpc/context.js";

/** Client ids the test apps accept; any other valid token is refused with 403. */
export const ALLOWED_CLIENTS = ["reader", "writer"];

/** Milliseconds between two events of the `ticks` subscription. */
export const TICK_MS = 100;

/** Yields 0, 1, 2, … every `ms` until `signal` aborts. */
async function* ticker(ms: number, signal?: AbortSignal): AsyncGenerator<number> {
  for (let i = 0; ; i += 1) {
    await sleep(ms, undefined, { signal });
    yield i;
  }
}

/**
 * The key the library keeps its authentication state under. Named here so the exported app
 * type (whose context holds it) can be written out with `declaration: true`.
 */
export type AuthStateKey = typeof AUTH_STATE;

/** Where an app's keys come from, and how strict its `createContext` is. */
export interface TestAppOptions {
  userPoolId: string;
  verifierOptions: TestVerifierOptions;
  /** The library option; default `true`. */
  failOnInvalidBearer?: boolean;
}

/**
 * The app every adapter serves: public and protected procedures, the library's
 * `errorFormatter` data, and subscriptions that end when their token expires.
 */
export function createTestApp(options: TestAppOptions) {
  const m2m = createCognitoM2M({
    userPoolId: options.userPoolId,
    verifierOptions: options.verifierOptions,
    allowedClientIds: ALLOWED_CLIENTS,
    failOnInvalidBearer: options.failOnInvalidBearer ?? true,
  });
  /** Every error the adapters reported to `onError`, newest last. */
  const reported: unknown[] = [];

  const t = initTRPC
    .context<Awaited<ReturnType<typeof m2m.createContext>>>()
    .meta<CognitoProcedureMeta>()
    .create({
      errorFormatter: ({ shape, error }) => ({
        ...shape,
        data: { ...shape.data, ...m2m.errorData(error) },
      }),
    });
  const pub = t.procedure;

  const router = t.router({
    health: pub.query(() => "ok"),
    whoami: pub.concat(m2m.machineProcedure).query(({ ctx }) => ctx.servicePrincipal.clientId),
    admin: pub.concat(m2m.scopedProcedure(["widgets/admin"])).query(() => "admin"),
    write: pub
      .concat(m2m.allScopesProcedure(["widgets/read", "widgets/write"]))
      .mutation(() => "written"),
    ticks: pub.concat(m2m.machineProcedure).subscription(async function* ({ ctx, signal }) {
      yield* m2m.withTokenExpiry(ctx, ticker(TICK_MS, signal), signal);
    }),
    ticksBySignal: pub.concat(m2m.machineProcedure).subscription(async function* ({ ctx, signal }) {
      const expiry = m2m.untilTokenExpiry(ctx, signal);
      try {
        yield* ticker(TICK_MS, expiry);
      } catch (error) {
        expiry.throwIfAborted();
        throw error;
      }
    }),
  });

  return {
    m2m,
    router,
    reported,
    onError: ({ error }: { error: unknown }) => reported.push(error),
  };
}

/** One running test app. */
export type TestApp = ReturnType<typeof createTestApp>;

/** The router type the clients are typed with. */
export type TestRouter = TestApp["router"];
